"""A night's report as one self-contained HTML file (plots inline as SVG, no script, nothing
fetched when it is viewed) under ``<home>/reports/ds=D.html``, and the index of every night's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import jinja2

from reports import charts
from reports.night_data import NightData, night_data
from warehouse.lake import TableNotReady, read_arrow
from warehouse.publication import METRICS
from warehouse.settings import Settings
from warehouse.tables import OPS_PUBLICATIONS

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", ""),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
STEPS = ("ingest", "sessionize", "ids", "graph", "examples", "publish")
NDCG_MODELS = ("candidate", "previous", "popularity", "item_knn")


def report_path(settings: Settings, ds: date) -> Path:
    return settings.reports_dir / f"ds={ds.isoformat()}.html"


def write_report(settings: Settings, ds: date, path: Path | None = None) -> Path:
    """Writes night ``ds``'s report (default: ``report_path``) and the index beside the
    warehouse's reports; returns where the report went."""
    path = path or report_path(settings, ds)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_night(settings, night_data(settings, ds)))
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(settings.reports_dir / "index.html", render_index(settings))
    return path


def write_atomic(path: Path, text: str) -> None:
    """A reader never sees half a page."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def series(runs: dict[date, dict[str, int]], names: dict[str, str]) -> dict[str, dict[date, int]]:
    """label -> ds -> the count ``names[label]`` of each night that recorded it."""
    return {label: {d: c[key] for d, c in runs.items() if key in c} for label, key in names.items()}


def rejected_by_reason(runs: dict[date, dict[str, int]]) -> dict[str, dict[date, int]]:
    out: dict[str, dict[date, int]] = {}
    for d, counts in runs.items():
        for key, n in counts.items():
            if key.startswith("rejected.") and n:
                out.setdefault(key.removeprefix("rejected."), {})[d] = n
    return dict(sorted(out.items()))


def plots(data: NightData) -> dict[str, str]:
    """Every plot of the report, as inline SVG ('' where there is nothing to draw)."""
    nights, runs = data.nights, data.runs
    graph, ids = runs.get("graph", {}), runs.get("ids", {})
    out = {
        "rejected": charts.stacked_bars(
            "rejected records by reason", nights, rejected_by_reason(runs.get("ingest", {}))
        ),
        "sessions": charts.lines_over_nights(
            "events and sessions per night", nights,
            series(runs.get("sessionize", {}), {"events": "events", "sessions": "sessions"}),
            ",.0f",
        ),
        "graph_size": charts.lines_over_nights(
            "edges in the long-term graph", nights,
            series(graph, {"user-item": "user_item_affinity.rows",
                           "item-item": "item_cooccurrence.rows"}), ",.0f",
        ),
        "ids": charts.lines_over_nights(
            "users and items known", nights,
            series(ids, {"users": "total_user_ids", "items": "total_item_ids"}), ",.0f",
        ),
        "graph_churn": charts.lines_over_nights(
            "edges touched and pruned per night", nights,
            series(graph, {"user-item touched": "user_item_affinity.touched",
                           "user-item pruned": "user_item_affinity.pruned",
                           "item-item touched": "item_cooccurrence.touched",
                           "item-item pruned": "item_cooccurrence.pruned"}), ",.0f",
        ),
        "ndcg": "",
        "training": "",
        "gate": "",
        "movement": "",
    }  # fmt: skip
    if data.ndcg10:
        ndcg = {m: data.ndcg10[m] for m in NDCG_MODELS if m in data.ndcg10}
        out["ndcg"] = charts.lines_over_nights("next-day test NDCG@10", nights, ndcg, ".4f")
    if history := data.training.get("history"):
        out["training"] = charts.per_epoch("training of the night", history, ["loss", "ndcg@10"])
    if data.gate is not None and len(data.gate):
        out["gate"] = charts.histogram(
            "per user: mean gate (0 long-term only, 1 short-term only)", data.gate, "gate"
        )
    if data.moved is not None and len(data.moved):
        out["movement"] = charts.histogram(
            f"per user: cosine of tonight's fused vector with {data.previous_ds}'s",
            data.moved,
            "cosine similarity",
        )
    return out


def render_night(settings: Settings, data: NightData) -> str:
    tonight = {job: data.runs.get(job, {}).get(data.ds) for job in STEPS}
    previous = report_path(settings, data.previous_ds) if data.previous_ds else None
    return TEMPLATES.get_template("night.html.j2").render(
        ds=data.ds,
        night=data.night,
        training=data.training,
        tonight_runs=[(job, sorted(c.items())) for job, c in tonight.items() if c],
        rejected_tonight=sorted(
            (k.removeprefix("rejected."), n)
            for k, n in (tonight["ingest"] or {}).items()
            if k.startswith("rejected.") and n
        ),
        plots=plots(data),
        metric_names=METRICS,
        previous_ds=data.previous_ds,
        previous_report=previous.name if previous and previous.exists() else None,
        top_items=data.top_items,
        written_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def render_index(settings: Settings) -> str:
    """Every night with a report, newest first, with its decision."""
    try:
        rows = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "decision", "reason"]).to_pylist()
    except TableNotReady:
        rows = []
    decided = {r["ds"]: r for r in rows}
    nights = []
    for path in sorted(settings.reports_dir.glob("ds=*.html"), reverse=True):
        ds = date.fromisoformat(path.stem.removeprefix("ds="))
        row = decided.get(ds, {"decision": "no model", "reason": "nothing was trained"})
        nights.append({"ds": ds, "file": path.name, **row})
    return TEMPLATES.get_template("index.html.j2").render(nights=nights)
