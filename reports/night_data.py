"""What a night's report shows, read from the warehouse without Spark (delta-rs and pyarrow, as
``interest summary`` reads it): the night and the nights before it, up to ``HISTORY_NIGHTS``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.decay import decay_factor
from warehouse.lake import TableNotReady, read_arrow
from warehouse.night_report import NightReport, night_report
from warehouse.settings import Settings
from warehouse.tables import (
    GOLD_AFFINITY,
    OPS_JOB_RUNS,
    OPS_MODEL_METRICS,
    OPS_PUBLICATIONS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
)

HISTORY_NIGHTS = 30
TOP_ITEMS = 10
Counts = dict[str, int]


@dataclass
class NightData:
    ds: date
    night: NightReport | None  # None: no model was decided on (a warehouse's first night)
    runs: dict[str, dict[date, Counts]]  # job -> ds -> its ops.job_runs counts, last nights
    ndcg10: dict[str, dict[date, float]]  # model -> ds -> next-day test NDCG@10, last nights
    decisions: dict[date, str]  # ds -> the gate's decision, last nights
    training: dict  # the night's models/<version>/train.json ({} when it is not there)
    gate: np.ndarray | None  # per published user: mean gate (share of short-term), None: none
    moved: np.ndarray | None  # per user published tonight and before: cosine of fused vectors
    previous_ds: date | None  # the publication ``moved`` compares with
    top_items: list[dict] = field(default_factory=list)  # item_id, long-term weight, users

    @property
    def nights(self) -> list[date]:
        """The nights the plots span: the last HISTORY_NIGHTS, from the first one recorded."""
        first = min(d for days in self.runs.values() for d in days)
        return [first + timedelta(days=n) for n in range((self.ds - first).days + 1)]


def night_data(settings: Settings, ds: date) -> NightData:
    """Everything the report of night ``ds`` shows (TableNotReady when no job recorded ``ds``)."""
    first = ds - timedelta(days=HISTORY_NIGHTS - 1)
    runs = job_runs(settings, first, ds)
    if not any(ds in days for days in runs.values()):
        raise TableNotReady(f"no job recorded {ds} in {OPS_JOB_RUNS}: run the night first")
    try:
        night = night_report(settings, ds)
    except TableNotReady:
        night = None
    published = night is not None and night.published
    previous = previous_publication(settings, ds)
    gate = user_vectors(settings, ds, "gate") if published else None
    moved = None
    if published and previous:
        moved = movement(user_vectors(settings, ds, "fused"), user_vectors(settings, previous))
    return NightData(
        ds=ds,
        night=night,
        runs=runs,
        ndcg10=next_day_ndcg10(settings, first, ds) if night else {},
        decisions=decisions(settings, first, ds) if night else {},
        training=training_record(settings, night.model_version) if night else {},
        gate=None if gate is None else mean_of_rows(gate),
        moved=moved,
        previous_ds=previous,
        top_items=top_items(settings, ds),
    )


def job_runs(settings: Settings, first: date, last: date) -> dict[str, dict[date, Counts]]:
    rows = read_arrow(settings, OPS_JOB_RUNS, ["job", "ds", "counts"]).to_pylist()
    out: dict[str, dict[date, Counts]] = {}
    for r in rows:
        if first <= r["ds"] <= last:
            out.setdefault(r["job"], {})[r["ds"]] = dict(r["counts"])
    return out


def decisions(settings: Settings, first: date, last: date) -> dict[date, str]:
    rows = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "decision"], (first, last)).to_pylist()
    return {r["ds"]: r["decision"] for r in rows}


def next_day_ndcg10(settings: Settings, first: date, last: date) -> dict[str, dict[date, float]]:
    """model -> ds -> test NDCG@10 of the candidate each night decided on (ops.publications says
    which; a rerun may have left other candidates' rows in ops.model_metrics)."""
    decided = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "model_version"], (first, last))
    candidate = {r["ds"]: r["model_version"] for r in decided.to_pylist()}
    metrics = read_arrow(settings, OPS_MODEL_METRICS, None, (first, last))
    wanted = pc.and_(pc.equal(metrics["metric"], "ndcg@10"), pc.equal(metrics["split"], "test"))
    out: dict[str, dict[date, float]] = {}
    for r in metrics.filter(wanted).to_pylist():
        if candidate.get(r["ds"]) == r["model_version"]:
            out.setdefault(r["model"], {})[r["ds"]] = r["value"]
    return out


def training_record(settings: Settings, version: str) -> dict:
    path = settings.models_dir / version / "train.json"
    return json.loads(path.read_text()) if path.exists() else {}


def previous_publication(settings: Settings, ds: date) -> date | None:
    """The latest night before ``ds`` whose vectors were published (and are still served)."""
    try:
        rows = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "decision"], (None, ds - timedelta(1)))
    except TableNotReady:
        return None
    published = [r["ds"] for r in rows.to_pylist() if r["decision"] == "published"]
    return max(published, default=None)


def user_vectors(settings: Settings, ds: date, column: str = "fused") -> pa.Table:
    """user_idx and one vector column of the users published for ``ds``."""
    return read_arrow(settings, SERVING_USERS, ["user_idx", column], (ds, ds))


def mean_of_rows(table: pa.Table) -> np.ndarray:
    """Per row, the mean of the table's vector column (its second)."""
    return matrix(table.column(1)).mean(axis=1)


def matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A column of equal-length float arrays as one (rows, dim) numpy array."""
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return flat.reshape(len(column), -1) if len(column) else np.zeros((0, 0), np.float32)


def movement(tonight: pa.Table, before: pa.Table) -> np.ndarray:
    """Cosine similarity of each user's fused vector tonight with their previous one (users in
    both publications)."""
    _, mine, theirs = np.intersect1d(
        tonight["user_idx"].to_numpy(), before["user_idx"].to_numpy(), return_indices=True
    )
    a, b = matrix(tonight["fused"])[mine], matrix(before["fused"])[theirs]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0)


def top_items(settings: Settings, ds: date, k: int = TOP_ITEMS) -> list[dict]:
    """The items with the largest long-term weight summed over users, decayed to ``ds`` (as the
    saved query top_items_long_term ranks them)."""
    try:
        edges = read_arrow(settings, GOLD_AFFINITY, ["item_idx", "weight", "updated_ds"])
        ids = read_arrow(settings, SILVER_ITEM_IDS, ["item_idx", "item_id"])
    except TableNotReady:
        return []
    age = (np.datetime64(ds) - edges["updated_ds"].to_numpy().astype("datetime64[D]")).astype(int)
    decayed = edges["weight"].to_numpy() * decay_factor(age, settings.half_life_days)
    weights = pa.table({"item_idx": edges["item_idx"], "weight": decayed})
    by_item = weights.group_by("item_idx").aggregate([("weight", "sum"), ("weight", "count")])
    top = by_item.sort_by([("weight_sum", "descending")]).slice(0, k).join(ids, "item_idx")
    rows = top.sort_by([("weight_sum", "descending")]).to_pylist()
    return [{"item_id": r["item_id"], "weight": r["weight_sum"], "users": r["weight_count"]}
            for r in rows]  # fmt: skip
