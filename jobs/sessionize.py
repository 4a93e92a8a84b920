"""sessionize: bronze.events of one ds or a range of days -> silver.sessions.

A session is a user's run of events with no gap longer than ``session_gap_minutes``, split every
``max_session_events`` events. Midnight rule: a day's sessions are built from that day's events
only, so a session never spans two partitions and a backfill of one day never rewrites another.
A session that starts within the gap after the user's last event of ds - 1 is flagged
``continues_previous_day``; the examples job reads sequences across session and day boundaries,
so the model still sees the continuity. A range is sessionized day by day in one pass (every
window is per user and day), with one commit.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.delta_io import count_by_day, overwrite_days, read_days
from jobs.jobmain import job_main
from warehouse.settings import Settings
from warehouse.tables import BRONZE_EVENTS, SILVER_SESSIONS


def sessionize(
    events: DataFrame, previous_last_ts: DataFrame, gap_minutes: int, max_events: int
) -> DataFrame:
    """Sessions of ``events`` (one or more days, column ``ds``), each day on its own.
    ``previous_last_ts``: (user_id, ds, last_ts): the user's last event time on ds - 1."""
    by_time = Window.partitionBy("user_id", "ds").orderBy("ts", "event_id")
    gap = F.col("ts").cast("double") - F.lag("ts").over(by_time).cast("double")
    starts_gap_session = F.coalesce(gap > gap_minutes * 60, F.lit(True))
    numbered = events.withColumn(
        "_gap_session", F.sum(starts_gap_session.cast("int")).over(by_time)
    )
    in_gap_session = Window.partitionBy("user_id", "ds", "_gap_session").orderBy("ts", "event_id")
    numbered = numbered.withColumn(
        "_part", F.floor((F.row_number().over(in_gap_session) - 1) / max_events)
    )
    event = F.struct("ts", "event_id", "item_id", "event_type", "weight")
    sessions = numbered.groupBy("user_id", "ds", "_gap_session", "_part").agg(
        F.array_sort(F.collect_list(event)).alias("ev")
    )
    first_ts = F.col("ev")[0]["ts"]
    previous = previous_last_ts.select("user_id", "ds", F.col("last_ts").alias("_prev_ts"))
    continues = (first_ts.cast("double") - F.col("_prev_ts").cast("double")) <= gap_minutes * 60
    return sessions.join(previous, ["user_id", "ds"], "left").select(
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
        "ds",
    )


def last_ts_by_day(events: DataFrame) -> DataFrame:
    """(user_id, ds, last_ts): each user's last event time on the day before ``ds``."""
    return events.groupBy("user_id", F.date_add("ds", 1).alias("ds")).agg(
        F.max("ts").alias("last_ts")
    )


def run_range(spark: SparkSession, settings: Settings, days: list[date]) -> dict[date, dict]:
    events = read_days(spark, BRONZE_EVENTS, days)
    before = read_days(spark, BRONZE_EVENTS, sorted({d - timedelta(days=1) for d in days}))
    sessions = sessionize(
        events, last_ts_by_day(before), settings.session_gap_minutes, settings.max_session_events
    )
    written = overwrite_days(
        sessions,
        SILVER_SESSIONS,
        days,
        settings,
        sums={
            "events": F.col("n_events"),
            "continued": F.col("continues_previous_day").cast("int"),
        },
    )
    n_events = count_by_day(events, days)
    counts = {}
    for d in days:
        counts[d] = {
            "events": n_events[d],
            "sessions": written[d]["rows"],
            "session_events": written[d]["events"],
            "continues_previous_day": written[d]["continued"],
        }
        if counts[d]["events"] != counts[d]["session_events"]:
            raise RuntimeError(f"sessionize lost events on {d}: {counts[d]}")
    return counts


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    return run_range(spark, settings, [ds])[ds]


if __name__ == "__main__":
    job_main("sessionize", run)
