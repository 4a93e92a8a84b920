"""graph: the long-term co-interaction graph, updated once per ds by Delta MERGE.

    weight(D) = weight(updated_ds) * 2^(-(D - updated_ds) / half_life_days) + contribution(D)

Decay is applied lazily: a row is only rewritten on the days its edge is touched (or pruned), and
``weight`` is stored as of ``updated_ds`` (the *_current views decay it to the latest day). So a
night costs what the day's events cost, not what the whole history costs. Edges whose decayed
weight falls below ``min_edge_weight`` are deleted, and each touched item keeps only its
``max_neighbours`` strongest co-occurrence neighbours, so the tables stay bounded.

Contributions: a user-item edge gains the event's weight; two items of one session within
``cooccurrence_window`` positions of each other gain 1 in both directions.

Reruns: each day's MERGE is one Delta commit tagged with its day (commit userMetadata), so the
table's own history says which day it holds. Rerunning the latest applied day first restores the
version before that commit, so the result is identical, even after a crash right after the
MERGE; applying a day earlier than the latest applied one is refused (it would need the later
days replayed). ops.graph_log records the versions around each day for analysts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.delta_io import delta_table, read_day, record_run
from jobs.jobmain import job_main
from jobs.tables import (
    BRONZE_EVENTS,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    OPS_GRAPH_LOG,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
)

AFFINITY_KEYS = ("user_idx", "item_idx")
COOCCURRENCE_KEYS = ("item_idx", "neighbour_idx")


class GraphOrderError(RuntimeError):
    """A day older than the latest day the graph absorbed."""


def decay_factor(days: Column | int, half_life_days: float) -> Column:
    return F.pow(F.lit(2.0), -F.lit(days).cast("double") / F.lit(half_life_days))


def decayed(weight: Column, updated_ds: Column, as_of: date, half_life_days: float) -> Column:
    """A stored weight decayed from its ``updated_ds`` to ``as_of``."""
    return weight * decay_factor(F.datediff(F.lit(as_of), updated_ds), half_life_days)


# ---- today's contributions (pure) ------------------------------------------------------------
def affinity_contributions(
    events: DataFrame, user_ids: DataFrame, item_ids: DataFrame
) -> DataFrame:
    """(user_idx, item_idx, weight, count, last_ts) summed over the day's events."""
    return (
        events.join(user_ids.select("user_id", "user_idx"), "user_id")
        .join(item_ids.select("item_id", "item_idx"), "item_id")
        .groupBy(*AFFINITY_KEYS)
        .agg(
            F.sum("weight").alias("weight"),
            F.count("*").cast("long").alias("count"),
            F.max("ts").alias("last_ts"),
        )
    )


def cooccurrence_contributions(sessions: DataFrame, item_ids: DataFrame, window: int) -> DataFrame:
    """(item_idx, neighbour_idx, weight, count): +1 per ordered pair of distinct items at most
    ``window`` positions apart in a session."""
    items = sessions.select("session_id", F.posexplode("item_ids").alias("pos", "item_id")).join(
        item_ids.select("item_id", "item_idx"), "item_id"
    )
    a, b = items.alias("a"), items.alias("b")
    pairs = a.join(
        b,
        (F.col("a.session_id") == F.col("b.session_id"))
        & (F.abs(F.col("a.pos") - F.col("b.pos")).between(1, window))
        & (F.col("a.item_idx") != F.col("b.item_idx")),
    )
    return pairs.groupBy(
        F.col("a.item_idx").alias("item_idx"), F.col("b.item_idx").alias("neighbour_idx")
    ).agg(F.count("*").cast("double").alias("weight"), F.count("*").cast("long").alias("count"))


def capped_updates(
    current: DataFrame,
    contributions: DataFrame,
    ds: date,
    half_life_days: float,
    max_neighbours: int,
) -> DataFrame:
    """New rows of the touched items' neighbourhoods after today's update, with ``_keep`` saying
    whether each edge is among the item's ``max_neighbours`` strongest.

    ``current`` holds the existing edges of the touched items (the others are not read).
    """
    old = current.select(
        *COOCCURRENCE_KEYS,
        decayed(F.col("weight"), F.col("updated_ds"), ds, half_life_days).alias("_old_w"),
        F.col("count").alias("_old_c"),
    )
    new = contributions.select(
        *COOCCURRENCE_KEYS, F.col("weight").alias("_new_w"), F.col("count").alias("_new_c")
    )
    merged = old.join(new, list(COOCCURRENCE_KEYS), "full_outer").select(
        *COOCCURRENCE_KEYS,
        (F.coalesce("_old_w", F.lit(0.0)) + F.coalesce("_new_w", F.lit(0.0))).alias("weight"),
        (F.coalesce("_old_c", F.lit(0)) + F.coalesce("_new_c", F.lit(0)))
        .cast("long")
        .alias("count"),
        F.lit(ds).alias("updated_ds"),
    )
    strongest = Window.partitionBy("item_idx").orderBy(F.desc("weight"), "neighbour_idx")
    return merged.withColumn("_keep", F.row_number().over(strongest) <= max_neighbours)


# ---- MERGE ------------------------------------------------------------------------------------
def merge_affinity(
    spark: SparkSession, settings: Settings, contributions: DataFrame, ds: date
) -> None:
    h = settings.half_life_days
    old_w = decayed(F.col("t.weight"), F.col("t.updated_ds"), ds, h)
    (
        delta_table(spark, GOLD_AFFINITY, settings)
        .alias("t")
        .merge(contributions.alias("s"), "t.user_idx = s.user_idx AND t.item_idx = s.item_idx")
        .whenMatchedUpdate(
            set={
                "weight": old_w + F.col("s.weight"),
                "count": F.col("t.count") + F.col("s.count"),
                "last_ts": F.greatest("t.last_ts", "s.last_ts"),
                "updated_ds": F.lit(ds),
            }
        )
        .whenNotMatchedInsert(
            values={
                "user_idx": "s.user_idx",
                "item_idx": "s.item_idx",
                "weight": "s.weight",
                "count": "s.count",
                "last_ts": "s.last_ts",
                "updated_ds": F.lit(ds),
            }
        )
        .whenNotMatchedBySourceDelete(condition=old_w < settings.min_edge_weight)
        .execute()
    )


def merge_cooccurrence(
    spark: SparkSession, settings: Settings, contributions: DataFrame, ds: date
) -> None:
    h = settings.half_life_days
    table = delta_table(spark, GOLD_COOCCURRENCE, settings)
    touched = contributions.select("item_idx").distinct()
    current = table.toDF().join(F.broadcast(touched), "item_idx")
    updates = capped_updates(current, contributions, ds, h, settings.max_neighbours)
    # Materialised: the source reads the target, which the MERGE is about to rewrite.
    updates = updates.localCheckpoint()
    old_w = decayed(F.col("t.weight"), F.col("t.updated_ds"), ds, h)
    (
        table.alias("t")
        .merge(updates.alias("s"), "t.item_idx = s.item_idx AND t.neighbour_idx = s.neighbour_idx")
        .whenMatchedDelete(condition="NOT s._keep")
        .whenMatchedUpdate(
            set={"weight": "s.weight", "count": "s.count", "updated_ds": "s.updated_ds"}
        )
        .whenNotMatchedInsert(
            condition="s._keep",
            values={c: f"s.{c}" for c in (*COOCCURRENCE_KEYS, "weight", "count", "updated_ds")},
        )
        .whenNotMatchedBySourceDelete(condition=old_w < settings.min_edge_weight)
        .execute()
    )


# ---- idempotence ----------------------------------------------------------------------------
COMMIT_MARK = "graph ds="


@contextmanager
def marked_commit(spark: SparkSession, ds: date) -> Iterator[None]:
    """Tag the Delta commit(s) made inside with the day they absorb: the table's own history then
    says which day it holds, even when the process dies right after the commit."""
    key = "spark.databricks.delta.commitInfo.userMetadata"
    spark.conf.set(key, f"{COMMIT_MARK}{ds.isoformat()}")
    try:
        yield
    finally:
        spark.conf.unset(key)


def last_absorbed(spark: SparkSession, settings: Settings, table: str) -> tuple[date, int] | None:
    """The latest day committed into the table and the version of that commit (None if none)."""
    history = delta_table(spark, table, settings).history()
    row = (
        history.where(F.col("userMetadata").startswith(COMMIT_MARK))
        .orderBy(F.desc("version"))
        .select("version", "userMetadata")
        .first()
    )
    if row is None:
        return None
    return date.fromisoformat(row["userMetadata"][len(COMMIT_MARK) :]), int(row["version"])


def prepare_for_day(spark: SparkSession, settings: Settings, table: str, ds: date) -> int:
    """Make the table ready to absorb ``ds``; returns the version it is applied on top of.

    Rerunning the latest absorbed day first restores the version before its commit (one MERGE
    is one commit), so a day is never counted twice, even after a crash anywhere in between.
    """
    last = last_absorbed(spark, settings, table)
    if last is None or ds > last[0]:
        return latest_version(spark, settings, table)
    if ds < last[0]:
        raise GraphOrderError(
            f"{table} already absorbed {last[0]}; applying {ds} now would count later days "
            f"before it. Rerun the days in order from the first day, or restore {table} to "
            "the version before that day (ops.graph_log) and rerun from there."
        )
    version_before = last[1] - 1
    delta_table(spark, table, settings).restoreToVersion(version_before)
    return version_before


def latest_version(spark: SparkSession, settings: Settings, table: str) -> int:
    return int(delta_table(spark, table, settings).history(1).first()["version"])


def log_day(
    spark: SparkSession, settings: Settings, table: str, ds: date, version_before: int
) -> None:
    row = spark.createDataFrame(
        [(table, ds, version_before, latest_version(spark, settings, table))],
        "table_name string, ds date, version_before bigint, version_after bigint",
    )
    (
        delta_table(spark, OPS_GRAPH_LOG, settings)
        .alias("t")
        .merge(row.alias("s"), "t.table_name = s.table_name AND t.ds = s.ds")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    events = read_day(spark, BRONZE_EVENTS, ds)
    sessions = read_day(spark, SILVER_SESSIONS, ds)
    user_ids, item_ids = spark.table(SILVER_USER_IDS), spark.table(SILVER_ITEM_IDS)
    steps = (
        (GOLD_AFFINITY, affinity_contributions(events, user_ids, item_ids), merge_affinity),
        (
            GOLD_COOCCURRENCE,
            cooccurrence_contributions(sessions, item_ids, settings.cooccurrence_window),
            merge_cooccurrence,
        ),
    )
    counts: dict[str, int] = {}
    for table, contributions, merge in steps:
        version_before = prepare_for_day(spark, settings, table, ds)
        contributions = contributions.localCheckpoint()
        with marked_commit(spark, ds):
            merge(spark, settings, contributions, ds)
        log_day(spark, settings, table, ds, version_before)
        short = table.split(".")[1]
        counts[f"{short}.touched"] = contributions.count()
        counts[f"{short}.rows"] = spark.table(table).count()
    record_run(spark, settings, "graph", ds, counts)
    return counts


if __name__ == "__main__":
    job_main("graph", run)
