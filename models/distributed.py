"""Data-parallel training: several processes (torch DDP) from the same entry point.

gloo on CPU, NCCL when every rank has a GPU. Each rank reads its own Petastorm shard; gradients are
averaged every step, so the ranks hold identical weights and take identical early-stopping
decisions. Rank 0 writes the checkpoints and returns the result.

On one machine ``interest train --processes N`` starts the ranks itself. Across machines a
launcher starts one ``interest train`` per rank with torch's environment (torchrun, or the
Kubernetes Job in infra/k8s/train-multihost.yaml): RANK, WORLD_SIZE, LOCAL_WORLD_SIZE and the
rendezvous address; each rank then trains its share and only rank 0 records the night.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from models.threads import threads_per_rank, usable_cpus
from models.train import FitResult, TrainData, Validator, fit
from models.train_config import TrainConfig


def launched_rank() -> tuple[int, int, int] | None:
    """(rank, world size, ranks on this machine) when a launcher (torchrun) started this process
    as one rank of a group, else None."""
    if "TORCHELASTIC_RUN_ID" not in os.environ and "LOCAL_WORLD_SIZE" not in os.environ:
        return None
    env = os.environ
    return int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_WORLD_SIZE"])


def is_main_rank() -> bool:
    """Whether this process records the night's training (always, unless a launched rank > 0)."""
    launched = launched_rank()
    return launched is None or launched[0] == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(
    rank: int,
    world_size: int,
    port: int,
    config: TrainConfig,
    data: TrainData,
    validate: Validator,
    run_dir: Path,
    results: mp.SimpleQueue,
    initial: dict | None,
    threads: int,
) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        result = fit(config, data, validate, run_dir, rank, world_size, initial, rank == 0, threads)
        if rank == 0:
            results.put(result)
    finally:
        dist.destroy_process_group()


def fit_parallel(
    config: TrainConfig,
    data: TrainData,
    validate: Validator,
    run_dir: Path,
    processes: int,
    initial: dict | None = None,
    show_progress: bool = True,
    threads: int = 0,
) -> FitResult:
    """``fit`` on ``processes`` ranks of one machine; with 1 it is plain ``fit`` in-process; in a
    launched rank, this rank of the launcher's group (``processes`` is then the launcher's).
    ``threads``: intra-op threads per rank (0: the usable CPUs less one, shared)."""
    launched = launched_rank()
    if launched is not None:
        rank, world_size, local_ranks = launched
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)  # the launcher's rendezvous (MASTER_ADDR, MASTER_PORT)
        try:
            threads = threads_per_rank(usable_cpus(), local_ranks, threads)
            return fit(config, data, validate, run_dir, rank, world_size, initial,
                       show_progress and rank == 0, threads)  # fmt: skip
        finally:
            dist.destroy_process_group()
    if processes <= 1:
        return fit(config, data, validate, run_dir, initial=initial,
                   show_progress=show_progress, threads=threads)  # fmt: skip
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.start_processes(
        _rank_main,
        args=(processes, free_port(), config, data, validate, run_dir, results, initial, threads),
        nprocs=processes,
        start_method="spawn",
    )
    return results.get()
