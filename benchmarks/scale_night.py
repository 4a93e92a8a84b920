"""One night at a real team's volume, on a synthetic warehouse built by the product's own commands:
the examples tables' size on disk, and what training night D costs (loading its data, then
optimisation steps over the real sequences and graph) with its peak RSS.

    export INTEREST_HOME=/tmp/scale SPARK_LOCAL_IP=127.0.0.1
    .venv/bin/interest keygen --if-missing
    .venv/bin/interest demo-data --days 8 --events-per-day 1000000 --users 100000 \\
        --items 20000 --clusters 50 --bad-fraction 0.001 --seed 11
    .venv/bin/interest etl --from 2026-01-01 --to 2026-01-07 --bulk
    .venv/bin/interest etl --ds 2026-01-08
    .venv/bin/python benchmarks/scale_night.py --ds 2026-01-08 [--steps 20] [--label NAME]

Night D trains on the sequences of the days before D with the graph as of D - 1 (training for D
inside a bulk range is refused: bulk-load up to D - 1). The sizes are those of the live files of
each examples table present: gold.training_sequences, and the per-event gold.training_examples
of the earlier design when the warehouse still holds it (its examples step, run from commit
88557ab on a copy of the warehouse). A whole epoch at this size takes hours on 2 cores, so the
script times ``--steps`` optimisation steps exactly as ``fit`` runs them (the Petastorm reader
included) and projects one epoch as steps per epoch x the mean step: a projection, named so in
the results (above ``exact_propagation_max_edges``, time at least ``propagation_refresh_steps``
steps so the mean pays its share of LightGCN's refresh). Peak RSS is the process's (ru_maxrss).
Writes benchmarks/results/scale_night.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from etl_benchmark import machine  # this folder's
from scale_model import peak_rss_mb, propagation_label, save_entry

from models.examples_reader import EpochBatches
from models.threads import use_threads
from models.train import build_model, loss_for_batch, make_optimizer, rows_per_batch
from models.train_config import TrainConfig
from models.training_data import load_train_data
from warehouse import REPO_ROOT
from warehouse.lake import TableNotReady, live_files, open_table, row_count
from warehouse.settings import Settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "scale_night.json"
EXAMPLES_TABLES = ["gold.training_sequences", "gold.training_examples"]


def table_size(settings: Settings, name: str) -> dict | None:
    """Rows, live files and bytes on disk of a table (None when the warehouse has no such table)."""
    try:
        files = live_files(open_table(settings, name))
    except TableNotReady:
        return None
    size = sum(os.path.getsize(f.removeprefix("file://")) for f in files)
    return {"rows": row_count(files), "files": len(files), "mb": round(size / 2**20, 1)}


def train_steps(settings: Settings, ds: date, steps: int) -> dict:
    """Loads night ``ds``'s training data and times ``steps`` optimisation steps after a first."""
    threads = use_threads(1, settings.train_threads)
    started = time.perf_counter()
    data = load_train_data(
        settings, ds - timedelta(days=1), ds - timedelta(days=settings.train_days)
    )
    load_s = time.perf_counter() - started
    config = TrainConfig()
    model = build_model(config, data)
    optimizer = make_optimizer(model, config)
    rows = rows_per_batch(config.batch_size, data.files, 1)
    batches = iter(EpochBatches(data.files, rows, seed=1))
    step_s, targets = [], 0
    for step in range(steps + 1):
        started = time.perf_counter()
        batch = next(batches)
        loss = loss_for_batch(model, batch, data.graph, config, data)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step > 0:  # the first step allocates Adam's state
            step_s.append(time.perf_counter() - started)
            targets += int(batch.num_targets.sum())
    batches.close()
    median, mean = statistics.median(step_s), statistics.mean(step_s)
    steps_per_epoch = data.files.rows / rows
    return {
        "threads": threads,
        "sequences": data.files.rows,
        "targets": data.files.targets,
        "graph_edges": data.graph.num_edges,
        "propagation": propagation_label(model),
        "load_s": round(load_s, 1),
        "rows_per_step": rows,
        "targets_per_s": round(targets / sum(step_s)),
        "step_s_median": round(median, 3),
        "step_s_mean": round(mean, 3),
        "step_s": [round(s, 3) for s in step_s],
        "projected_epoch_min": round(steps_per_epoch * mean / 60, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "config": config.model_dump(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ds", required=True, help="the night D (sequences up to D - 1)")
    parser.add_argument("--steps", type=int, default=20, help="optimisation steps timed")
    parser.add_argument("--skip-train", action="store_true", help="sizes only")
    parser.add_argument("--label", default="default", help="the entry's name in the results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = Settings()
    figures: dict = {
        "conditions": f"{machine()}; otherwise idle machine",
        "home": str(settings.home),
        "tables": {name: table_size(settings, name) for name in EXAMPLES_TABLES},
    }
    print(json.dumps(figures, indent=2), flush=True)
    if not args.skip_train:
        figures["train"] = train_steps(settings, date.fromisoformat(args.ds), args.steps)
    save_entry(args.out, args.label, figures)


if __name__ == "__main__":
    main()
