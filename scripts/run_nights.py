"""Runs the nightly DAG for each day from FIRST to LAST, in order: real DAG runs recorded in
Airflow's metadata database (``dag.test()``, what ``airflow dags test`` runs), with the DAG parsed
once for all nights. Prints a line per night (state, seconds, each task's seconds) and exits 1 at
the first night that does not succeed. Needs the environment of scripts/airflow_env.sh.

Ctrl-C (or SIGTERM) stops the night: the processes its task started (Airflow runs a task's
command in a session of its own, out of reach of the terminal's Ctrl-C) and ``dag.test()``, which
would otherwise record the interrupt as the task's failure and retry it after its retry delay.
The night's DAG run is marked failed and the script exits 130.

    .venv/bin/python scripts/run_nights.py 2026-01-01 2026-01-07
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from datetime import date, timedelta

import pendulum
import psutil
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.sdk import timezone
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState

DAG_ID = "user_interest_nightly"
INTERRUPTED = 130


def stop_children(grace_s: float = 10.0) -> None:
    """Terminates every process this one started (then kills what outlived ``grace_s``)."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


caught = threading.Event()


def keep_interrupting() -> None:
    # Inside a task, Airflow records an interrupt as the task's failure and dag.test() goes on
    # (to retry it): interrupt again until one lands in dag.test()'s own loop. Not SIGALRM:
    # Airflow's execution_timeout uses it.
    while not caught.wait(2):
        os.kill(os.getpid(), signal.SIGUSR1)


def on_stop_signal(signum, frame) -> None:
    stop_children()
    threading.Thread(target=keep_interrupting, daemon=True).start()
    raise KeyboardInterrupt


def fail_running_runs() -> None:
    with create_session() as session:
        for run in session.query(DagRun).filter_by(dag_id=DAG_ID, state=DagRunState.RUNNING):
            run.set_state(DagRunState.FAILED)


def run_night(dag, day: date) -> DagRun:
    """One real DAG run for ``day`` (``dag.test()``), dated when it ran: dag.test() records a
    run's start at its logical date, which the UI showed as a run of ~330 days."""
    began = timezone.utcnow()
    run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"))
    with create_session() as session:
        session.query(DagRun).filter_by(id=run.id).update({DagRun.start_date: began})
    run.start_date = began
    return run


def main(first: date, last: date) -> int:
    bag = DagBag()
    if bag.import_errors:
        print(f"night: DAG import errors: {bag.import_errors}", flush=True)
        return 1
    dag = bag.get_dag(DAG_ID)
    day = first
    while day <= last:
        started = time.monotonic()
        try:
            run = run_night(dag, day)
        except KeyboardInterrupt:
            caught.set()
            for stop in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C: let the cleanup end
                signal.signal(stop, signal.SIG_IGN)
            stop_children()
            fail_running_runs()
            print(f"night {day}: interrupted; its DAG run is marked failed", flush=True)
            return INTERRUPTED
        ran = sorted(run.get_task_instances(), key=lambda ti: ti.start_date or run.start_date)
        tasks = ", ".join(f"{ti.task_id} {ti.state} {ti.duration or 0:.0f} s" for ti in ran)
        took = time.monotonic() - started
        print(f"night {day}: {run.state} in {took:.0f} s ({tasks})", flush=True)
        if run.state != "success":
            return 1
        day += timedelta(days=1)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, signal.default_int_handler)  # raises KeyboardInterrupt
    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    sys.exit(main(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])))
