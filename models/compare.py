"""One run that compares, on the same Protocol A split: the fused model, its LSTM-only and
GCN-only ablations, popularity and item-KNN. Used by ``interest evaluate`` and the ML-100K
benchmark."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import torch

from models.baselines import ItemKNN, Popularity
from models.protocol_a import ProtocolA, build_protocol_a, last_state_day
from models.ranking import model_scorer
from models.tracking import PROTOCOL_A, log_evaluation, log_training
from models.train import FitResult, build_model, fit, pick_device
from models.train_config import TrainConfig
from models.training_data import load_train_data
from warehouse.publication import METRICS
from warehouse.settings import Settings


def train_and_test(
    config: TrainConfig,
    data,
    protocol: ProtocolA,
    run_dir: Path,
    show_progress: bool = True,
    threads: int = 0,
) -> tuple[FitResult, dict[str, float]]:
    """Trains with early stopping on validation, then scores the best epoch's weights on test."""
    result = fit(
        config, data, protocol.validate, run_dir, show_progress=show_progress, threads=threads
    )
    device = pick_device()
    model = build_model(config, data).to(device)
    model.load_state_dict(torch.load(run_dir / "best.pt", map_location=device))
    model.eval()
    return result, protocol.test_metrics(model_scorer(model, data.graph.to(device)), device)


def compare(
    settings: Settings,
    held_out: Path,
    seeds: list[int],
    configs: dict[str, TrainConfig],
    run_root: Path,
    show_progress: bool = True,
) -> dict:
    """{"protocol": "A", "seeds": [...], "models": {name: {metric: [per seed], "train_s": [...]}}}
    plus each neural run's best epoch and validation metrics under "valid"."""
    as_of = date.fromisoformat(last_state_day(settings))
    data = load_train_data(settings, as_of)
    protocol = build_protocol_a(settings, held_out, data.num_users, data.num_items)
    device = pick_device()
    models: dict[str, dict[str, list[float]]] = {}
    valid: dict[str, list[dict]] = {}

    def add(name: str, metrics: dict[str, float], train_s: float) -> None:
        row = models.setdefault(name, {m: [] for m in (*METRICS, "train_s")})
        for metric in METRICS:
            row[metric].append(round(metrics[metric], 4))
        row["train_s"].append(round(train_s, 1))

    baselines = {
        "popularity": lambda: Popularity(data.log_q),
        "item_knn": lambda: ItemKNN.from_table(settings, as_of, data.num_items),
    }
    for name, config in configs.items():
        for seed in seeds:
            run_dir = run_root / f"{name}-seed{seed}"
            # A fresh run: fit would resume an earlier comparison's run of the same config, which
            # may have trained on other data or with other code, and report it as this one.
            shutil.rmtree(run_dir, ignore_errors=True)
            seeded = config.model_copy(update={"seed": seed})
            result, test = train_and_test(
                seeded, data, protocol, run_dir, show_progress, settings.train_threads
            )
            run_id = log_training(settings, PROTOCOL_A, run_dir.name, seeded, result, run_dir,
                                  params={"held_out": held_out.name, "as_of": as_of})  # fmt: skip
            log_evaluation(settings, run_id, ((name, m, v) for m, v in test.items()))
            add(name, test, result.train_s)
            valid.setdefault(name, []).append(
                {"seed": seed, "best_epoch": result.best_epoch, **result.best_valid,
                 "targets_per_s": round(result.targets_per_s)}
            )  # fmt: skip
    for name, make in baselines.items():
        started = time.perf_counter()
        scorer = make()
        fit_s = time.perf_counter() - started
        test = protocol.test_metrics(scorer, device)
        for _ in seeds:  # deterministic: the same figure for every seed
            add(name, test, fit_s)
    return {"protocol": "A", "seeds": seeds, "models": models, "valid": valid}
