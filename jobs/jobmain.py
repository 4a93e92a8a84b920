"""The thin ``main`` shared by every Spark job: ``spark-submit jobs/<job>.py --ds YYYY-MM-DD``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date

from pyspark.sql import SparkSession

from jobs.catalog import register_tables
from jobs.delta_io import record_runs
from jobs.spark import build_session
from jobs.submit import ERROR_MARK
from warehouse.settings import Settings


@contextmanager
def one_line_errors(what: str) -> Iterator[None]:
    """Print one line '<ERROR_MARK> <what> failed: <error>' (what the CLI and Airflow logs show
    first), then let the exception end the process with its traceback."""
    try:
        yield
    except Exception as exc:
        print(f"{ERROR_MARK} {what} failed: {error_summary(exc)}", flush=True)
        raise


def error_summary(exc: BaseException) -> str:
    """'<type>: <first line of its message>'. For an error the JVM raised through py4j, the JVM
    exception's (py4j's own says only 'An error occurred while calling o1604.save.'), then its
    root cause, which says what went wrong below Spark: 'Task failed while writing rows ...
    (cause: IOException: No space left on device)'."""
    summary = first_line(type(exc).__name__, str(exc))
    java = getattr(exc, "java_exception", None)
    if java is not None:
        with suppress(Exception):  # the JVM is gone: py4j's message is all there is
            summary = java_summary(java)
            root = java
            while root.getCause() is not None:
                root = root.getCause()
            if not root.equals(java):
                summary += f" (cause: {java_summary(root)})"
    return summary


def java_summary(throwable) -> str:
    return first_line(throwable.getClass().getSimpleName(), str(throwable.getMessage() or ""))


def first_line(name: str, message: str) -> str:
    lines = message.strip().splitlines()
    return f"{name}: {lines[0] if lines else ''}"


JobRun = Callable[[SparkSession, Settings, date], dict[str, int]]


def job_main(name: str, run: JobRun, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=name, description=f"Run the {name} job for one day.")
    parser.add_argument("--ds", required=True, type=date.fromisoformat, help="logical day")
    args = parser.parse_args(argv)
    settings = Settings()
    spark = build_session(f"interest-{name}-{args.ds}", settings)
    try:
        with one_line_errors(f"{name} {args.ds}"):
            register_tables(spark, settings, sync_comments=True)
            counts = run(spark, settings, args.ds)
            record_runs(spark, settings, {name: {args.ds: counts}})
    finally:
        spark.stop()
    print(json.dumps({"job": name, "ds": args.ds.isoformat(), "counts": counts}))
