"""The thin ``main`` shared by every Spark job: ``spark-submit jobs/<job>.py --ds YYYY-MM-DD``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date

from pyspark.sql import SparkSession

from jobs.config import Settings
from jobs.spark import build_session
from jobs.tables import register_tables

JobRun = Callable[[SparkSession, Settings, date], dict[str, int]]


def job_main(name: str, run: JobRun, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=name, description=f"Run the {name} job for one day.")
    parser.add_argument("--ds", required=True, type=date.fromisoformat, help="logical day")
    args = parser.parse_args(argv)
    settings = Settings()
    spark = build_session(f"interest-{name}-{args.ds}", settings)
    try:
        register_tables(spark, settings)
        run(spark, settings, args.ds)
    except Exception:  # one line for the operator's log, then a non-zero exit
        raise
    finally:
        spark.stop()
