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

from jobs.delta_io import overwrite_days, read_days
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
    """The days' events as rows (user_idx, ts, item_idx, type, new_session, ord, ds)."""
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
            "ds",
        )
    )


def _step() -> Column:
    """An event as the sequences keep it, sortable by KEY (its first field)."""
    return F.struct(F.struct(*KEY).alias("_k"), *STEP)


def event_days(events: DataFrame) -> DataFrame:
    """(user_idx, ds, is_target, _day): each user's events of a day, in KEY order."""
    return events.groupBy("user_idx", "ds").agg(
        F.lit(True).alias("is_target"), F.sort_array(F.collect_list(_step())).alias("_day")
    )


def state_days(recent: DataFrame) -> DataFrame:
    """silver.user_recent rows as event_days' rows, on the state's day and never targets: the
    state's arrays are zipped, not exploded and collected again, since they are in KEY order
    already."""
    n = F.size("item_seq")
    # A carried event's place in the state breaks ties of time; the offset makes the decimal
    # strings sort as the numbers do.
    places = F.sequence(F.lit(100000), F.lit(100000) + n - 1).cast("array<string>")
    keys = F.arrays_zip(
        F.col("ts_seq").alias("ts"), F.array_repeat("ds", n).alias("ds"), places.alias("ord")
    )
    steps = F.arrays_zip(
        keys.alias("_k"),
        *[F.col(f"{c.removesuffix('_idx')}_seq").alias(c) for c in STEP],
    )
    return recent.where(n > 0).select(
        "user_idx", "ds", F.lit(False).alias("is_target"), steps.alias("_day")
    )


def _last(values: Column, length: int) -> Column:
    return F.slice(values, F.greatest(F.size(values) - length + 1, F.lit(1)), length)


def _in_order(before: Column, after: Column) -> Column:
    """``before`` ++ ``after`` in KEY order; sorted only when an event of ``after`` is not
    after all of ``before`` (near midnight): most rows skip the sort."""
    joined = F.concat(before, after)
    ordered = (F.size(before) == 0) | (
        F.try_element_at(before, F.lit(-1))["_k"] <= F.try_element_at(after, F.lit(1))["_k"]
    )
    return F.when(ordered, joined).otherwise(F.sort_array(joined))


def user_days(days: DataFrame, length: int) -> DataFrame:
    """(user_idx, ds, is_target, _context, _day, _recent) for each day of a user (event_days'
    and state_days' rows): the day's events, the context its own night reads (the last
    ``length`` events, KEY order, of the user's earlier days, the carried state included) and,
    on the user's last day only, the user's last ``length`` events after it.

    The context is the last ``length`` of the earlier days' own last ``length`` events; looking
    back ``length`` active days is enough, since each has at least one event and an event can
    only be out of day order near midnight (the ingest's tolerance)."""
    by_day = Window.partitionBy("user_idx").orderBy("ds")
    # Windowed once, as columns: an expression used twice would be windowed twice.
    windowed = days.select(
        "*",
        F.collect_list(_last(F.col("_day"), length))
        .over(by_day.rowsBetween(-length, -1))
        .alias("_earlier"),
        F.lead("ds").over(by_day).alias("_next"),
    )
    # Each day is in KEY order already, so one earlier day (the carried state: every row of a
    # nightly run) needs no sort.
    joined = F.flatten("_earlier")
    prior = F.when(F.size("_earlier") <= 1, joined).otherwise(F.sort_array(joined))
    with_context = windowed.withColumn("_context", _last(prior, length))
    recent = F.when(
        F.col("_next").isNull(), _last(_in_order(F.col("_context"), F.col("_day")), length)
    )
    return with_context.select(
        "user_idx", "ds", "is_target", "_context", "_day", recent.alias("_recent")
    )


def build_sequences(days: DataFrame, length: int, targets: int) -> DataFrame:
    """gold.training_sequences rows from user_days' target days: per user and day, the day's
    events after their context, cut into chunks of at most ``targets`` targets, each after the
    ``length`` events before it (fewer for a new user)."""
    m, n = F.size("_context"), F.size("_day")
    chunked = days.where("is_target").select(
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


def carry_recent(days: DataFrame, ds: date) -> DataFrame:
    """silver.user_recent of ``ds`` (the last of user_days' days): each user's last events,
    oldest first."""
    return days.where(F.col("_recent").isNotNull()).select(
        "user_idx",
        F.col("_recent.item_idx").alias("item_seq"),
        F.col("_recent.type").alias("type_seq"),
        F.col("_recent.ts").alias("ts_seq"),
        F.col("_recent.new_session").alias("new_session_seq"),
        F.lit(ds).alias("ds"),
    )


def users_in_state(days: DataFrame, last: list[date]) -> dict[date, int]:
    """Users in silver.user_recent after each of ``last``: the state keeps every user ever
    seen."""
    firsts = days.groupBy("user_idx").agg(F.min("ds").alias("ds"))
    per_day = {r["ds"]: int(r["count"]) for r in firsts.groupBy("ds").count().collect()}
    return {d: sum(n for ds, n in per_day.items() if ds <= d) for d in last}


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
    targets = event_days(
        day_events(
            read_days(spark, SILVER_SESSIONS, days),
            spark.table(SILVER_USER_IDS),
            spark.table(SILVER_ITEM_IDS),
            event_type_codes(settings.event_weights),
        )
    )
    carried = state_days(recent.where(F.col("ds") == F.lit(previous_ds)))
    length = settings.sequence_length
    # Checkpointed: both writes and the counts read it.
    rows = user_days(targets.unionByName(carried), length).localCheckpoint()
    written = overwrite_days(
        build_sequences(rows, length, settings.targets_per_row),
        GOLD_SEQUENCES,
        days,
        settings,
        sums={"targets": F.col("num_targets")},
    )
    state_written = overwrite_days(carry_recent(rows, last), SILVER_USER_RECENT, days, settings)
    day_counts = {d: 0 for d in days} | {
        r["ds"]: int(r["n"])
        for r in rows.where("is_target")
        .groupBy("ds")
        .agg(F.sum(F.size("_day")).alias("n"))
        .collect()
    }
    in_state = {last: state_written[last]["rows"]}
    if len(days) > 1:  # the inner days' states are not kept: counted from the rows
        in_state = users_in_state(rows, days)
        if in_state[last] != state_written[last]["rows"]:
            raise RuntimeError(
                f"user_recent holds {state_written[last]['rows']} users, expected {in_state[last]}"
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
