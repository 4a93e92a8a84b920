"""examples: the training sequences of the ds (or of a range of days) ->
gold.training_sequences.

One row per user and day (per ``targets_per_row`` targets of a longer day): the day's events in
order (the targets), after the context the night knew before them: the user's last L events of
earlier days, across sessions and days, from silver.user_recent (each user's last L events as of
the previous processed day), which this job also carries forward: a night reads a bounded
state, never the whole history. The model reads a row once and predicts every target from the
positions before it. A range reads the state before its first day once and its days' events;
every row equals the one its own night would make.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.delta_io import count_by_day, overwrite_days, read_days
from jobs.jobmain import job_main
from warehouse.events import event_type_codes
from warehouse.settings import Settings
from warehouse.tables import (
    GOLD_SEQUENCES,
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
STEP = ("item_idx", "type", "ts", "new_session")  # what a sequence keeps of an event


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


def _step() -> Column:
    """An event as the sequences keep it, sortable by KEY (its first field)."""
    return F.struct(F.struct(*KEY).alias("_k"), *STEP)


def _last(values: Column, length: int) -> Column:
    return F.slice(values, F.greatest(F.size(values) - length + 1, F.lit(1)), length)


def user_days(events: DataFrame, length: int) -> DataFrame:
    """(user_idx, ds, _context, _day) for each target day of a user: the day's events in KEY
    order, and the context its own night reads: the last ``length`` events (KEY order) of the
    user's earlier days, the carried state included.

    The context is the last ``length`` of the earlier days' own last ``length`` events; looking
    back ``length`` active days is enough, since each has at least one event and an event can
    only be out of day order near midnight (the ingest's tolerance)."""
    days = events.groupBy("user_idx", "ds", "is_target").agg(
        F.array_sort(F.collect_list(_step())).alias("_day")
    )
    earlier = Window.partitionBy("user_idx").orderBy("ds").rowsBetween(-length, -1)
    earlier_days = F.collect_list(_last(F.col("_day"), length)).over(earlier)
    # Each day is in KEY order already, so one earlier day (the carried state: every row of a
    # nightly run) needs no sort; sorting arrays of structs is interpreted, row by row.
    joined = F.flatten(earlier_days)
    prior = F.when(F.size(earlier_days) <= 1, joined).otherwise(F.array_sort(joined))
    return (
        days.withColumn("_context", _last(prior, length))
        .where("is_target")
        .select("user_idx", "ds", "_context", "_day")
    )


def build_sequences(events: DataFrame, length: int, targets: int) -> DataFrame:
    """gold.training_sequences rows: per user and target day, the day's events after their
    context, cut into chunks of at most ``targets`` targets, each after the ``length`` events
    before it (fewer for a new user)."""
    days = user_days(events, length)
    m, n = F.size("_context"), F.size("_day")
    chunked = days.select(
        "*", F.explode(F.sequence(F.lit(0), F.floor((n - 1) / targets).cast("int"))).alias("chunk")
    )
    first_target = m + F.col("chunk") * targets  # 0-based position in context + day
    start = F.greatest(first_target - length, F.lit(0))
    num_targets = F.least(F.lit(targets), n - F.col("chunk") * targets)
    positions = F.slice(F.concat("_context", "_day"), start + 1, first_target - start + num_targets)
    return chunked.select(
        "user_idx",
        "chunk",
        *[positions[c].alias(f"{c.removesuffix('_idx')}_seq") for c in STEP],
        (first_target - start).alias("num_context"),
        num_targets.alias("num_targets"),
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
    sequences = build_sequences(events, length, settings.targets_per_row)
    written = overwrite_days(
        sequences, GOLD_SEQUENCES, days, settings, sums={"targets": F.col("num_targets")}
    )
    state = overwrite_days(carry_recent(events, length, last), SILVER_USER_RECENT, days, settings)
    day_counts = count_by_day(events.where("is_target"), days)
    in_state = {last: state[last]["rows"]}
    if len(days) > 1:  # the inner days' states are not kept: counted from the events
        in_state = users_in_state(events, days)
        if in_state[last] != state[last]["rows"]:
            raise RuntimeError(
                f"user_recent holds {state[last]['rows']} users, expected {in_state[last]}"
            )
    counts = {
        d: {
            "day_events": day_counts[d],
            "targets": written[d]["targets"],
            "sequences": written[d]["rows"],
            "users_in_state": in_state[d],
        }
        for d in days
    }
    for d, c in counts.items():
        if c["targets"] != c["day_events"]:
            raise RuntimeError(f"the sequences' targets do not match the day's events on {d}: {c}")
    return counts


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    return run_range(spark, settings, [ds])[ds]


if __name__ == "__main__":
    job_main("examples", run)
