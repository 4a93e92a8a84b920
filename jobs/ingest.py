"""ingest: raw logs of one ds or a range of days (JSONL / CSV / Parquet) -> bronze.events +
bronze.events_rejected.

Every record read ends in exactly one of the two tables: accepted + rejected = read, checked on
every run and for every day. A rejected record keeps its raw text and the reason (first failing
check wins). A range is read and written at once, with the same result as its days one by one:
each record is checked against its own day (the ``ds`` column), and duplicates against the
previous day only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame, SparkSession, Window, WindowSpec
from pyspark.sql import functions as F

from jobs.delta_io import overwrite_days, previous_days, read_days
from jobs.jobmain import job_main
from jobs.pseudonymise import INNER, OUTER, keyed_hash, with_key, without_key
from jobs.raw_input import extract_days
from warehouse.settings import Settings
from warehouse.tables import BRONZE_EVENTS, BRONZE_REJECTED, OPS_FORGOTTEN_USERS

CONTRACT_FIELDS = ("event_id", "user_id", "item_id", "event_type", "ts")
EPOCH = r"^-?\d+(\.\d+)?$"
# The form Spark's cast reads exactly (most logs): one regex and a cast.
CANONICAL_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
# Every other ISO-8601 / RFC 3339 time with an offset: basic or extended format, lower-case t/z,
# no seconds or no minutes, a decimal comma, an offset of hours only or without a colon.
ISO_PARTS = (
    r"^(\d{4})-?(\d{2})-?(\d{2})[Tt ](\d{2})(?::?(\d{2})(?::?(\d{2})([.,]\d+)?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)$"
)
REPLACEMENT_CHAR = "\ufffd"  # what a decoder leaves where bytes were not UTF-8
QUARANTINED_RAW_CHARS = 4096  # the raw text kept of a record over max_record_bytes


# ---- transform ---------------------------------------------------------------------------------
def _blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def parse_ts(text: Column) -> Column:
    """ISO-8601 / RFC 3339 with an offset, or epoch seconds / milliseconds (>= 1e11 is read as
    ms); else null (a time without an offset is ambiguous)."""
    text = F.trim(text)
    number = text.try_cast("double")
    seconds = F.when(F.abs(number) >= 1e11, number / 1000).otherwise(number)
    # The canonical form through Spark's cast (one regex, most logs); the rest, and the leap
    # second the cast refuses, through the parts. Each written once: an expression repeated in
    # two branches may be hoisted and evaluated for every row.
    iso = F.coalesce(
        F.when(text.rlike(CANONICAL_ISO), text.try_cast("timestamp")),
        F.when(text.rlike(ISO_PARTS), _from_iso_parts(text)),
    )
    return F.when(text.rlike(EPOCH), F.timestamp_seconds(seconds)).otherwise(iso)


def _from_iso_parts(text: Column) -> Column:
    """A time matching ISO_PARTS; null for an impossible one (February 30, hour 25). A leap
    second (:60) is the next minute's first, as Spark's make_timestamp has it."""

    def part(n: int) -> Column:
        return F.coalesce(F.nullif(F.regexp_extract(text, ISO_PARTS, n), F.lit("")), F.lit("0"))

    fraction = F.regexp_replace(F.regexp_extract(text, ISO_PARTS, 7), ",", ".")
    seconds = F.concat(part(6), fraction).cast("decimal(16,6)")
    date_time = [part(n).cast("int") for n in range(1, 6)]
    return F.try_make_timestamp(*date_time, seconds, F.upper(part(8)))


def parse_events(raw: DataFrame, settings: Settings) -> DataFrame:
    """Typed event columns plus ``reason``/``detail`` (null reason = valid so far). ``raw`` is
    what ``extract_days`` gives, with the record's partition day as ``ds``: the time tolerance
    is relative to it.

    Three projections, each using the columns of the one before (typed fields, then the reason,
    then its detail): written as one, the timestamp parse and the reason's CASE chain were
    evaluated again inside every branch that uses them (28 s instead of 3 s for 1M records).

    With a pseudonym key (``Settings.user_id_key``), ``user_id`` is the raw id's pseudonym, the
    content hash of an event without an id is taken over it, and a rejected record's raw text
    holds it in place of the raw id (but for records that could not be decoded or parsed).
    """
    f = F.col("fields")
    key = settings.user_id_key()
    if key:
        raw = with_key(raw, key)
    typed = raw.select(
        "source_file",
        "raw",
        "valid_utf8",
        "ds",
        "fields",
        *([INNER, OUTER] if key else []),
        F.trim(f["user_id"]).alias("user_id"),
        F.trim(f["item_id"]).alias("item_id"),
        f["event_type"].alias("event_type"),
        parse_ts(f["ts"]).alias("ts"),
        F.trim(f["value"]).try_cast("double").alias("_value"),
    )
    user_key = keyed_hash(F.col("user_id")) if key else F.col("user_id")
    judged = typed.select(
        "*", rejection_reason(settings).alias("reason"), user_key.alias("_user_key")
    )
    if key:
        judged = without_key(judged)
    shown_user = F.col("_user_key") if key else F.col("user_id")
    return judged.select(
        "source_file",
        quarantined_raw(pseudonymised=bool(key)),
        event_id(F.col("_user_key") if key else f["user_id"]),
        F.col("_user_key").alias("user_id"),
        "item_id",
        "event_type",
        event_weight(settings.event_weights),
        "ts",
        F.map_filter(f, lambda k, v: ~k.isin(*CONTRACT_FIELDS)).alias("extra"),
        "reason",
        rejection_detail(settings, shown_user),
        "ds",
    )


def _ids() -> dict[str, Column]:
    return {"user_id": F.col("user_id"), "item_id": F.col("item_id"),
            "event_id": F.trim(F.col("fields")["event_id"])}  # fmt: skip


def _any_id(test: Callable[[Column], Column]) -> Column:
    return reduce(or_, [F.coalesce(test(c), F.lit(False)) for c in _ids().values()])


def _structured(col: Column) -> Column:
    return col.startswith("{") | col.startswith("[")


def _too_long(max_length: int) -> Callable[[Column], Column]:
    return lambda c: F.length(c) > max_length


def _has_control_character(col: Column) -> Column:
    return col.rlike(r"\p{Cc}")


def rejection_reason(settings: Settings) -> Column:
    """The first failing check of a typed record, or null (see ``parse_events``). An id with
    U+FFFD is refused as ``bad_encoding``: its bytes were lost before it reached us, so distinct
    ids may have become one."""
    f, ts = F.col("fields"), F.col("ts")
    user, item = F.col("user_id"), F.col("item_id")
    known = F.array(*[F.lit(t) for t in sorted(settings.event_weights)])
    tolerance = F.expr(f"INTERVAL {int(settings.late_tolerance_hours * 3600)} SECONDS")
    day_start = F.col("ds").cast("timestamp")  # midnight UTC (the sessions' time zone)
    day_end = F.date_add("ds", 1).cast("timestamp")
    replaced = F.col("raw").contains(REPLACEMENT_CHAR) | _any_id(
        lambda c: c.contains(REPLACEMENT_CHAR)
    )
    return (
        F.when(F.octet_length("raw") > settings.max_record_bytes, F.lit("record_too_long"))
        .when(~F.col("valid_utf8") | replaced, F.lit("bad_encoding"))
        .when(f.isNull(), F.lit("unparseable"))
        .when(_blank(user), F.lit("missing_user_id"))
        .when(_blank(item), F.lit("missing_item_id"))
        .when(_structured(user) | _structured(item), F.lit("bad_value"))
        .when(_any_id(_too_long(settings.max_id_length)), F.lit("id_too_long"))
        .when(_any_id(_has_control_character), F.lit("id_control_character"))
        .when(_blank(F.col("event_type")), F.lit("missing_event_type"))
        .when(~F.array_contains(known, F.col("event_type")), F.lit("unknown_event_type"))
        .when(ts.isNull(), F.lit("bad_timestamp"))
        .when(_is_rating() & F.col("_value").isNull(), F.lit("bad_value"))
        .when((ts < day_start - tolerance) | (ts >= day_end + tolerance), F.lit("ts_out_of_day"))
    )


def rejection_detail(settings: Settings, shown_user: Column) -> Column:
    """The offending value of a rejected record (null for the reasons that need none); a user
    id is shown as ``shown_user`` (its pseudonym, when pseudonymised)."""
    f, reason = F.col("fields"), F.col("reason")
    user, item = F.col("user_id"), F.col("item_id")
    max_length = settings.max_id_length

    def first_id(test: Callable[[Column], Column], show: Callable[[str, Column], Column]):
        shown = {**_ids(), "user_id": shown_user}
        return F.coalesce(*[F.when(test(c), show(name, shown[name])) for name, c in _ids().items()])

    def length(name: str, c: Column) -> Column:
        return F.format_string(f"{name}: %d characters (max {max_length})", F.length(c))

    return (
        F.when(
            reason == "record_too_long",
            F.format_string(
                f"%d bytes (max {settings.max_record_bytes}; raw cut to the first "
                f"{QUARANTINED_RAW_CHARS} characters)",
                F.octet_length("raw"),
            ),
        )
        .when(
            (reason == "bad_encoding") & ~F.col("valid_utf8"),
            F.concat(F.lit("not UTF-8; first bytes: "), F.substring(F.hex(F.col("raw")), 1, 256)),
        )
        .when(reason == "bad_encoding", F.lit("holds U+FFFD: bytes were lost in an earlier decode"))
        .when(reason == "id_too_long", first_id(_too_long(max_length), length))
        .when(
            reason == "id_control_character",
            first_id(_has_control_character, lambda name, c: F.to_json(F.struct(c.alias(name)))),
        )
        .when(reason == "unknown_event_type", F.concat(F.lit("event_type="), f["event_type"]))
        .when(reason == "bad_timestamp", F.concat(F.lit("ts="), F.coalesce(f["ts"], F.lit("null"))))
        .when(reason == "ts_out_of_day", F.concat(F.lit("ts="), F.col("ts").cast("string")))
        .when(
            reason == "bad_value",
            F.when(_structured(user), F.concat(F.lit("user_id="), shown_user))
            .when(_structured(item), F.concat(F.lit("item_id="), item))
            .otherwise(F.concat(F.lit("value="), F.coalesce(f["value"], F.lit("null")))),
        )
        .alias("detail")
    )


def quarantined_raw(pseudonymised: bool) -> Column:
    """The raw text as stored: cut when over the bound, and valid UTF-8 (the original bytes of
    a ``bad_encoding`` record are in its detail). Pseudonymised, a record whose fields were read
    is rendered as JSON with the pseudonym as its user_id; one that could not be read is kept
    as it came (its user id cannot be told from the rest of its text)."""
    raw, fields, reason = F.col("raw"), F.col("fields"), F.col("reason")
    cut = F.when(reason == "record_too_long", F.substring(raw, 1, QUARANTINED_RAW_CHARS))
    raw = cut.otherwise(raw)
    raw = F.when(F.col("valid_utf8"), raw).otherwise(F.make_valid_utf8(raw))
    if pseudonymised:
        readable = fields.isNotNull() & ~reason.isin("record_too_long", "bad_encoding")
        with_pseudonym = F.map_concat(
            F.map_filter(fields, lambda k, v: k != "user_id"),
            F.create_map(F.lit("user_id"), F.col("_user_key")),
        )
        raw = F.when(readable & ~_blank(F.col("user_id")), F.to_json(with_pseudonym)).otherwise(raw)
    return raw.alias("raw")


def _is_rating() -> Column:
    return F.col("event_type") == "rating"


def event_weight(event_weights: dict[str, float]) -> Column:
    """A rating's value, else its event type's weight."""
    weight_of_type = F.create_map(
        *[x for t, w in event_weights.items() for x in (F.lit(t), F.lit(w))]
    )
    return (
        F.when(_is_rating(), F.col("_value"))
        .otherwise(weight_of_type[F.col("event_type")])
        .alias("weight")
    )


def event_id(user: Column) -> Column:
    """The record's event_id, or a hash of its content (with ``user`` as its user) when it has
    none."""
    f = F.col("fields")
    ts_ms = (F.unix_micros("ts") / 1000).cast("long").cast("string")
    value = F.coalesce(f["value"], F.lit(""))
    content_hash = F.sha2(F.concat_ws("|", user, f["item_id"], f["event_type"], ts_ms, value), 256)
    return (
        F.when(_blank(f["event_id"]), content_hash)
        .otherwise(F.trim(f["event_id"]))
        .alias("event_id")
    )


def mark_forgotten(events: DataFrame, forgotten: DataFrame) -> DataFrame:
    """Valid rows of a user removed by ``interest forget-user`` (``forgotten``:
    ops.forgotten_users), timed up to the removal, get reason 'forgotten_user' and no raw text:
    a rerun from raw logs that still hold them does not bring them back."""
    gone = F.broadcast(forgotten.select("user_id", F.col("forgotten_at").alias("_gone_at")))
    marked = events.join(gone, "user_id", "left")
    is_gone = F.col("reason").isNull() & (F.col("ts") <= F.col("_gone_at"))

    def unless_gone(name: str, then: Column) -> Column:
        return F.when(is_gone, then).otherwise(F.col(name)).alias(name)

    replaced = {
        "raw": unless_gone("raw", F.lit(None).cast("string")),
        "reason": unless_gone("reason", F.lit("forgotten_user")),
        "detail": unless_gone("detail", F.lit(None).cast("string")),
    }
    return marked.select(*[replaced.get(c, F.col(c)) for c in events.columns])


def mark_duplicates(events: DataFrame, known: DataFrame) -> DataFrame:
    """Valid rows whose event_id was accepted the day before, or appears earlier in the same
    day's input, get reason 'duplicate' (the check reaches back one day, never further).

    ``known``: (event_id, ds) accepted on days before ``events``' days (a daily run: the previous
    day). Within ``events``, the previous day's acceptance is worked out here, so a range gives
    what its days one by one give: an event repeated on consecutive days is accepted on every
    other day of the run, starting with the first unless that day's previous day accepted it.

    The known rows travel with the records (flagged ``_known``), so the whole check is one
    shuffle by event_id and one sort (by day, then the records' order) shared by every window.
    """
    in_order = ["ds", "source_file", "ts", "raw"]
    both = events.withColumn("_known", F.lit(False)).unionByName(
        known.select("event_id", "ds", F.lit(True).alias("_known")), allowMissingColumns=True
    )
    by_id = Window.partitionBy("event_id").orderBy(*in_order)
    day_before = F.lag("ds").over(by_id)
    opens_day = day_before.isNull() | (day_before != F.col("ds"))  # the day's first record
    ranked = both.repartition("event_id").withColumn(
        "_first", ~F.col("_known") & F.col("reason").isNull() & opens_day
    )
    marked = with_acceptance(ranked, by_id)
    is_dup = F.col("reason").isNull() & ~F.col("_accepted")
    return marked.where(~F.col("_known")).select(
        *[c for c in events.columns if c not in ("reason", "detail")],
        F.when(is_dup, F.lit("duplicate")).otherwise(F.col("reason")).alias("reason"),
        F.when(is_dup, F.concat(F.lit("event_id="), F.col("event_id")))
        .otherwise(F.col("detail"))
        .alias("detail"),
    )


def with_acceptance(rows: DataFrame, by_id: WindowSpec) -> DataFrame:
    """Adds ``_accepted``: true for the rows flagged ``_first`` (each day's first valid record
    of an id) whose id was not accepted on the previous day (by a ``_known`` row or by the
    rule). ``by_id``: the rows of an event_id in day order. Consecutive days of one id form a
    run; acceptance alternates along it, and its first day looks at the known rows."""
    first, ds = F.col("_first"), F.col("ds")
    so_far = by_id.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    before = by_id.rowsBetween(Window.unboundedPreceding, -1)
    previous_first = F.last(F.when(first, ds), ignorenulls=True).over(before)
    previous_known = F.last(F.when(F.col("_known"), ds), ignorenulls=True).over(before)
    rows = rows.select(
        "*",
        F.sum(first.cast("int")).over(so_far).alias("_n"),  # a first's number
        (first & (previous_first.isNull() | (ds != F.date_add(previous_first, 1)))).alias("_opens"),
        (F.coalesce(previous_known == F.date_sub(ds, 1), F.lit(False))).alias("_prior"),
    )

    def at_run_start(column: str) -> Column:
        return F.last(F.when(F.col("_opens"), F.col(column)), ignorenulls=True).over(so_far)

    pos = F.col("_n") - at_run_start("_n")
    return rows.withColumn(
        "_accepted", first & ((pos + at_run_start("_prior").cast("int")) % 2 == 0)
    )


def accepted(events: DataFrame) -> DataFrame:
    return events.where(F.col("reason").isNull())


def rejected(events: DataFrame) -> DataFrame:
    return events.where(F.col("reason").isNotNull())


def reconcile(
    read: int, n_accepted: int, n_rejected: int, by_reason: dict[str, int]
) -> dict[str, int]:
    """The run's counts: records read, rows written to each table, and the rejected by reason;
    raises if any record was lost or doubled on the way."""
    if n_accepted + n_rejected != read or sum(by_reason.values()) != n_rejected:
        raise RuntimeError(
            f"reconciliation failed: accepted {n_accepted} + rejected {n_rejected} != read {read}"
            f" (rejected by reason: {by_reason})"
        )
    counts = {"read": read, "accepted": n_accepted, "rejected": n_rejected}
    counts.update({f"rejected.{reason}": n for reason, n in sorted(by_reason.items())})
    return counts


def tally(events: DataFrame, days: list[date]) -> tuple[dict[date, int], dict[date, dict]]:
    """Records per day and rejected records per day and reason, in one pass."""
    read = {d: 0 for d in days}
    by_reason: dict[date, dict[str, int]] = {d: {} for d in days}
    for r in events.groupBy("ds", "reason").count().collect():
        read[r["ds"]] += r["count"]
        if r["reason"] is not None:
            by_reason[r["ds"]][r["reason"]] = r["count"]
    return read, by_reason


# ---- job ---------------------------------------------------------------------------------------
def run_range(spark: SparkSession, settings: Settings, days: list[date]) -> dict[date, dict]:
    """Ingest ``days`` (sorted) at once: one commit per table; returns the counts per day."""
    raw = extract_days(spark, {d: settings.raw_day_dir(d.isoformat()) for d in days})
    known = read_days(spark, BRONZE_EVENTS, previous_days(days)).select("event_id", "ds")
    # Materialised once: persist() would never be reused here, since input_file_name() is
    # nondeterministic and a plan holding it never matches the cache.
    forgotten = spark.table(OPS_FORGOTTEN_USERS)
    parsed = mark_forgotten(parse_events(raw, settings), forgotten)
    events = mark_duplicates(parsed, known).localCheckpoint()
    read, by_reason = tally(events, days)
    written = overwrite_days(accepted(events), BRONZE_EVENTS, days, settings)
    quarantined = overwrite_days(rejected(events), BRONZE_REJECTED, days, settings)
    return {
        d: reconcile(read[d], written[d]["rows"], quarantined[d]["rows"], by_reason[d])
        for d in days
    }


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    return run_range(spark, settings, [ds])[ds]


if __name__ == "__main__":
    job_main("ingest", run)
