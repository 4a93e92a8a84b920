"""examples: one training example per event of the ds -> gold.training_examples.

Input of an example: the L events before it, across session and day boundaries (left-padded with
0), with each position's event type, log-hours before the target and a new-session flag, so the
model can learn how far back "now" reaches. History comes from silver.user_recent (each user's
last L events as of the previous processed day), which this job also carries forward: a night
reads a bounded state, never the whole history.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.delta_io import overwrite_day, read_day, record_run
from jobs.jobmain import job_main
from jobs.tables import (
    GOLD_EXAMPLES,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_USER_RECENT,
)


def event_type_codes(event_weights: dict[str, float]) -> dict[str, int]:
    """Event type -> code (1 + index in sorted order; 0 is padding)."""
    return {t: i + 1 for i, t in enumerate(sorted(event_weights))}


def day_events(
    sessions: DataFrame, user_ids: DataFrame, item_ids: DataFrame, type_codes: dict[str, int]
) -> DataFrame:
    """The day's events as rows (user_idx, ts, item_idx, type, new_session, ord, is_target)."""
    codes = F.create_map(*[x for t, c in type_codes.items() for x in (F.lit(t), F.lit(c))])
    exploded = sessions.select(
        "user_id",
        "session_id",
        F.posexplode(F.arrays_zip("item_ids", "event_types", "event_ts")).alias("pos", "e"),
    )
    return (
        exploded.join(user_ids.select("user_id", "user_idx"), "user_id")
        .join(
            item_ids.select(F.col("item_id").alias("_item"), "item_idx"),
            F.col("e.item_ids") == F.col("_item"),
        )
        .select(
            "user_idx",
            F.unix_seconds(F.col("e.event_ts")).alias("ts"),
            "item_idx",
            codes[F.col("e.event_types")].alias("type"),
            (F.col("pos") == 0).cast("int").alias("new_session"),
            F.concat_ws(":", "session_id", F.lpad(F.col("pos").cast("string"), 5, "0")).alias(
                "ord"
            ),
            F.lit(True).alias("is_target"),
        )
    )


def history_events(recent: DataFrame) -> DataFrame:
    """silver.user_recent rows exploded back to events (never targets)."""
    return recent.select(
        "user_idx",
        F.posexplode(F.arrays_zip("item_seq", "type_seq", "ts_seq", "new_session_seq")).alias(
            "pos", "e"
        ),
    ).select(
        "user_idx",
        F.col("e.ts_seq").alias("ts"),
        F.col("e.item_seq").alias("item_idx"),
        F.col("e.type_seq").alias("type"),
        F.col("e.new_session_seq").alias("new_session"),
        F.lpad(F.col("pos").cast("string"), 5, "0").alias("ord"),
        F.lit(False).alias("is_target"),
    )


def _left_pad(values: Column, length: int, pad: Column) -> Column:
    return F.concat(F.array_repeat(pad, length - F.size(values)), values)


def build_examples(events: DataFrame, length: int, ds: date) -> DataFrame:
    """For each target event, the ``length`` events before it in (ts, history first, ord) order."""
    order = Window.partitionBy("user_idx").orderBy("ts", F.col("is_target").asc(), "ord")
    before = order.rowsBetween(-length, -1)
    with_history = events.withColumn(
        "_h", F.collect_list(F.struct("item_idx", "type", "ts", "new_session")).over(before)
    ).where("is_target")
    gap_hours = F.transform(
        "_h.ts", lambda t: F.log1p(F.greatest(F.col("ts") - t, F.lit(0)) / 3600.0).cast("float")
    )
    return with_history.select(
        "user_idx",
        _left_pad(F.col("_h.item_idx"), length, F.lit(0)).alias("item_seq"),
        _left_pad(F.col("_h.type"), length, F.lit(0)).alias("type_seq"),
        _left_pad(gap_hours, length, F.lit(0.0).cast("float")).alias("gap_seq"),
        _left_pad(F.col("_h.new_session"), length, F.lit(0)).alias("new_session_seq"),
        F.size("_h").alias("seq_len"),
        F.col("item_idx").alias("target_item_idx"),
        F.col("type").alias("target_type"),
        F.col("ts").alias("target_ts"),
        F.lit(ds).alias("ds"),
    )


def carry_recent(events: DataFrame, length: int, ds: date) -> DataFrame:
    """Each user's last ``length`` events after the day, oldest first."""
    newest_first = Window.partitionBy("user_idx").orderBy(
        F.desc("ts"), F.desc("is_target"), F.desc("ord")
    )
    last = events.withColumn("_r", F.row_number().over(newest_first)).where(F.col("_r") <= length)
    grouped = last.groupBy("user_idx").agg(
        F.array_sort(
            F.collect_list(
                F.struct((-F.col("_r")).alias("k"), "item_idx", "type", "ts", "new_session")
            )
        ).alias("_e")
    )
    return grouped.select(
        "user_idx",
        F.col("_e.item_idx").alias("item_seq"),
        F.col("_e.type").alias("type_seq"),
        F.col("_e.ts").alias("ts_seq"),
        F.col("_e.new_session").alias("new_session_seq"),
        F.lit(ds).alias("ds"),
    )


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    recent = spark.table(SILVER_USER_RECENT)
    previous_ds = recent.where(F.col("ds") < F.lit(ds)).agg(F.max("ds")).first()[0]
    history = history_events(recent.where(F.col("ds") == F.lit(previous_ds)))
    today = day_events(
        read_day(spark, SILVER_SESSIONS, ds),
        spark.table(SILVER_USER_IDS),
        spark.table(SILVER_ITEM_IDS),
        event_type_codes(settings.event_weights),
    )
    events = today.unionByName(history).localCheckpoint()
    length = settings.sequence_length
    overwrite_day(build_examples(events, length, ds), GOLD_EXAMPLES, ds, settings)
    overwrite_day(carry_recent(events, length, ds), SILVER_USER_RECENT, ds, settings)
    counts = {
        "day_events": today.count(),
        "examples": read_day(spark, GOLD_EXAMPLES, ds).count(),
        "users_in_state": read_day(spark, SILVER_USER_RECENT, ds).count(),
    }
    if counts["examples"] != counts["day_events"]:
        raise RuntimeError(f"examples do not match the day's events: {counts}")
    record_run(spark, settings, "examples", ds, counts)
    return counts


if __name__ == "__main__":
    job_main("examples", run)
