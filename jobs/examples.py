"""examples: one training example per event of the ds (or of a range of days) ->
gold.training_examples.

Input of an example: the L events before it, across session and day boundaries (left-padded with
0), with each position's event type, log-hours before the target and a new-session flag, so the
model can learn how far back "now" reaches. History comes from silver.user_recent (each user's
last L events as of the previous processed day), which this job also carries forward: a night
reads a bounded state, never the whole history. A range reads the state before its first day
once and its days' events; every example equals the one its own night would make.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.delta_io import count_by_day, overwrite_days, read_day, read_days
from jobs.jobmain import job_main
from warehouse.events import event_type_codes
from warehouse.settings import Settings
from warehouse.tables import (
    GOLD_EXAMPLES,
    OPS_JOB_RUNS,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_USER_RECENT,
)

# Order of a user's events as every night sees them: by time; at equal times the earlier day
# first (a night puts the carried history before its own events), then the order within the
# day (session and position; carried history: its position in the state).
KEY = ("ts", "ds", "ord")
STEP = ("item_idx", "type", "ts", "new_session")  # what an example keeps of a history event


class MissingState(RuntimeError):
    """The silver.user_recent state a run starts from was not kept (a bulk run's inner day)."""


def day_events(
    sessions: DataFrame, user_ids: DataFrame, item_ids: DataFrame, type_codes: dict[str, int]
) -> DataFrame:
    """The days' events as rows (user_idx, ts, item_idx, type, new_session, ord, is_target, ds)."""
    codes = F.create_map(*[x for t, c in type_codes.items() for x in (F.lit(t), F.lit(c))])
    exploded = sessions.select(
        "user_id",
        "session_id",
        "ds",
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
            "ds",
        )
    )


def history_events(recent: DataFrame) -> DataFrame:
    """silver.user_recent rows exploded back to events (never targets), on the state's day."""
    return recent.select(
        "user_idx",
        "ds",
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
        "ds",
    )


def _left_pad(values: Column, length: int, pad: Column) -> Column:
    return F.concat(F.array_repeat(pad, length - F.size(values)), values)


def _step(event: Column) -> Column:
    """What an example keeps of each history event, from a struct that has more."""
    return F.struct(*[event[c].alias(c) for c in STEP])


def in_day_order(events: DataFrame) -> DataFrame:
    """(user_idx, ds, _before, _after): the latest time of the user's earlier days and the
    earliest of the later days. A target between them sees, in a window over all days, exactly
    the history its own night sees; one outside (a late or early event near midnight) does not,
    because a night only carries the last L events of the days before it."""
    per_day = events.groupBy("user_idx", "ds").agg(
        F.min("ts").alias("_min"), F.max("ts").alias("_max")
    )
    by_day = Window.partitionBy("user_idx").orderBy("ds")
    return per_day.select(
        "user_idx",
        "ds",
        F.max("_max").over(by_day.rowsBetween(Window.unboundedPreceding, -1)).alias("_before"),
        F.min("_min").over(by_day.rowsBetween(1, Window.unboundedFollowing)).alias("_after"),
    )


def night_histories(events: DataFrame, targets: DataFrame, length: int) -> DataFrame:
    """``targets`` with ``_h``: their history computed as their own night does, from the last
    ``length`` events of the user's earlier days (the carried state) and the day's own events
    before them. Costs a join per target: for the few targets that are out of day order."""
    pairs = targets.select("user_idx", F.col("ds").alias("_day")).distinct()
    mine = events.join(pairs, "user_idx")
    newest = Window.partitionBy("user_idx", "_day").orderBy(*[F.desc(c) for c in KEY])
    carried = (
        mine.where(F.col("ds") < F.col("_day"))
        .withColumn("_r", F.row_number().over(newest))
        .where(F.col("_r") <= length)
        .drop("_r")
    )
    pool = carried.unionByName(mine.where(F.col("ds") == F.col("_day")))
    keyed = targets.withColumn("_tkey", F.struct(*KEY))
    candidates = pool.join(
        keyed.select("user_idx", F.col("ds").alias("_day"), "_tkey"), ["user_idx", "_day"]
    ).where(F.struct(*KEY) < F.col("_tkey"))
    latest = Window.partitionBy("user_idx", "_tkey").orderBy(*[F.desc(c) for c in KEY])
    step = F.struct(F.struct(*KEY).alias("_k"), *STEP)  # sorts by KEY
    histories = (
        candidates.withColumn("_r", F.row_number().over(latest))
        .where(F.col("_r") <= length)
        .groupBy("user_idx", "_tkey")
        .agg(F.array_sort(F.collect_list(step)).alias("_s"))
        .select("user_idx", "_tkey", F.transform("_s", _step).alias("_h"))
    )
    out = keyed.join(histories, ["user_idx", "_tkey"], "left").drop("_tkey")
    empty = F.filter(F.array(F.struct(*STEP)), lambda _: F.lit(False))  # typed, for no history
    return out.withColumn("_h", F.coalesce("_h", empty))


def build_examples(events: DataFrame, length: int) -> DataFrame:
    """For each target event, the ``length`` events before it as its own night sees them: the
    user's events in KEY order, across sessions and days."""
    order = Window.partitionBy("user_idx").orderBy(*KEY)
    windowed = events.withColumn(
        "_h", F.collect_list(F.struct(*STEP)).over(order.rowsBetween(-length, -1))
    ).where("is_target")
    bounds = in_day_order(events)
    ordered = (F.col("_before").isNull() | (F.col("ts") >= F.col("_before"))) & (
        F.col("_after").isNull() | (F.col("ts") <= F.col("_after"))
    )
    flagged = windowed.join(bounds, ["user_idx", "ds"]).withColumn("_ordered", ordered)
    out_of_order = flagged.where(~F.col("_ordered")).drop("_h", "_before", "_after", "_ordered")
    with_history = (
        flagged.where("_ordered")
        .drop("_before", "_after", "_ordered")
        .unionByName(night_histories(events, out_of_order, length))
    )
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
        "ds",
    )


def carry_recent(events: DataFrame, length: int, ds: date) -> DataFrame:
    """Each user's last ``length`` events after the day ``ds`` (the last of ``events``' days),
    oldest first."""
    newest_first = Window.partitionBy("user_idx").orderBy(*[F.desc(c) for c in KEY])
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


def users_in_state(events: DataFrame, days: list[date]) -> dict[date, int]:
    """Users in silver.user_recent after each day: the state keeps every user ever seen."""
    firsts = events.groupBy("user_idx").agg(F.min("ds").alias("ds"))
    per_day = {r["ds"]: int(r["count"]) for r in firsts.groupBy("ds").count().collect()}
    return {d: sum(n for ds, n in per_day.items() if ds <= d) for d in days}


def check_state_kept(spark: SparkSession, previous_ds: date | None, first: date) -> None:
    """Refuse to start from a state older than the last day examples ran before ``first``: a
    bulk run keeps only its last day's state, so its inner days cannot be rerun alone."""
    runs = spark.table(OPS_JOB_RUNS).where((F.col("job") == "examples") & (F.col("ds") < first))
    ran = runs.agg(F.max("ds")).first()[0]
    if ran is None or (previous_ds is not None and previous_ds >= ran):
        return
    after = runs.where(F.col("ds") > F.lit(previous_ds)) if previous_ds else runs
    start = after.agg(F.min("ds")).first()[0]
    raise MissingState(
        f"examples for {first} start from the state of {ran}, which a bulk run did not keep "
        f"(it keeps its last day's only); rerun examples from {start} in bulk: "
        f"interest etl --from {start} --to {first} --steps examples --bulk"
    )


def run_range(spark: SparkSession, settings: Settings, days: list[date]) -> dict[date, dict]:
    """Examples of ``days`` (sorted) in one pass; silver.user_recent is written for the last day
    only (a night reads its previous day's state; inner days' states would cost users x days
    rows), and the range's other days' states are removed, so a stale one is never read."""
    first, last = days[0], days[-1]
    recent = spark.table(SILVER_USER_RECENT)
    previous_ds = recent.where(F.col("ds") < F.lit(first)).agg(F.max("ds")).first()[0]
    check_state_kept(spark, previous_ds, first)
    history = history_events(recent.where(F.col("ds") == F.lit(previous_ds)))
    targets = day_events(
        read_days(spark, SILVER_SESSIONS, days),
        spark.table(SILVER_USER_IDS),
        spark.table(SILVER_ITEM_IDS),
        event_type_codes(settings.event_weights),
    )
    events = targets.unionByName(history).localCheckpoint()
    length = settings.sequence_length
    overwrite_days(build_examples(events, length), GOLD_EXAMPLES, days, settings)
    overwrite_days(carry_recent(events, length, last), SILVER_USER_RECENT, days, settings)
    day_counts = count_by_day(events.where("is_target"), days)
    examples = count_by_day(read_days(spark, GOLD_EXAMPLES, days), days)
    in_state = users_in_state(events, days)
    counts = {
        d: {"day_events": day_counts[d], "examples": examples[d], "users_in_state": in_state[d]}
        for d in days
    }
    for d, c in counts.items():
        if c["examples"] != c["day_events"]:
            raise RuntimeError(f"examples do not match the day's events on {d}: {c}")
    state_rows = read_day(spark, SILVER_USER_RECENT, last).count()
    if state_rows != in_state[last]:
        raise RuntimeError(f"user_recent holds {state_rows} users, expected {in_state[last]}")
    return counts


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    return run_range(spark, settings, [ds])[ds]


if __name__ == "__main__":
    job_main("examples", run)
