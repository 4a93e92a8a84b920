"""Writes scoped to one run's days (one ``ds`` or a range), so that reruns and backfills replace
instead of appending."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from warehouse.settings import Settings
from warehouse.tables import OPS_JOB_RUNS


def days_predicate(days: Sequence[date]) -> str:
    """SQL predicate on ``ds`` selecting exactly ``days`` (sorted, non-empty)."""
    if len(days) == 1:
        return f"ds = DATE'{days[0].isoformat()}'"
    if (days[-1] - days[0]).days + 1 == len(days):  # contiguous
        # not BETWEEN: Spark 4 rewrites it into an expression Delta's replaceWhere can't resolve
        return f"ds >= DATE'{days[0].isoformat()}' AND ds <= DATE'{days[-1].isoformat()}'"
    return "ds IN (" + ", ".join(f"DATE'{d.isoformat()}'" for d in days) + ")"


def previous_days(days: Sequence[date]) -> list[date]:
    """The days right before ``days`` that are not themselves among them (what a run of
    ``days`` reads from earlier runs: the day before its first day, and before each gap)."""
    chosen = set(days)
    return sorted({d - timedelta(days=1) for d in days} - chosen)


def replace_where(
    df: DataFrame, name: str, where: str, settings: Settings, observe: Sequence[Column] = ()
) -> dict[str, int]:
    """Replace the table's rows matching ``where`` with ``df`` in one Delta commit; returns the
    ``observe`` aggregates over the rows written (see ``overwrite_days``)."""
    return _overwrite(df, name, settings, {"replaceWhere": where}, observe)


def overwrite_table(df: DataFrame, name: str, settings: Settings) -> int:
    """Replace the whole table with ``df`` in one Delta commit (``df`` may read the table: the
    commit replaces the version it read); returns the rows written."""
    return _overwrite(df, name, settings, {}, [F.count(F.lit(1)).alias("rows")])["rows"]


def _overwrite(
    df: DataFrame,
    name: str,
    settings: Settings,
    options: Mapping[str, str],
    observe: Sequence[Column],
) -> dict[str, int]:
    out = df.select(*df.sparkSession.table(name).columns)
    observation = Observation(f"written to {name}") if observe else None
    if observation:
        out = out.observe(observation, *observe)
    writer = out.write.format("delta").mode("overwrite").options(**options)
    writer.save(settings.table_path(name).as_posix())
    return {k: int(v or 0) for k, v in observation.get.items()} if observation else {}


def overwrite_days(
    df: DataFrame,
    name: str,
    days: Sequence[date],
    settings: Settings,
    sums: Mapping[str, Column] | None = None,
) -> dict[date, dict[str, int]]:
    """Replace the table's partitions of ``days`` with ``df`` in one Delta commit; returns, per
    day, the rows written (``rows``) and the ``sums`` over them.

    The figures are Spark's observed metrics of the write itself, taken in its last stage as
    the rows go to the files: no second pass, no read-back (which costs a new snapshot and a
    scan per table), and a stage retried by Spark still counts each row once.
    """
    if len(days) > 1:
        df = df.repartition("ds")  # one file per day, not one per task and day
    observed = replace_where(
        df, name, days_predicate(days), settings, observe=day_totals(days, sums or {})
    )
    return {d: {k: observed[f"{k}@{d.isoformat()}"] for k in ("rows", *(sums or {}))} for d in days}


def day_totals(days: Sequence[date], sums: Mapping[str, Column]) -> list[Column]:
    """Aggregates named ``<figure>@<day>``: the rows of each day, and each of ``sums``."""
    out = []
    for d in days:
        on_day = F.col("ds") == F.lit(d)
        out.append(F.count_if(on_day).alias(f"rows@{d.isoformat()}"))
        out += [F.sum(F.when(on_day, e)).alias(f"{k}@{d.isoformat()}") for k, e in sums.items()]
    return out


def overwrite_day(df: DataFrame, name: str, ds: date, settings: Settings) -> None:
    """Replace the table's ``ds`` partition with ``df`` in one Delta commit."""
    overwrite_days(df, name, [ds], settings)


def delta_table(spark: SparkSession, name: str, settings: Settings) -> DeltaTable:
    return DeltaTable.forPath(spark, settings.table_path(name).as_posix())


def latest_version(spark: SparkSession, settings: Settings, table: str) -> int:
    return int(delta_table(spark, table, settings).history(1).first()["version"])


JobRuns = Mapping[str, Mapping[date, Mapping[str, int]]]  # job -> ds -> row counts


def record_runs(spark: SparkSession, settings: Settings, runs: JobRuns) -> None:
    """Replace the (job, ds) rows of ops.job_runs with each job's row counts per day, in ONE
    commit (a Delta write costs seconds on small data, whatever its size)."""
    finished = datetime.now(UTC)
    rows = spark.createDataFrame(
        [
            (job, ds, {k: int(v) for k, v in counts.items()}, finished)
            for job, per_day in runs.items()
            for ds, counts in per_day.items()
        ],
        "job string, ds date, counts map<string, bigint>, finished_at timestamp",
    )
    where = " OR ".join(
        f"(job = '{job}' AND {days_predicate(sorted(per_day))})" for job, per_day in runs.items()
    )
    (
        rows.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", where)
        .save(settings.table_path(OPS_JOB_RUNS).as_posix())
    )


def read_days(spark: SparkSession, name: str, days: Sequence[date]) -> DataFrame:
    """The partitions of ``days`` of a table (none when ``days`` is empty)."""
    table = spark.table(name)
    if not days:
        return table.where(F.lit(False))
    return table.where(F.col("ds").isin(list(days)))


def read_day(spark: SparkSession, name: str, ds: date) -> DataFrame:
    """One day's partition of a table."""
    return spark.table(name).where(F.col("ds") == F.lit(ds))


def count_by_day(df: DataFrame, days: Sequence[date]) -> dict[date, int]:
    """Rows per ``ds``, with 0 for the days that have none."""
    found = {r["ds"]: int(r["count"]) for r in df.groupBy("ds").count().collect()}
    return {d: found.get(d, 0) for d in days}


@contextmanager
def commit_metadata(spark: SparkSession, text: str) -> Iterator[None]:
    """Delta commits made inside carry ``text`` as their userMetadata (DESCRIBE HISTORY)."""
    key = "spark.databricks.delta.commitInfo.userMetadata"
    spark.conf.set(key, text)
    try:
        yield
    finally:
        spark.conf.unset(key)
