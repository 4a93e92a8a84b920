"""Model commands: train, evaluate, stage, publish, report, compare, recommend and the MLflow UI.
torch is imported only when one of them runs."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, echo_records, fail, parse_day, settings_or_fail, submit
from cli.render import metrics_table, render
from warehouse.lake import TableNotReady
from warehouse.night_report import night_report
from warehouse.publication import Manifest, MetricRow, StageError
from warehouse.settings import Settings
from warehouse.steps import NOTHING_TO_TRAIN, REFUSED

app = typer.Typer()

DsArg = Annotated[str, typer.Option("--ds", help="The night's logical day D, YYYY-MM-DD.")]
VersionOpt = Annotated[
    str | None, typer.Option(help="Model version (default: the last one trained for D).")
]


def train_config(**overrides: object):
    from models.train_config import TrainConfig

    return TrainConfig(**{k: v for k, v in overrides.items() if v is not None})


def next_day_table(day: date, version: str, metrics: list[MetricRow]):
    """ops.model_metrics rows of one night as a table, a row per model."""
    rows: dict[str, dict[str, float]] = {}
    for row in metrics:
        rows.setdefault(row.model, {})[row.metric] = row.value
    return metrics_table(f"next day {day} (test users), candidate {version}", rows)


def version_or_default(settings: Settings, ds: date, version: str | None) -> str:
    """The given version, else the model trained last for night ``ds``."""
    from models.nightly import latest_trained, model_dir

    version = version or latest_trained(settings, ds)
    if version is None or not (model_dir(settings, version) / "best.pt").exists():
        raise fail(
            f"no trained model {version or 'for ' + str(ds)}: run `interest train --ds {ds}`"
        )
    return version


def trained_night(ds: str, model_version: str | None) -> tuple[Settings, date, str]:
    settings = settings_or_fail()
    day = parse_day(ds, "--ds")
    return settings, day, version_or_default(settings, day, model_version)


def model_errors():
    """User-facing failures of the model steps, as one line each."""
    from models.examples_reader import ShortRead
    from models.protocol_a import BadHeldOut

    return (TableNotReady, StageError, BadHeldOut, ShortRead, FileNotFoundError, ValueError)


@app.command()
def train(
    ds: DsArg,
    variant: Annotated[str, typer.Option(help="fused | lstm_only | gcn_only")] = "fused",
    processes: Annotated[int | None, typer.Option(min=1, help="DDP processes.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Max epochs.")] = None,
) -> None:
    """Train the model for night D: examples up to D-1, early stopping on D's events."""
    from models import nightly

    settings = settings_or_fail()
    day = parse_day(ds, "--ds")
    config = train_config(variant=variant, max_epochs=epochs)
    try:
        version, result = nightly.train(
            settings, day, config, processes or settings.train_processes
        )
    except nightly.NothingToTrain as exc:
        console.print(f"skipped: {exc}")
        raise typer.Exit(NOTHING_TO_TRAIN) from None
    except model_errors() as exc:
        raise fail(str(exc)) from None
    console.print(f"model {version}: best epoch {result.best_epoch} of {result.epochs}, "
                  f"{result.targets_per_s:,.0f} targets/s, {result.train_s:.0f} s")  # fmt: skip
    console.print(
        metrics_table("validation (next day, valid users)", {"candidate": result.best_valid})
    )


@app.command()
def evaluate(ds: DsArg, model_version: VersionOpt = None) -> None:
    """Next-day test metrics of a model vs the last published one, popularity and item-KNN."""
    from models import nightly

    settings, day, version = trained_night(ds, model_version)
    try:
        evaluation = nightly.evaluate(settings, day, version)
    except model_errors() as exc:
        raise fail(str(exc)) from None
    console.print(next_day_table(day, version, evaluation.metrics))
    accepted, reason = nightly.gate(evaluation, settings.publish_margin)
    console.print(f"gate: {'publish' if accepted else 'refuse'} — {reason}")


@app.command()
def stage(ds: DsArg, model_version: VersionOpt = None) -> None:
    """Evaluate and gate a model for night D, and stage what the publish job commits (its
    vectors only when the gate passes). Publishing is `interest publish` or the DAG's publish."""
    staged(ds, model_version)


def staged(ds: str, model_version: str | None) -> tuple[Settings, date, Manifest]:
    from models import nightly

    settings, day, version = trained_night(ds, model_version)
    try:
        manifest = nightly.stage(settings, day, version, nightly.evaluate(settings, day, version))
    except model_errors() as exc:
        raise fail(str(exc)) from None
    console.print(next_day_table(day, version, manifest.metrics))
    console.print(f"gate: {manifest.decision} — {manifest.reason}")
    return settings, day, manifest


@app.command()
def publish(ds: DsArg, model_version: VersionOpt = None) -> None:
    """Evaluate, gate, and publish the vectors of night D in one atomic commit (or refuse)."""
    settings, day, manifest = staged(ds, model_version)
    submit(settings, "publish", ["--ds", day.isoformat()], echo_records)
    if not manifest.published:
        raise fail(f"not published: {manifest.reason}", code=REFUSED)
    console.print(f"published {manifest.model_version} for {day}: {manifest.reason}")


@app.command()
def rollback(ds: DsArg) -> None:
    """Serve night D's published vectors again, in one commit (nights after D: rolled_back)."""
    settings = settings_or_fail()
    day = parse_day(ds, "--ds")
    submit(settings, "rollback", ["--ds", day.isoformat()], echo_records)
    console.print(f"serving the vectors of {day} (interest report --ds {day})")


@app.command()
def report(
    ds: DsArg,
    html: Annotated[
        bool, typer.Option("--html", help="Also write the night's HTML report (and the index).")
    ] = False,
    html_path: Annotated[
        Path | None, typer.Option(help="Where the HTML goes (default <home>/reports/ds=D.html).")
    ] = None,
) -> None:
    """What night D decided, from ops.publications and ops.model_metrics (exit 3 if refused)."""
    settings = settings_or_fail()
    day = parse_day(ds, "--ds")
    try:
        if html or html_path:  # also for a night that decided nothing (it trained nothing)
            from reports.page import write_report

            console.print(f"report: {write_report(settings, day, html_path)}")
        night = night_report(settings, day)
    except TableNotReady as exc:
        raise fail(str(exc)) from None
    console.print(metrics_table(f"next day {day} (test users)", night.metrics))
    console.print(f"{night.decision}: model {night.model_version}: {night.reason}")
    if not night.published:
        raise typer.Exit(REFUSED)
    console.print(f"vectors: serving.user_interest_vectors ds={day} ({night.users:,} users)")


@app.command()
def compare(
    held_out: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Held-out JSONL from import-movielens --exclude-split.",
        ),
    ],
    seeds: Annotated[list[int] | None, typer.Option("--seed", help="Repeatable.")] = None,
    variants: Annotated[list[str] | None, typer.Option("--variant", help="Repeatable.")] = None,
) -> None:
    """Protocol A (leave-one-out) comparison: fused, ablations, popularity, item-KNN."""
    from models.compare import compare as run_compare

    settings = settings_or_fail()
    configs = {v: train_config(variant=v) for v in variants or ["fused", "lstm_only", "gcn_only"]}
    try:
        results = run_compare(
            settings, held_out, seeds or [2020], configs, settings.state_dir / "runs"
        )
    except model_errors() as exc:
        raise fail(str(exc)) from None
    means = {
        name: {m: sum(v) / len(v) for m, v in row.items()}
        for name, row in results["models"].items()
    }
    console.print(metrics_table("Protocol A, test (mean over seeds)", means))


@app.command()
def recommend(
    user_id: Annotated[str, typer.Argument(help="Raw user id.")],
    k: Annotated[int, typer.Option(min=1, help="How many items.")] = 10,
) -> None:
    """Top-K items for a user from the latest published vectors (a sanity check)."""
    from models.serving import recommend as top_items

    settings = settings_or_fail()
    try:
        ds, version, items = top_items(settings, user_id, k)
    except model_errors() as exc:
        raise fail(str(exc)) from None
    rows = [(rank, item, f"{score:.4f}") for rank, (item, score) in enumerate(items, 1)]
    console.print(
        render(f"user {user_id}: top {k} ({ds}, {version})", ["rank", "item_id", "score"], rows)
    )


@app.command("mlflow-ui")
def mlflow_ui(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """The MLflow UI over the tracked training runs, on http://127.0.0.1:PORT (Ctrl-C stops)."""
    settings = settings_or_fail()
    if settings.mlflow_tracking_uri is None:
        settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow = Path(sys.executable).parent / "mlflow"
    console.print(f"MLflow UI on http://127.0.0.1:{port} over {settings.tracking_uri}")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.execv(mlflow, [str(mlflow), "ui", "--backend-store-uri", settings.tracking_uri,
                      "--host", "127.0.0.1", "--port", str(port)])  # fmt: skip
