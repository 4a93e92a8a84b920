"""sessionize: bronze.events of one ds -> silver.sessions.

A session is a user's run of events with no gap longer than ``session_gap_minutes``, split every
``max_session_events`` events. Midnight rule: a day's sessions are built from that day's events
only, so a session never spans two partitions and a backfill of one day never rewrites another.
A session that starts within the gap after the user's last event of ds - 1 is flagged
``continues_previous_day``; the examples job reads sequences across session and day boundaries,
so the model still sees the continuity.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.delta_io import overwrite_day, read_day, record_run
from jobs.jobmain import job_main
from jobs.tables import BRONZE_EVENTS, SILVER_SESSIONS


def sessionize(
    events: DataFrame, previous_last_ts: DataFrame, gap_minutes: int, max_events: int, ds: date
) -> DataFrame:
    """Sessions of ``events`` (one day). ``previous_last_ts``: (user_id, last_ts) of ds - 1."""
    by_time = Window.partitionBy("user_id").orderBy("ts", "event_id")
    gap = F.col("ts").cast("double") - F.lag("ts").over(by_time).cast("double")
    starts_gap_session = F.coalesce(gap > gap_minutes * 60, F.lit(True))
    numbered = events.withColumn(
        "_gap_session", F.sum(starts_gap_session.cast("int")).over(by_time)
    )
    in_gap_session = Window.partitionBy("user_id", "_gap_session").orderBy("ts", "event_id")
    numbered = numbered.withColumn(
        "_part", F.floor((F.row_number().over(in_gap_session) - 1) / max_events)
    )
    event = F.struct("ts", "event_id", "item_id", "event_type", "weight")
    sessions = numbered.groupBy("user_id", "_gap_session", "_part").agg(
        F.array_sort(F.collect_list(event)).alias("ev")
    )
    first_ts = F.col("ev")[0]["ts"]
    previous = previous_last_ts.select("user_id", F.col("last_ts").alias("_prev_ts"))
    continues = (first_ts.cast("double") - F.col("_prev_ts").cast("double")) <= gap_minutes * 60
    return sessions.join(previous, "user_id", "left").select(
        F.sha2(F.concat_ws("|", "user_id", F.col("ev")[0]["event_id"]), 256).alias("session_id"),
        "user_id",
        first_ts.alias("session_start"),
        F.element_at("ev", -1)["ts"].alias("session_end"),
        F.size("ev").alias("n_events"),
        F.col("ev.item_id").alias("item_ids"),
        F.col("ev.event_type").alias("event_types"),
        F.col("ev.weight").alias("weights"),
        F.col("ev.ts").alias("event_ts"),
        F.coalesce(continues, F.lit(False)).alias("continues_previous_day"),
        F.lit(ds).alias("ds"),
    )


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    events = spark.table(BRONZE_EVENTS)
    today = events.where(F.col("ds") == F.lit(ds))
    previous = (
        events.where(F.col("ds") == F.lit(ds - timedelta(days=1)))
        .groupBy("user_id")
        .agg(F.max("ts").alias("last_ts"))
    )
    sessions = sessionize(
        today, previous, settings.session_gap_minutes, settings.max_session_events, ds
    )
    overwrite_day(sessions, SILVER_SESSIONS, ds, settings)
    written = read_day(spark, SILVER_SESSIONS, ds)
    stats = written.agg(
        F.count("*").alias("sessions"),
        F.coalesce(F.sum("n_events"), F.lit(0)).alias("events"),
        F.coalesce(F.sum(F.col("continues_previous_day").cast("int")), F.lit(0)).alias("continued"),
    ).first()
    counts = {
        "events": int(today.count()),
        "sessions": int(stats["sessions"]),
        "session_events": int(stats["events"]),
        "continues_previous_day": int(stats["continued"]),
    }
    if counts["events"] != counts["session_events"]:
        raise RuntimeError(f"sessionize lost events: {counts}")
    record_run(spark, settings, "sessionize", ds, counts)
    return counts


if __name__ == "__main__":
    job_main("sessionize", run)
