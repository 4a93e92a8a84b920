"""The ETL steps in order, for one day or a range of days, in ONE Spark session.

``spark-submit jobs/pipeline.py --from 2026-01-01 --to 2026-01-07 [--steps ingest,graph]``. The
Airflow DAG runs the same steps one task each; this entry point is for the CLI, backfills by
hand and benchmarks, where a JVM start per step and day would dominate.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

from pyspark.sql import SparkSession

from jobs import examples, graph, ids, ingest, sessionize
from jobs.config import Settings
from jobs.jobmain import JobRun, one_line_errors
from jobs.spark import build_session
from jobs.tables import register_tables

STEPS: dict[str, JobRun] = {
    "ingest": ingest.run,
    "sessionize": sessionize.run,
    "ids": ids.run,
    "graph": graph.run,
    "examples": examples.run,
}


def days(first: date, last: date) -> Iterator[date]:
    if last < first:
        raise ValueError(f"empty range: {first} is after {last}")
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def parse_steps(text: str | None) -> list[str]:
    if not text:
        return list(STEPS)
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; steps are {', '.join(STEPS)}")
    return [n for n in STEPS if n in names]  # always in pipeline order


def run_days(
    spark: SparkSession, settings: Settings, first: date, last: date, steps: list[str]
) -> Iterator[dict]:
    """Runs the steps day by day; yields one record per (day, step) with counts and seconds."""
    for ds in days(first, last):
        for step in steps:
            started = time.perf_counter()
            counts = STEPS[step](spark, settings, ds)
            yield {
                "ds": ds.isoformat(),
                "step": step,
                "counts": counts,
                "seconds": round(time.perf_counter() - started, 3),
            }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat)
    parser.add_argument("--to", dest="last", type=date.fromisoformat)
    parser.add_argument("--steps", help=f"comma-separated subset of {','.join(STEPS)}")
    args = parser.parse_args(argv)
    settings = Settings()
    steps = parse_steps(args.steps)
    spark = build_session("interest-pipeline", settings)
    try:
        register_tables(spark, settings)
        with one_line_errors("pipeline"):
            for record in run_days(spark, settings, args.first, args.last or args.first, steps):
                print(json.dumps(record), flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
