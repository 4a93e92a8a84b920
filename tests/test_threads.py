"""The training thread policy: threads from the CPUs the process may use."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models import threads
from models.threads import cgroup_cpu_quota, threads_per_rank, usable_cpus


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({}, None),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
    ],
)
def test_cgroup_quota_v1_and_v2(tmp_path: Path, files: dict, quota: float | None) -> None:
    assert cgroup_cpu_quota(cgroup(tmp_path, files)) == quota


def test_usable_cpus_follow_the_affinity_mask_and_the_quota(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert usable_cpus(cgroup(tmp_path / "none", {})) == 4
    assert usable_cpus(cgroup(tmp_path / "v2", {"cpu.max": "150000 100000"})) == 2
    assert usable_cpus(cgroup(tmp_path / "tiny", {"cpu.max": "10000 100000"})) == 1
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {3})  # taskset -c 3
    assert usable_cpus(cgroup(tmp_path / "none", {})) == 1


def test_threads_leave_one_cpu_and_are_shared_among_ranks_unless_set() -> None:
    assert threads_per_rank(cpus=2, world_size=1) == 1
    assert threads_per_rank(cpus=16, world_size=1) == 15
    assert threads_per_rank(cpus=16, world_size=2) == 7
    assert threads_per_rank(cpus=1, world_size=2) == 1
    assert threads_per_rank(cpus=4, world_size=2, setting=3) == 3


def test_use_threads_sets_torch(monkeypatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {4, 5})
    try:
        assert threads.use_threads(world_size=1) == 1 and torch.get_num_threads() == 1
        assert threads.use_threads(world_size=1, setting=2) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
