"""The training path at catalog and graph scale, in memory: does one optimisation step (LightGCN
propagation over the whole graph, the LSTM over the rows, the loss, Adam) fit on this machine for
U users x I items x E edges, and what does a step cost?

    .venv/bin/python benchmarks/scale_model.py [--users 1000000] [--items 100000]
        [--edges 20000000] [--steps 5] [--batch-size 256] [--config JSON] [--label NAME]

The graph is random (items drawn from a Zipf-like law, users uniform) and built by the product's
own ``build_graph``; the rows are random sequences of L context events and ``targets_per_row``
targets; the step is the product's ``loss_for_batch`` (full softmax up to
``full_softmax_max_items``, sampled softmax with logQ beyond; LightGCN exact up to
``exact_propagation_max_edges``, historical layers refreshed every ``propagation_refresh_steps``
beyond: give ``--steps`` at least that many so the mean step pays its share of a refresh).
Peak RSS is the process's (ru_maxrss). Writes benchmarks/results/scale_model.json: one entry per
label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from models.adjacency import build_graph
from models.batch import Batch
from models.threads import use_threads
from models.train import TrainData, build_model, loss_for_batch, make_optimizer
from models.train_config import TrainConfig
from models.training_data import item_log_q
from warehouse import REPO_ROOT
from warehouse.settings import Settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "scale_model.json"
NUM_TYPES = 4


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def save_entry(out: Path, label: str, figures: dict) -> None:
    """Prints the figures and writes them as the results file's entry ``label`` (others kept)."""
    print(json.dumps({label: figures}, indent=2))
    results = json.loads(out.read_text()) if out.exists() else {}
    results[label] = figures
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


def propagation_label(model) -> str:
    """How the model's training steps propagate LightGCN, for the results."""
    refresh = model.long_term.refresh_steps
    return f"historical, refreshed every {refresh} steps" if refresh else "exact, every step"


def zipf_items(rng: np.random.Generator, num_items: int, size: int) -> np.ndarray:
    """Item ids 1..num_items, popularity ~ 1 / rank^0.8 (a long tail like real catalogs)."""
    weights = 1.0 / np.arange(1, num_items + 1) ** 0.8
    cdf = np.cumsum(weights / weights.sum())
    return np.searchsorted(cdf, rng.random(size), side="right").clip(0, num_items - 1) + 1


def random_batch(rng: np.random.Generator, rows: int, context: int, targets: int, num_users: int,
                 num_items: int) -> Batch:  # fmt: skip
    width = context + targets
    items = torch.as_tensor(zipf_items(rng, num_items, rows * width).reshape(rows, width))
    ts = torch.as_tensor(np.sort(rng.integers(0, 30 * 86400, (rows, width)), axis=1))
    return Batch(
        user_idx=torch.as_tensor(rng.integers(1, num_users + 1, rows)),
        item_seq=items,
        type_seq=torch.as_tensor(rng.integers(1, NUM_TYPES + 1, (rows, width))),
        ts_seq=ts,
        new_session_seq=torch.as_tensor(rng.integers(0, 2, (rows, width))),
        num_context=torch.full((rows,), context),
        num_targets=torch.full((rows,), targets),
    )


def run(args: argparse.Namespace) -> dict:
    settings = Settings()
    threads = use_threads(1, settings.train_threads)
    rng = np.random.default_rng(0)
    config = TrainConfig(batch_size=args.batch_size, **args.config)
    started = time.perf_counter()
    users = rng.integers(1, args.users + 1, args.edges)
    items = zipf_items(rng, args.items, args.edges)
    weight = rng.exponential(2.0, args.edges).astype(np.float32)
    graph = build_graph(users, items, weight, args.users + 1, args.items + 1)
    del users, items, weight
    graph_s, graph_rss = time.perf_counter() - started, peak_rss_mb()
    print(f"graph: {graph.adj._nnz():,} directed edges in {graph_s:.1f}s, "
          f"peak RSS {graph_rss:,.0f} MB", flush=True)  # fmt: skip

    log_q = item_log_q(zipf_items(rng, args.items, 1_000_000), args.items + 1)
    # no sequence files: the batches are made here
    data = TrainData(None, graph, args.users + 1, args.items + 1, NUM_TYPES, log_q)
    model = build_model(config, data)
    optimizer = make_optimizer(model, config)
    rows = max(1, round(args.batch_size / settings.targets_per_row))
    step_s = []
    for step in range(args.steps + 1):
        batch = random_batch(rng, rows, settings.sequence_length, settings.targets_per_row,
                             args.users, args.items)  # fmt: skip
        started = time.perf_counter()
        loss = loss_for_batch(model, batch, graph, config, data)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seconds = time.perf_counter() - started
        print(f"step {step}: loss {loss.item():.3f} in {seconds:.2f}s", flush=True)
        if step > 0:  # step 0 allocates Adam's state
            step_s.append(seconds)
    step_median, step_mean = statistics.median(step_s), statistics.mean(step_s)
    targets = rows * settings.targets_per_row
    return {
        "conditions": f"{platform.machine()}, {os.cpu_count()} CPUs, cpu, torch threads "
        f"{threads}, otherwise idle machine",
        "users": args.users,
        "items": args.items,
        "edges": args.edges,
        "loss": "full softmax"
        if data.num_items <= config.full_softmax_max_items
        else f"sampled softmax ({config.num_negatives} negatives, logQ)",
        "propagation": propagation_label(model),
        "graph_build_s": round(graph_s, 1),
        "peak_rss_mb_after_graph": round(graph_rss),
        "targets_per_step": targets,
        "step_s_median": round(step_median, 3),
        "step_s_mean": round(step_mean, 3),
        "step_s": [round(s, 3) for s in step_s],
        "targets_per_s": round(targets / step_mean),
        "peak_rss_mb": round(peak_rss_mb()),
        "config": config.model_dump(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=20_000_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument(
        "--config", type=json.loads, default={}, help="TrainConfig overrides (JSON)"
    )
    parser.add_argument("--label", default="default", help="the entry's name in the results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = run(args)
    save_entry(args.out, args.label, figures)


if __name__ == "__main__":
    main()
