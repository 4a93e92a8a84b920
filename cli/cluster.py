"""``interest cluster up|down|status``: a Spark standalone cluster on this machine
(jobs/standalone.py), to run the jobs on a real cluster manager (INTEREST_SPARK_MASTER)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, fail
from jobs import standalone
from warehouse import REPO_ROOT

app = typer.Typer(help="A Spark standalone cluster on 127.0.0.1 (master and workers).")

DirOpt = Annotated[
    Path, typer.Option("--dir", help="Where the daemons' logs, pids and work folders live.")
]
DEFAULT_DIR = REPO_ROOT / "var" / "spark-cluster"


@app.command()
def up(
    workers: Annotated[int, typer.Option(min=1, help="Worker daemons.")] = 2,
    cores: Annotated[int, typer.Option(min=1, help="Cores each worker offers.")] = 1,
    memory: Annotated[str, typer.Option(help="Memory each worker offers.")] = "2g",
    port: Annotated[int, typer.Option(help="The master's port.")] = 7077,
    webui_port: Annotated[int, typer.Option(help="The master's web UI port.")] = 8090,
    folder: DirOpt = DEFAULT_DIR,
) -> None:
    """Start a master and workers; waits until every worker has registered."""
    try:
        cluster = standalone.up(folder, workers, cores, memory, port, webui_port)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print(f"master {cluster.master_url} with {workers} workers, web UI "
                  f"http://{standalone.HOST}:{cluster.webui_port}")  # fmt: skip
    console.print(f"run jobs on it: export INTEREST_SPARK_MASTER={cluster.master_url}")


@app.command()
def down(folder: DirOpt = DEFAULT_DIR) -> None:
    """Stop the workers and the master."""
    console.print("stopped" if standalone.down(folder) else f"no cluster recorded in {folder}")


@app.command()
def status(folder: DirOpt = DEFAULT_DIR) -> None:
    """The master's URL, its workers and applications, as the master reports them."""
    cluster = standalone.load(folder)
    if cluster is None:
        raise fail(f"no cluster recorded in {folder}: run `interest cluster up`")
    try:
        state = standalone.master_state(cluster)
    except OSError as exc:
        raise fail(f"the master at {cluster.state_url} does not answer: {exc}") from None
    console.print(f"master {cluster.master_url}: {state['status']}")
    for worker in state["workers"]:
        console.print(
            f"  worker {worker['id']} {worker['state']}: {worker['cores']} cores "
            f"({worker['coresused']} used), {worker['memory']} MB"
        )
    for app_state in state["activeapps"]:
        console.print(f"  running {app_state['id']} {app_state['name']}")
