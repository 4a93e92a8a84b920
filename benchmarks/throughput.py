"""Petastorm reader throughput vs training throughput on one warehouse (default: the ML-100K
warehouse of benchmarks/ml100k.py). The reader must not be the bottleneck: rows/s read must be
well above examples/s trained.

    .venv/bin/python benchmarks/throughput.py [--home var/ml100k] [--epochs 1]

Writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from models.examples_reader import EpochBatches
from models.protocol_a import last_state_day
from models.train import fit
from models.train_config import TrainConfig
from models.training_data import load_train_data
from warehouse import REPO_ROOT
from warehouse.settings import Settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "throughput.json"


def reader_rows_per_s(data, batch_size: int, repeats: int = 3) -> float:
    best = 0.0
    for seed in range(repeats):
        started = time.perf_counter()
        epoch = EpochBatches(data.files, batch_size, seed)
        for _ in epoch:
            pass
        epoch.check()
        best = max(best, epoch.read / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=REPO_ROOT / "var" / "ml100k")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = Settings(home=args.home)
    data = load_train_data(settings, date.fromisoformat(last_state_day(settings)))
    config = TrainConfig(max_epochs=args.epochs)
    reader = reader_rows_per_s(data, config.batch_size)
    with tempfile.TemporaryDirectory() as run_dir:
        result = fit(config, data, lambda m, g, d: {"ndcg@10": 0.0}, Path(run_dir))
    figures = {
        "machine": f"{platform.machine()}, torch threads {torch.get_num_threads()}",
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "rows": data.files.rows,
        "files": len(data.files.urls),
        "reader_rows_per_s": round(reader),
        "train_examples_per_s": round(result.examples_per_s),
        "config": config.model_dump(),
    }
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
