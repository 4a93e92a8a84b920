"""scripts/run_nights.py (the demo's nights) stops on Ctrl-C: Airflow would record the interrupt
as the task's failure and retry it, and the task's own processes run in sessions of their own."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import DAG_DAYS, airflow_env, migrate_airflow, new_database

from jobs.synthetic import SyntheticSpec, generate
from warehouse import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def spark_submit_under(pid: int) -> list[psutil.Process]:
    """The Spark JVMs among the descendants of ``pid``."""
    found = []
    for process in psutil.Process(pid).children(recursive=True):
        try:
            if "org.apache.spark.deploy.SparkSubmit" in process.cmdline():
                found.append(process)
        except psutil.Error:  # a process that just ended
            pass
    return found


def test_ctrl_c_stops_the_night_and_its_processes_and_fails_its_run(
    tmp_path: Path, postgres
) -> None:
    day = DAG_DAYS[0]
    database = new_database(postgres, "run_nights")
    env = {
        **os.environ,
        **airflow_env(tmp_path / "airflow", database),
        "INTEREST_HOME": str(tmp_path),
    }
    (tmp_path / "airflow").mkdir()
    migrate_airflow(env)
    spec = SyntheticSpec(start=day, days=1, events_per_day=300, users=40, items=30, clusters=3)
    list(generate(spec, tmp_path / "raw"))

    # in a process group of its own, as a terminal runs it: Ctrl-C signals the whole group
    night = subprocess.Popen(
        [sys.executable, "scripts/run_nights.py", day.isoformat(), day.isoformat()],
        cwd=REPO_ROOT, env=env, start_new_session=True, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (jvms := spark_submit_under(night.pid)):
            assert night.poll() is None and time.monotonic() < deadline, "no Spark step started"
            time.sleep(0.5)
        task_processes = psutil.Process(night.pid).children(recursive=True)
        os.killpg(night.pid, signal.SIGINT)
        output, _ = night.communicate(timeout=120)
    finally:
        if night.poll() is None:
            os.killpg(night.pid, signal.SIGKILL)

    assert night.returncode == 130, output[-3000:]
    assert f"night {day}: interrupted; its DAG run is marked failed" in output
    assert jvms and not [p for p in task_processes if p.is_running() and p.status() != "zombie"]
    listed = subprocess.run(
        [Path(sys.executable).parent / "airflow", "dags", "list-runs", "user_interest_nightly",
         "--output", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    runs = json.loads(listed.stdout.splitlines()[-1])  # a warning may come first
    assert [run["state"] for run in runs] == ["failed"]
