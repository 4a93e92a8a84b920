"""The nightly model steps for day D: train, evaluate + gate, stage the vectors for publishing.

- train: sequences of [D - train_days, D - 1] and the graph as of D - 1; early stopping on the
  next-day events of D of the "valid" half of users; warm start from the last published model.
- evaluate: on the "test" half of D's users, the candidate, the last published model, popularity
  and item-KNN; the gate refuses a candidate whose NDCG@10 is below the last published model's by
  more than ``publish_margin``.
- stage: vectors as of the end of D (graph and histories as of D), metrics and the decision, for
  the Spark publish job (jobs/publish.py) to commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import torch

from models.baselines import ItemKNN, Popularity
from models.distributed import fit_parallel, is_main_rank
from models.next_day import NextDay
from models.ranking import model_scorer
from models.tracking import NIGHTLY, log_evaluation, log_training
from models.train import FitResult, TrainData, build_model, pick_device, warm_start
from models.train_config import TrainConfig
from models.training_data import load_train_data
from models.vectors import compute_vectors, user_inputs
from warehouse.lake import TableNotReady, live_files, open_table, read_arrow
from warehouse.publication import METRICS, Decision, Manifest, MetricRow
from warehouse.settings import Settings
from warehouse.tables import GOLD_SEQUENCES, SERVING_USERS


class NothingToTrain(RuntimeError):
    """No training sequences before the night yet (a warehouse's first night)."""


def model_version(ds: date, config: TrainConfig) -> str:
    """Deterministic per (day, config), so a rerun of the night replaces its own model."""
    digest = hashlib.sha256(json.dumps(config.model_dump(), sort_keys=True).encode()).hexdigest()
    return f"{ds.isoformat()}-{config.variant}-{digest[:8]}"


def model_dir(settings: Settings, version: str) -> Path:
    return settings.models_dir / version


def latest_trained(settings: Settings, ds: date) -> str | None:
    """The model trained last for night ``ds`` (None if none)."""
    done = [p.parent for p in settings.models_dir.glob(f"{ds.isoformat()}-*/best.pt")]
    return max(done, key=lambda p: (p / "best.pt").stat().st_mtime).name if done else None


def last_published(settings: Settings, before: date) -> str | None:
    """Model version of the latest published day before ``before`` (None on the first night)."""
    try:
        table = read_arrow(
            settings, SERVING_USERS, ["model_version"], (None, before - timedelta(days=1))
        )
    except TableNotReady:
        return None
    versions = sorted(set(table["model_version"].to_pylist()))  # versions start with their ds
    return versions[-1] if versions else None


def trained_run_id(settings: Settings, version: str) -> str | None:
    """The MLflow run that trained a model version (None when it was not tracked)."""
    meta = model_dir(settings, version) / "train.json"
    return json.loads(meta.read_text()).get("mlflow_run_id") if meta.exists() else None


def load_model(settings: Settings, version: str, data: TrainData) -> torch.nn.Module:
    """A saved model, grown to today's id tables (new rows stay freshly initialised, from the
    model's seed: evaluating it twice gives the same metrics, so a rerun gates the same way)."""
    folder = model_dir(settings, version)
    config = TrainConfig.model_validate_json((folder / "config.json").read_text())
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = build_model(config, data)
    warm_start(model, torch.load(folder / "best.pt", map_location="cpu"))
    return model.eval()


def train(
    settings: Settings, ds: date, config: TrainConfig, processes: int = 1
) -> tuple[str, FitResult]:
    as_of, first = ds - timedelta(days=1), ds - timedelta(days=settings.train_days)
    if not live_files(open_table(settings, GOLD_SEQUENCES), (first, as_of)):
        raise NothingToTrain(f"no training sequences in [{first}, {as_of}] yet: nothing to train")
    data = load_train_data(settings, as_of, first)
    valid = NextDay.of(settings, ds, data.num_users, data.num_items, part="valid")
    version = model_version(ds, config)
    folder = model_dir(settings, version)
    folder.mkdir(parents=True, exist_ok=True)
    main = is_main_rank()
    if main:
        (folder / "config.json").write_text(config.model_dump_json(indent=2))
    previous = last_published(settings, ds)
    initial = None
    if previous and (model_dir(settings, previous) / "best.pt").exists():
        initial = torch.load(model_dir(settings, previous) / "best.pt", map_location="cpu")
    result = fit_parallel(
        config, data, valid.validate, folder, processes, initial=initial,
        threads=settings.train_threads,
    )  # fmt: skip
    if not main:  # another rank of a launched group: rank 0 records the night
        return version, result
    run_id = log_training(
        settings, NIGHTLY, version, config, result, folder,
        params={"ds": ds, "train_days": settings.train_days, "processes": processes,
                "warm_start": previous if initial else None, "sequences": data.files.rows,
                "targets": data.files.targets},
        tags={"model_version": version, "ds": ds.isoformat()},
    )  # fmt: skip
    meta = {"ds": ds.isoformat(), "mlflow_run_id": run_id,
            "warm_start": previous if initial else None,
            "best_epoch": result.best_epoch, "valid": result.best_valid, "train_s": result.train_s,
            "targets_per_s": result.targets_per_s, "sequences": data.files.rows,
            "targets": data.files.targets, "history": result.history}  # fmt: skip
    (folder / "train.json").write_text(json.dumps(meta, indent=2))
    return version, result


@dataclass
class Evaluation:
    metrics: list[MetricRow]  # rows for ops.model_metrics
    candidate_ndcg10: float
    previous_version: str | None
    previous_ndcg10: float | None


def evaluate(settings: Settings, ds: date, version: str) -> Evaluation:
    as_of = ds - timedelta(days=1)
    data = load_train_data(settings, as_of, ds - timedelta(days=settings.train_days))
    test = NextDay.of(settings, ds, data.num_users, data.num_items, part="test")
    device = pick_device()
    graph = data.graph.to(device)
    scorers = {
        "candidate": model_scorer(load_model(settings, version, data).to(device), graph),
        "popularity": Popularity(data.log_q),
        "item_knn": ItemKNN.from_table(settings, as_of, data.num_items),
    }  # fmt: skip
    previous = last_published(settings, ds)
    if previous and previous != version:
        scorers["previous"] = model_scorer(load_model(settings, previous, data).to(device), graph)
    results = {name: test.metrics(scorer, device) for name, scorer in scorers.items()}
    rows = [
        MetricRow(protocol="B", split="test", model=name, metric=m, value=values[m])
        for name, values in results.items()
        for m in METRICS
    ]
    return Evaluation(
        rows,
        results["candidate"]["ndcg@10"],
        previous if "previous" in results else None,
        results["previous"]["ndcg@10"] if "previous" in results else None,
    )


def gate(evaluation: Evaluation, margin: float) -> tuple[bool, str]:
    """(publish?, why) — refuse when candidate < previous * (1 - margin)."""
    cand, prev = evaluation.candidate_ndcg10, evaluation.previous_ndcg10
    if prev is None:
        return True, f"first publication (test NDCG@10 {cand:.4f})"
    floor = prev * (1 - margin)
    if cand < floor:
        return False, (
            f"candidate test NDCG@10 {cand:.4f} < {floor:.4f} = last published "
            f"{evaluation.previous_version} {prev:.4f} - {margin:.0%}"
        )
    return True, f"candidate test NDCG@10 {cand:.4f} >= {floor:.4f} (last published {prev:.4f})"


def stage(settings: Settings, ds: date, version: str, evaluation: Evaluation) -> Manifest:
    """Writes the publish stage for the Spark job; vectors only when the gate passes."""
    publish, reason = gate(evaluation, settings.publish_margin)
    folder = settings.publish_stage_dir(ds.isoformat())
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.parquet"):
        stale.unlink()
    if publish:
        data = load_train_data(settings, ds, ds - timedelta(days=settings.train_days))
        model = load_model(settings, version, data)
        vectors = compute_vectors(
            model, data.graph, user_inputs(settings, ds, settings.short_term_days), data.log_q
        )
        for name, table in (("users", vectors.users), ("items", vectors.items)):
            with (folder / f"{name}.parquet").open("wb") as f:  # local or object storage
                pq.write_table(table, f)
    decision = Decision.PUBLISHED if publish else Decision.REFUSED
    run_id = trained_run_id(settings, version)
    log_evaluation(settings, run_id, ((m.model, m.metric, m.value) for m in evaluation.metrics),
                   decision=str(decision), reason=reason)  # fmt: skip
    manifest = Manifest(
        model_version=version,
        mlflow_run_id=run_id,
        decision=decision,
        reason=reason,
        candidate_ndcg10=evaluation.candidate_ndcg10,
        previous_version=evaluation.previous_version,
        previous_ndcg10=evaluation.previous_ndcg10,
        metrics=evaluation.metrics,
    )
    manifest.write(folder)
    return manifest
