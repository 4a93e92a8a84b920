"""The ETL steps in order, for one day or a range of days, in ONE Spark session.

``spark-submit jobs/pipeline.py --from 2026-01-01 --to 2026-01-07 [--steps ingest,graph]
[--bulk]``. The steps and their order are the registry's (warehouse/steps.py): step NAME is the
job module jobs/NAME.py, with ``run`` (one day) and ``run_range`` (bulk). The Airflow DAG runs
the same steps one task each; this entry point is for the CLI,
backfills by hand and benchmarks, where a JVM start per step and day would dominate.

Day by day (default), each step runs for each day, as the nightly DAG does. With ``--bulk``
(initial load of history), each step runs ONCE over the whole range, with one commit per table,
and writes what day by day writes (see each step's ``run_range``; the graph prunes once at the
end, and silver.user_recent keeps the last day's state only).

ops.job_runs gets the counts of all the steps of a day (or, with ``--bulk``, of the range) in
one commit, once they have all finished: one Delta write instead of one per step.

Days of a range whose raw folder holds no data (MovieLens has such gaps) are skipped in both
modes, as if the range had a hole there: no partition and no ops.job_runs row is written for
them. A single day with no raw data is an error (for a nightly run: the data has not landed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Iterator
from datetime import date

from pyspark.sql import SparkSession

from jobs import raw_input
from jobs.catalog import register_tables
from jobs.delta_io import record_runs
from jobs.jobmain import one_line_errors
from jobs.spark import build_session
from warehouse.days import days
from warehouse.settings import Settings
from warehouse.steps import etl_step_names, parse_steps

# The registry's ETL steps -> their job modules (each has run and run_range).
STEP_JOBS = {name: importlib.import_module(f"jobs.{name}") for name in etl_step_names()}


def days_to_run(settings: Settings, first: date, last: date) -> list[date]:
    """The days of the range that have raw data; none at all is an error."""
    present = raw_input.days_with_raw_data(settings, first, last)
    if present:
        return present
    if first == last:
        raise raw_input.no_raw_data(settings.raw_day_dir(first.isoformat()))
    raise raw_input.NoRawData(
        f"no raw data from {first} to {last}: no ds=... folder under {settings.raw_dir} "
        f"with a non-empty raw file ({raw_input.ACCEPTED})"
    )


def name_jobs(spark: SparkSession, step: str) -> None:
    """The Spark jobs started from now on belong to ``step``: the Spark UI and the event log
    group them by it (benchmarks/spark_phases.py reads it)."""
    spark.sparkContext.setLocalProperty("spark.jobGroup.id", step)


def skipped(day: date) -> dict:
    return {"ds": day.isoformat(), "step": "skip", "counts": {}, "seconds": 0.0,
            "skipped": "no raw data"}  # fmt: skip


def run_days(
    spark: SparkSession, settings: Settings, first: date, last: date, steps: list[str]
) -> Iterator[dict]:
    """Runs the steps day by day; yields one record per (day, step) with counts and seconds,
    and one 'skip' record per day without raw data."""
    present = set(days_to_run(settings, first, last))
    for ds in days(first, last):
        if ds not in present:
            yield skipped(ds)
            continue
        runs = {}
        for step in steps:
            started = time.perf_counter()
            name_jobs(spark, step)
            runs[step] = {ds: STEP_JOBS[step].run(spark, settings, ds)}
            yield {
                "ds": ds.isoformat(),
                "step": step,
                "counts": runs[step][ds],
                "seconds": round(time.perf_counter() - started, 3),
            }
        name_jobs(spark, "job_runs")
        record_runs(spark, settings, runs)


def run_bulk(
    spark: SparkSession, settings: Settings, first: date, last: date, steps: list[str]
) -> Iterator[dict]:
    """Runs each step once over the range; yields one 'skip' record per day without raw data,
    then one record per step with its seconds and its counts summed over the days (see
    ``range_summary``; each day's own counts are in ops.job_runs)."""
    present = days_to_run(settings, first, last)
    yield from (skipped(d) for d in days(first, last) if d not in set(present))
    runs = {}
    for step in steps:
        started = time.perf_counter()
        name_jobs(spark, step)
        runs[step] = STEP_JOBS[step].run_range(spark, settings, present)
        yield {
            "ds": f"{first.isoformat()}..{last.isoformat()}",
            "step": step,
            "days": len(present),
            "counts": range_summary(runs[step]),
            "seconds": round(time.perf_counter() - started, 3),
        }
    name_jobs(spark, "job_runs")
    record_runs(spark, settings, runs)


def range_summary(per_day: dict[date, dict[str, int]]) -> dict[str, int]:
    """A step's counts over several days: sums, except for levels (totals, table rows, users in
    state), which are the last day's."""
    out: dict[str, int] = {}
    for ds in sorted(per_day):
        for key, value in per_day[ds].items():
            level = key.startswith("total_") or key.endswith(".rows") or key == "users_in_state"
            out[key] = value if level else out.get(key, 0) + value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat)
    parser.add_argument("--to", dest="last", type=date.fromisoformat)
    parser.add_argument("--steps", help=f"comma-separated subset of {','.join(STEP_JOBS)}")
    parser.add_argument(
        "--bulk", action="store_true", help="run each step once over the whole range"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    steps = parse_steps(args.steps)
    runner = run_bulk if args.bulk else run_days
    spark = build_session("interest-pipeline", settings)
    try:
        with one_line_errors("pipeline"):
            register_tables(spark, settings, sync_comments=True)
            for record in runner(spark, settings, args.first, args.last or args.first, steps):
                print(json.dumps(record), flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
