"""Every training run in MLflow: its parameters, per-epoch curves, the evaluation that gated it and
the model files, so that a published vector can be traced back to the run that made it (its run
id is in ops.publications and the serving tables).

The store is ``Settings.tracking_uri``: by default a SQLite store under the warehouse with the
artifacts beside it; any tracking server or database by configuration. Tracking never decides a
night: when the store cannot be reached, the run is trained and published without a run id, and
the reason is printed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from models.train import FitResult
from models.train_config import TrainConfig
from warehouse.settings import Settings

# No usage reports leave the machine (MLflow sends them by default).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

NIGHTLY = "nightly"  # experiment of the nightly DAG's training runs
PROTOCOL_A = "protocol-a"  # experiment of the Protocol A comparisons (benchmarks, interest compare)
MODEL_FILES = ("best.pt", "config.json")  # what a run's "model" artifact holds


def metric_key(name: str) -> str:
    """MLflow's name for a metric ('@' is not allowed in keys): ndcg@10 -> ndcg_at_10."""
    return name.replace("@", "_at_")


def client(settings: Settings):
    """An MlflowClient on the configured store (the default one's folder is created)."""
    from mlflow import MlflowClient

    if settings.mlflow_tracking_uri is None:
        settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=settings.tracking_uri)


def experiment_id(mlflow, settings: Settings, name: str) -> str:
    """The experiment's id, created on first use (its artifacts beside the default store)."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if settings.mlflow_tracking_uri is None:
        location = (settings.mlflow_dir / "artifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def epoch_metrics(result: FitResult) -> list:
    """Each epoch's training loss, seconds and validation metrics, stepped by epoch."""
    from mlflow.entities import Metric

    return [
        Metric(
            metric_key(name) if name in ("loss", "seconds") else f"valid.{metric_key(name)}",
            float(value),
            0,
            record["epoch"],
        )  # fmt: skip
        for record in result.history
        for name, value in record.items()
        if name != "epoch"
    ]


def log_training(
    settings: Settings,
    experiment: str,
    run_name: str,
    config: TrainConfig,
    result: FitResult,
    model_dir: Path,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
) -> str | None:
    """One finished MLflow run for a training run; its id (None if tracking is off or failed)."""
    if not settings.track_runs:
        return None
    try:
        from mlflow.entities import Metric, Param, RunTag

        mlflow = client(settings)
        run = mlflow.create_run(experiment_id(mlflow, settings, experiment), run_name=run_name)
        run_id = run.info.run_id
        summary = {"best_epoch": result.best_epoch, "epochs": result.epochs,
                   "train_s": result.train_s, "targets_per_s": result.targets_per_s}  # fmt: skip
        mlflow.log_batch(
            run_id,
            metrics=[
                *epoch_metrics(result),
                *(Metric(k, float(v), 0, 0) for k, v in summary.items()),
            ],  # fmt: skip
            params=[Param(k, str(v)) for k, v in {**config.model_dump(), **(params or {})}.items()],
            tags=[RunTag(k, v) for k, v in (tags or {}).items()],
        )
        for name in MODEL_FILES:
            mlflow.log_artifact(run_id, str(model_dir / name), artifact_path="model")
        mlflow.set_terminated(run_id)
        return run_id
    except Exception as exc:  # tracking never fails a night (module docstring)
        untracked(exc)
        return None


def log_evaluation(
    settings: Settings, run_id: str | None, results: Iterable[tuple[str, str, float]], **tags: str
) -> None:
    """Adds an evaluation to a finished run: (model, metric, value) rows as metrics named
    ``test.<model>.<metric>``, and tags (the gate's decision and reason)."""
    if run_id is None or not settings.track_runs:
        return
    try:
        from mlflow.entities import Metric, RunTag

        mlflow = client(settings)
        metrics = [Metric(f"test.{model}.{metric_key(m)}", value, 0, 0)
                   for model, m, value in results]  # fmt: skip
        mlflow.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
    except Exception as exc:
        untracked(exc)


def untracked(exc: Exception) -> None:
    warnings.warn(f"MLflow tracking failed, the run is not tracked: {exc}", stacklevel=2)
