"""Training: one loop for CPU and CUDA, one process or several (torch DDP), with a checkpoint per
epoch, resume after a crash, early stopping on validation NDCG@10 and a warm start."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from rich.progress import Progress, TextColumn
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from models.adjacency import Graph
from models.examples_reader import EpochBatches, SequenceFiles
from models.interest_model import InterestModel, score
from models.losses import full_softmax_loss, sampled_softmax_loss
from models.threads import use_threads
from models.train_config import TrainConfig
from warehouse.progress import progress_bar

# Validation: the model (unwrapped, eval mode) and its device -> metrics incl. "ndcg@10".
Validator = Callable[[InterestModel, Graph, torch.device], dict[str, float]]


@dataclass
class TrainData:
    """Everything training reads: the sequences' live files, the graph, the table sizes and the
    item distribution q for sampled softmax (log q, shape (num_items,))."""

    files: SequenceFiles
    graph: Graph
    num_users: int
    num_items: int
    num_types: int
    log_q: Tensor


@dataclass
class FitResult:
    best_epoch: int
    best_valid: dict[str, float]
    epochs: int
    train_s: float
    targets_per_s: float
    history: list[dict] = field(default_factory=list)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(config: TrainConfig, data: TrainData) -> InterestModel:
    return InterestModel(
        data.num_users,
        data.num_items,
        data.num_types,
        dim=config.dim,
        variant=config.variant,
        fusion=config.fusion,
        num_layers=config.num_layers,
        dropout=config.dropout,
        refresh_steps=refresh_steps(config, data.graph),
    )


def refresh_steps(config: TrainConfig, graph: Graph) -> int:
    """0 (exact propagation every step) while the graph is small enough, else the refresh period
    of LightGCN's historical layers."""
    if graph.num_edges <= config.exact_propagation_max_edges:
        return 0
    return config.propagation_refresh_steps


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, unfused. The fused kernel (``fused=True``) was 2% faster per step at 1M users x 100k
    items x 20M edges and 13% where the embedding tables dominate (benchmarks/scale_model.py), but
    its other rounding moved ML-100K seed 2020's validation NDCG@10 by -0.005 (fused) and +0.013
    (lstm_only): the published figures were measured with this one."""
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def warm_start(model: nn.Module, previous: dict[str, Tensor]) -> list[str]:
    """Loads the previous night's weights. Ids are append-only, so an embedding table that grew
    keeps its old rows in place and only the new rows stay freshly initialised. Returns the names
    of parameters that could not be carried over (shape changed otherwise)."""
    skipped = []
    state = model.state_dict()
    with torch.no_grad():
        for name, old in previous.items():
            new = state.get(name)
            if new is None:
                skipped.append(name)
            elif new.shape == old.shape:
                new.copy_(old)
            elif new.dim() == 2 and new.shape[1] == old.shape[1] and new.shape[0] >= old.shape[0]:
                new[: old.shape[0]].copy_(old)
            else:
                skipped.append(name)
    return skipped


def same_model(saved: dict, config: TrainConfig) -> bool:
    """A checkpoint resumes a run with the same config up to when to stop (which may be raised)."""
    stopping = {"max_epochs", "patience"}
    return {k: v for k, v in saved.items() if k not in stopping} == config.model_dump(
        exclude=stopping
    )


def save_atomic(obj: object, path: Path) -> None:
    """A crash while saving leaves the previous file intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def rows_per_batch(targets: int, files: SequenceFiles, world_size: int) -> int:
    """Rows per rank and step holding about ``targets`` targets in all ranks together: rows hold
    different numbers of targets, from data to data, and the step size is tuned in targets."""
    return max(1, round(targets / world_size * files.rows / max(files.targets, 1)))


def loss_for_batch(
    model: nn.Module, batch, graph: Graph, config: TrainConfig, data: TrainData
) -> Tensor:
    users, items = model(batch, graph)
    targets = batch.targets()
    if data.num_items <= config.full_softmax_max_items:
        return full_softmax_loss(score(users, items), targets)
    return sampled_softmax_loss(users, items, targets, data.log_q, config.num_negatives)


def fit(
    config: TrainConfig,
    data: TrainData,
    validate: Validator,
    run_dir: Path,
    rank: int = 0,
    world_size: int = 1,
    initial: dict[str, Tensor] | None = None,
    show_progress: bool = True,
    threads: int = 0,
) -> FitResult:
    """Trains until validation NDCG@10 stops improving for ``patience`` epochs (or max_epochs).

    run_dir holds ``last.pt`` (everything needed to resume, written after every epoch) and
    ``best.pt`` (the best weights so far); if ``last.pt`` exists with the same config, training
    resumes after its epoch. With world_size > 1 this is one rank of a DDP group. ``threads``:
    intra-op threads (0: the usable CPUs less one, shared among the ranks; models/threads.py).
    """
    use_threads(world_size, threads)
    device = pick_device()
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    seed_everything(config.seed)
    model = build_model(config, data).to(device)
    if initial is not None:
        warm_start(model, initial)
    graph = data.graph.to(device)
    optimizer = make_optimizer(model, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"

    state = {"epoch": 0, "best_epoch": 0, "best_valid": {"ndcg@10": -1.0}, "history": []}
    if last_path.exists():
        saved = torch.load(last_path, map_location=device, weights_only=False)
        if same_model(saved["config"], config):
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            torch.set_rng_state(saved["rng"])  # dropout continues as if never interrupted
            state = saved["state"]
    ddp = world_size > 1
    trained = (
        DistributedDataParallel(model, find_unused_parameters=config.variant != "fused")
        if ddp
        else model
    )
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    targets_total, seconds_total = 0, 0.0
    while state["epoch"] < config.max_epochs:
        epoch = state["epoch"] + 1
        if epoch - state["best_epoch"] > config.patience and state["best_epoch"] > 0:
            break
        model.train()
        started, targets, loss_sum = time.perf_counter(), 0, 0.0
        batches = EpochBatches(
            data.files,
            rows_per_batch(config.batch_size, data.files, world_size),
            seed=config.seed * 1000 + epoch,
            rank=rank,
            world_size=world_size,
        )
        with (
            _progress(show_progress and rank == 0, epoch, data.files.targets) as bar,
            trained.join() if ddp else nullcontext(),
        ):
            for batch in batches:
                if device.type == "cuda":
                    batch = batch.pin_memory()
                batch = batch.to(device)
                with amp:
                    loss = loss_for_batch(trained, batch, graph, config, data)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                n = int(batch.num_targets.sum())
                targets += n
                loss_sum += loss.item() * n
                if bar is not None:
                    bar(
                        n * world_size,
                        loss_sum / targets,
                        targets * world_size / (time.perf_counter() - started),
                    )
        batches.check()  # every rank read its shard: the rows must add up to the table's
        seconds = time.perf_counter() - started
        targets_total += targets * world_size
        seconds_total += seconds
        model.eval()
        with torch.no_grad():
            valid = validate(model, graph, device)
        record = {"epoch": epoch, "loss": loss_sum / max(targets, 1), "seconds": seconds, **valid}
        state["history"].append(record)
        state["epoch"] = epoch
        if valid["ndcg@10"] > state["best_valid"]["ndcg@10"]:
            state["best_epoch"], state["best_valid"] = epoch, valid
            if rank == 0:
                save_atomic(model.state_dict(), best_path)
        if rank == 0:
            save_atomic(
                {
                    "config": config.model_dump(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": torch.get_rng_state(),
                    "state": state,
                },
                last_path,
            )
        if ddp:
            dist.barrier()
    return FitResult(
        best_epoch=state["best_epoch"],
        best_valid=state["best_valid"],
        epochs=state["epoch"],
        train_s=sum(r["seconds"] for r in state["history"]),
        targets_per_s=targets_total / seconds_total if seconds_total else 0.0,
        history=state["history"],
    )


class _progress:
    """A rich progress bar over an epoch's targets showing loss and throughput (rank 0 only)."""

    def __init__(self, enabled: bool, epoch: int, total: int) -> None:
        self.enabled, self.epoch, self.total = enabled, epoch, total
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[int, float, float], None] | None:
        if not self.enabled:
            return None
        self.bar = progress_bar(
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[speed]:,.0f} targets/s")
        )
        self.bar.start()
        task = self.bar.add_task(f"epoch {self.epoch}", total=self.total, loss=0.0, speed=0.0)

        def advance(n: int, loss: float, speed: float) -> None:
            self.bar.update(task, advance=n, loss=loss, speed=speed)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
