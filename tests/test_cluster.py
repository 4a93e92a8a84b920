"""The nightly ETL on a real Spark standalone cluster (a master and two workers on 127.0.0.1,
started as a team would on its hosts) equals the same days run on local[2], row by row; the
workers' own logs show they ran its tasks and received the job package."""

import os
import socket
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import assert_same_rows, register, snapshot

from jobs import standalone
from jobs.pipeline import run_days
from jobs.synthetic import SyntheticSpec, generate
from warehouse.settings import Settings
from warehouse.steps import parse_steps

pytestmark = [pytest.mark.spark, pytest.mark.slow]
SPEC = SyntheticSpec(start=date(2026, 6, 1), days=2, events_per_day=400, users=40, items=50,
                     clusters=4, bad_fraction=0.03, seed=8)  # fmt: skip
LAST = SPEC.start + timedelta(days=SPEC.days - 1)
INTEREST = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[1] / ".venv")) / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((standalone.HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    cluster = standalone.up(tmp_path / "cluster", workers=2, cores=1, memory="1g",
                            port=free_port(), webui_port=free_port())  # fmt: skip
    yield cluster
    standalone.down(cluster.folder)


def test_cluster_up_refuses_a_second_one_and_down_stops_it(tmp_path) -> None:
    folder = tmp_path / "cluster"
    cluster = standalone.up(folder, 1, 1, "512m", free_port(), free_port())
    try:
        state = standalone.master_state(cluster)
        assert state["status"] == "ALIVE" and state["aliveworkers"] == 1
        with pytest.raises(RuntimeError, match="already recorded"):
            standalone.up(folder, 1, 1, "512m", free_port(), free_port())
    finally:
        assert standalone.down(folder)
    assert standalone.alive_workers(cluster) == 0  # the master is gone
    assert not standalone.down(folder)


def test_etl_on_a_standalone_cluster_equals_local(spark, make_warehouse, cluster, tmp_path):
    local = make_warehouse(home=tmp_path / "local")
    list(generate(SPEC, local.raw_dir))
    list(run_days(spark, local, SPEC.start, LAST, parse_steps(None)))
    expected = snapshot(spark)

    home = tmp_path / "on-cluster"
    list(generate(SPEC, Settings(home=home).raw_dir))
    env = {**os.environ, "INTEREST_HOME": str(home), "INTEREST_SPARK_MASTER": cluster.master_url}
    command = [str(INTEREST / "interest"), "etl", "--from", str(SPEC.start), "--to", str(LAST)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]

    register(spark, Settings(home=home, spark_shuffle_partitions=1))
    assert_same_rows(expected, snapshot(spark))
    for worker in (1, 2):
        logs = standalone.executor_logs(cluster, worker)
        assert any("Running task" in log.read_text() for log in logs), f"worker {worker}"
        shipped = list(cluster.work_dir(worker).glob("app-*/*/interest-jobs-*.zip"))
        assert shipped, f"worker {worker} got no job package"
