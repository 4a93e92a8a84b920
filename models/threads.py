"""How many intra-op threads training uses: the CPUs this process may run on, less one.

A training process rarely has the machine to itself (an Airflow worker runs other tasks beside
it). torch's default, one OpenMP thread per core of the machine, collapses when another process
takes a core: each parallel region waits for the thread that is not running (on 2 cores, one
busy process cut training to 20-37% of its idle speed; benchmarks/results/throughput.json).
So the threads are the CPUs of the affinity mask (taskset, Kubernetes' CPU manager), capped by
the cgroup's CPU quota (containers), less one left to the rest of the machine, shared among the
DDP ranks. ``INTEREST_TRAIN_THREADS`` sets them instead (a dedicated training node).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

CGROUP = Path("/sys/fs/cgroup")


def cgroup_cpu_quota(root: Path = CGROUP) -> float | None:
    """CPUs' worth of time the process's cgroup may use (None: no quota). cgroup v2 writes
    ``cpu.max`` as "<quota> <period>" or "max <period>"; v1 cpu.cfs_quota_us is -1 without one."""
    v2, v1 = root / "cpu.max", root / "cpu" / "cpu.cfs_quota_us"
    if v2.is_file():
        quota, _, period = v2.read_text().strip().partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    if v1.is_file():
        quota = int(v1.read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    return None


def usable_cpus(root: Path = CGROUP) -> int:
    """The CPUs of the process's affinity mask, capped by its cgroup quota (rounded up)."""
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota(root)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def threads_per_rank(cpus: int, world_size: int, setting: int = 0) -> int:
    """``setting`` when given (> 0), else the usable CPUs less one, shared among the ranks."""
    return setting if setting > 0 else max(1, (cpus - 1) // world_size)


def use_threads(world_size: int, setting: int = 0) -> int:
    """Sets torch's intra-op threads for this process (one rank of ``world_size``)."""
    threads = threads_per_rank(usable_cpus(), world_size, setting)
    torch.set_num_threads(threads)
    return threads
