"""Petastorm reader throughput (rows and targets/s) vs training throughput (targets/s) on one
warehouse (default: the ML-100K
warehouse of benchmarks/ml100k.py), on an idle machine and beside one competing busy process
(an Airflow worker never has the machine to itself). The reader must not be the bottleneck, and
training must not collapse when another process takes a core.

    .venv/bin/python benchmarks/throughput.py [--home var/ml100k] [--days N] [--label NAME]

Training threads follow the product's policy (models/threads.py; INTEREST_TRAIN_THREADS
overrides); OpenMP's wait policy is the environment's (OMP_WAIT_POLICY, GOMP_SPINCOUNT),
recorded beside the figures. Writes benchmarks/results/throughput.json: one entry per label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import torch

from models.examples_reader import EpochBatches
from models.protocol_a import last_state_day
from models.train import fit, rows_per_batch
from models.train_config import TrainConfig
from models.training_data import load_train_data
from warehouse import REPO_ROOT
from warehouse.settings import Settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "throughput.json"


def reader_rows_per_s(data, batch_size: int, repeats: int = 3) -> float:
    """Best of ``repeats`` epochs, rows (sequences) per second."""
    best = 0.0
    for seed in range(repeats):
        started = time.perf_counter()
        epoch = EpochBatches(data.files, rows_per_batch(batch_size, data.files, 1), seed)
        for _ in epoch:
            pass
        epoch.check()
        best = max(best, epoch.read / (time.perf_counter() - started))
    return best


@contextmanager
def busy_process():
    """One process spinning on the CPU for as long as the block runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        proc.kill()
        proc.wait()


def train_targets_per_s(config: TrainConfig, data, threads: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        no_validation = lambda m, g, d: {"ndcg@10": 0.0}  # noqa: E731
        result = fit(config, data, no_validation, Path(run_dir), threads=threads,
                     show_progress=False)  # fmt: skip
    return result.targets_per_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=REPO_ROOT / "var" / "ml100k")
    parser.add_argument("--days", type=int, help="train on the last N days only (default: all)")
    parser.add_argument("--label", default="default", help="the entry's name in the results")
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = Settings(home=args.home)
    as_of = date.fromisoformat(last_state_day(settings))
    first = as_of - timedelta(days=args.days - 1) if args.days else None
    data = load_train_data(settings, as_of, first)
    config = TrainConfig(max_epochs=1, batch_size=args.batch_size)
    reader = reader_rows_per_s(data, config.batch_size)
    idle = train_targets_per_s(config, data, settings.train_threads)
    threads = torch.get_num_threads()
    with busy_process():
        busy = train_targets_per_s(config, data, settings.train_threads)
    figures = {
        "conditions": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"{'cuda' if torch.cuda.is_available() else 'cpu'}, torch threads {threads}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '(unset)')}, "
        f"INTEREST_TRAIN_THREADS={settings.train_threads}; busy: one `while True: pass` process",
        "rows": data.files.rows,
        "targets": data.files.targets,
        "days": [str(first) if first else None, str(as_of)],
        "reader_rows_per_s": round(reader),
        "reader_targets_per_s": round(reader * data.files.targets / data.files.rows),
        "train_targets_per_s_idle": round(idle),
        "train_targets_per_s_busy": round(busy),
        "busy_over_idle": round(busy / idle, 3),
        "config": config.model_dump(),
    }
    print(json.dumps({args.label: figures}, indent=2))
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "train_examples_per_s" in results:  # the file's earlier, single-entry layout
        results = {"before-thread-policy": results}
    results[args.label] = figures
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
