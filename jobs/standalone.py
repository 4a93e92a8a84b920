"""A Spark standalone cluster on this machine: a master and workers on 127.0.0.1, started from
the installed pyspark with its spark-daemon.sh (the pip package has no start-master.sh).

It is the same cluster manager a team runs on its own hosts, so a job that runs here against
``spark://127.0.0.1:<port>`` runs there by configuration only (INTEREST_SPARK_MASTER). Daemon
logs, pid files and the workers' folders (each executor's stdout/stderr and the files it was
sent) live under one folder; ``cluster.json`` there says what was started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from jobs.submit import spark_home

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Cluster:
    folder: Path
    port: int
    webui_port: int
    workers: int

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def state_url(self) -> str:
        return f"http://{HOST}:{self.webui_port}/json/"

    def work_dir(self, worker: int) -> Path:
        return self.folder / f"worker-{worker}"


def state_file(folder: Path) -> Path:
    return folder / "cluster.json"


def load(folder: Path) -> Cluster | None:
    """The cluster recorded in ``folder`` by :func:`up`, or None."""
    path = state_file(folder)
    if not path.is_file():
        return None
    return Cluster(folder=folder, **json.loads(path.read_text()))


def daemon_env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": spark_home(),
        "SPARK_LOG_DIR": str(folder / "logs"),
        "SPARK_PID_DIR": str(folder / "pids"),
        "SPARK_LOCAL_IP": HOST,
        # Executors that start Python workers use this venv's interpreter.
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }


def daemon(folder: Path, action: str, klass: str, instance: int, *args: str) -> None:
    script = Path(spark_home()) / "sbin" / "spark-daemon.sh"
    subprocess.run(
        ["bash", str(script), action, klass, str(instance), *args],
        env=daemon_env(folder), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def master_state(cluster: Cluster, timeout: float = 5.0) -> dict:
    """The master's own view (its web UI's JSON): workers, their state, cores and applications."""
    with urllib.request.urlopen(cluster.state_url, timeout=timeout) as response:
        return json.load(response)


def alive_workers(cluster: Cluster) -> int:
    try:
        return int(master_state(cluster).get("aliveworkers", 0))
    except OSError:  # the master's UI is not up yet
        return 0


def up(folder: Path, workers: int, cores: int, memory: str, port: int, webui_port: int,
       wait_s: float = 90.0) -> Cluster:  # fmt: skip
    """Starts a master and ``workers`` workers and waits until every worker has registered."""
    if load(folder) is not None:
        raise RuntimeError(f"a cluster is already recorded in {folder}: stop it first (down)")
    cluster = Cluster(folder=folder, port=port, webui_port=webui_port, workers=workers)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v for k, v in asdict(cluster).items() if k != "folder"}
    state_file(folder).write_text(json.dumps(state))
    daemon(folder, "start", MASTER_CLASS, 1,
           "--host", HOST, "--port", str(port), "--webui-port", str(webui_port))  # fmt: skip
    for n in range(1, workers + 1):
        work_dir = cluster.work_dir(n)
        work_dir.mkdir(exist_ok=True)
        daemon(folder, "start", WORKER_CLASS, n, "--host", HOST, "--cores", str(cores),
               "--memory", memory, "--work-dir", str(work_dir), "--webui-port", "0",
               cluster.master_url)  # fmt: skip
    deadline = time.monotonic() + wait_s
    while alive_workers(cluster) < workers:
        if time.monotonic() > deadline:
            down(folder)
            raise RuntimeError(
                f"the cluster did not come up within {wait_s:.0f} s: see {folder / 'logs'}"
            )
        time.sleep(0.5)
    return cluster


def down(folder: Path, wait_s: float = 60.0) -> bool:
    """Stops the workers and the master recorded in ``folder`` and waits until their processes
    have exited (spark-daemon.sh only signals them); False when none was recorded."""
    cluster = load(folder)
    if cluster is None:
        return False
    pids = [int(p.read_text()) for p in (folder / "pids").glob("*.pid")]
    for n in range(1, cluster.workers + 1):
        daemon(folder, "stop", WORKER_CLASS, n)
    daemon(folder, "stop", MASTER_CLASS, 1)
    _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)],
                                 timeout=wait_s)  # fmt: skip
    for process in alive:  # did not stop on SIGTERM in time
        process.kill()
    state_file(folder).unlink()
    return True


def executor_logs(cluster: Cluster, worker: int) -> list[Path]:
    """The stderr files of the executors a worker ran (one per application and executor)."""
    return sorted(cluster.work_dir(worker).glob("app-*/*/stderr"))
