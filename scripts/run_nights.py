"""Runs the nightly DAG for each day from FIRST to LAST, in order: real DAG runs recorded in
Airflow's metadata database (``dag.test()``, what ``airflow dags test`` runs), with the DAG parsed
once for all nights. Prints a line per night (state, seconds, each task's seconds) and exits 1 at
the first night that does not succeed. Needs the environment of scripts/airflow_env.sh.

    .venv/bin/python scripts/run_nights.py 2026-01-01 2026-01-07
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta

import pendulum
from airflow.dag_processing.dagbag import DagBag

DAG_ID = "user_interest_nightly"


def main(first: date, last: date) -> int:
    bag = DagBag()
    if bag.import_errors:
        print(f"night: DAG import errors: {bag.import_errors}", flush=True)
        return 1
    dag = bag.get_dag(DAG_ID)
    day = first
    while day <= last:
        started = time.monotonic()
        run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"))
        ran = sorted(run.get_task_instances(), key=lambda ti: ti.start_date or run.start_date)
        tasks = ", ".join(f"{ti.task_id} {ti.state} {ti.duration or 0:.0f} s" for ti in ran)
        took = time.monotonic() - started
        print(f"night {day}: {run.state} in {took:.0f} s ({tasks})", flush=True)
        if run.state != "success":
            return 1
        day += timedelta(days=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])))
