"""ingest: raw logs of one ds (JSONL / CSV / Parquet) -> bronze.events + bronze.events_rejected.

Every record read ends in exactly one of the two tables: accepted + rejected = read, checked on
every run. A rejected record keeps its raw text and the reason (first failing check wins).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.config import Settings
from jobs.delta_io import overwrite_day, read_day, record_run
from jobs.jobmain import job_main
from jobs.tables import BRONZE_EVENTS, BRONZE_REJECTED

CONTRACT_FIELDS = ("event_id", "user_id", "item_id", "event_type", "ts")
FIELDS_TYPE = T.MapType(T.StringType(), T.StringType())
ZONED_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
EPOCH = r"^-?\d+(\.\d+)?$"


class NoRawData(FileNotFoundError):
    """The day's raw folder is missing or holds no JSONL/CSV/Parquet file."""


# ---- extract -----------------------------------------------------------------------------------
def raw_files(day_dir: Path) -> dict[str, list[str]]:
    """Raw files of the day by format; hidden files and the generator's manifest are skipped."""
    found: dict[str, list[str]] = {}
    for suffix, fmt in ((".jsonl", "jsonl"), (".json", "jsonl"), (".csv", "csv")):
        found.setdefault(fmt, []).extend(str(p) for p in sorted(day_dir.glob(f"[!._]*{suffix}")))
    found["parquet"] = [str(p) for p in sorted(day_dir.glob("[!._]*.parquet"))]
    return {fmt: files for fmt, files in found.items() if files}


def extract(spark: SparkSession, day_dir: Path) -> DataFrame:
    """The day's records as (source_file, raw, fields: map<string,string>, null if unparseable)."""
    files = raw_files(day_dir) if day_dir.is_dir() else {}
    if not files:
        raise NoRawData(f"no raw data for this day: {day_dir} has no .jsonl/.csv/.parquet file")
    parts = []
    if "jsonl" in files:
        lines = spark.read.text(files["jsonl"]).select(
            F.input_file_name().alias("source_file"), F.col("value").alias("raw")
        )
        parts.append(lines.withColumn("fields", F.from_json("raw", FIELDS_TYPE)))
    if "csv" in files:
        parts.append(_tabular(spark.read.option("header", True).csv(files["csv"])))
    if "parquet" in files:
        parts.append(_tabular(spark.read.parquet(*files["parquet"])))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def _tabular(df: DataFrame) -> DataFrame:
    """CSV/Parquet rows as text fields; the raw text of a row is the row rendered as JSON."""
    as_text = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
    entries = [F.struct(F.lit(c).alias("key"), F.col(c).alias("value")) for c in as_text.columns]
    fields = F.map_filter(F.map_from_entries(F.array(*entries)), lambda k, v: v.isNotNull())
    return as_text.select(
        F.input_file_name().alias("source_file"),
        F.to_json(F.struct(*as_text.columns)).alias("raw"),
        fields.alias("fields"),
    )


# ---- transform ---------------------------------------------------------------------------------
def _blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def parse_ts(text: Column) -> Column:
    """ISO-8601 with a zone, or epoch seconds / milliseconds (>= 1e11 is read as ms); else null."""
    text = F.trim(text)
    number = text.try_cast("double")
    seconds = F.when(F.abs(number) >= 1e11, number / 1000).otherwise(number)
    return (
        F.when(text.rlike(EPOCH), F.timestamp_seconds(seconds))
        .when(text.rlike(ZONED_ISO), text.try_cast("timestamp"))
        .otherwise(F.lit(None).cast("timestamp"))
    )


def parse_events(
    raw: DataFrame, ds: date, event_weights: dict[str, float], late_tolerance_hours: float
) -> DataFrame:
    """Typed event columns plus ``reason``/``detail`` (null reason = valid so far)."""
    f = F.col("fields")
    ts = parse_ts(f["ts"])
    value = F.trim(f["value"]).try_cast("double")
    known = F.array(*[F.lit(t) for t in sorted(event_weights)])
    weight_of_type = F.create_map(
        *[x for t, w in event_weights.items() for x in (F.lit(t), F.lit(w))]
    )
    tolerance = F.expr(f"INTERVAL {int(late_tolerance_hours * 3600)} SECONDS")
    day_start = F.lit(f"{ds.isoformat()} 00:00:00").cast("timestamp")
    day_end = F.lit(f"{(ds + timedelta(days=1)).isoformat()} 00:00:00").cast("timestamp")
    structured = F.trim(f["user_id"]).startswith("{") | F.trim(f["user_id"]).startswith("[")
    structured |= F.trim(f["item_id"]).startswith("{") | F.trim(f["item_id"]).startswith("[")
    is_rating = f["event_type"] == "rating"
    reason = (
        F.when(f.isNull(), F.lit("unparseable"))
        .when(_blank(f["user_id"]), F.lit("missing_user_id"))
        .when(_blank(f["item_id"]), F.lit("missing_item_id"))
        .when(structured, F.lit("bad_value"))
        .when(_blank(f["event_type"]), F.lit("missing_event_type"))
        .when(~F.array_contains(known, f["event_type"]), F.lit("unknown_event_type"))
        .when(ts.isNull(), F.lit("bad_timestamp"))
        .when(is_rating & value.isNull(), F.lit("bad_value"))
        .when((ts < day_start - tolerance) | (ts >= day_end + tolerance), F.lit("ts_out_of_day"))
    )
    detail = (
        F.when(reason == "unknown_event_type", F.concat(F.lit("event_type="), f["event_type"]))
        .when(reason == "bad_timestamp", F.concat(F.lit("ts="), F.coalesce(f["ts"], F.lit("null"))))
        .when(reason == "ts_out_of_day", F.concat(F.lit("ts="), ts.cast("string")))
        .when(
            reason == "bad_value", F.concat(F.lit("value="), F.coalesce(f["value"], f["user_id"]))
        )
    )
    ts_ms = (F.unix_micros(ts) / 1000).cast("long").cast("string")
    content_hash = F.sha2(
        F.concat_ws(
            "|",
            f["user_id"],
            f["item_id"],
            f["event_type"],
            ts_ms,
            F.coalesce(f["value"], F.lit("")),
        ),
        256,
    )
    return raw.select(
        "source_file",
        "raw",
        F.when(_blank(f["event_id"]), content_hash)
        .otherwise(F.trim(f["event_id"]))
        .alias("event_id"),
        F.trim(f["user_id"]).alias("user_id"),
        F.trim(f["item_id"]).alias("item_id"),
        f["event_type"].alias("event_type"),
        F.when(is_rating, value).otherwise(weight_of_type[f["event_type"]]).alias("weight"),
        ts.alias("ts"),
        F.map_filter(f, lambda k, v: ~k.isin(*CONTRACT_FIELDS)).alias("extra"),
        reason.alias("reason"),
        detail.alias("detail"),
        F.lit(ds).alias("ds"),
    )


def mark_duplicates(events: DataFrame, known_event_ids: DataFrame) -> DataFrame:
    """Valid rows whose event_id was already accepted (``known_event_ids``: the previous day) or
    appears earlier in this day's input get reason 'duplicate': each event counts once."""
    known = known_event_ids.select("event_id", F.lit(True).alias("_known")).distinct()
    first = Window.partitionBy("event_id").orderBy("source_file", "ts", "raw")
    valid = F.col("reason").isNull()
    ranked = events.join(known, "event_id", "left").withColumn(
        "_rank", F.when(valid, F.row_number().over(first))
    )
    is_dup = valid & (F.col("_known").isNotNull() | (F.col("_rank") > 1))
    return ranked.select(
        *[c for c in events.columns if c not in ("reason", "detail")],
        F.when(is_dup, F.lit("duplicate")).otherwise(F.col("reason")).alias("reason"),
        F.when(is_dup, F.concat(F.lit("event_id="), F.col("event_id")))
        .otherwise(F.col("detail"))
        .alias("detail"),
    )


def accepted(events: DataFrame) -> DataFrame:
    return events.where(F.col("reason").isNull())


def rejected(events: DataFrame) -> DataFrame:
    return events.where(F.col("reason").isNotNull())


def reconcile(read: int, n_accepted: int, by_reason: dict[str, int]) -> dict[str, int]:
    """The run's counts; raises if any record was lost or doubled."""
    n_rejected = sum(by_reason.values())
    if n_accepted + n_rejected != read:
        raise RuntimeError(
            f"reconciliation failed: accepted {n_accepted} + rejected {n_rejected} != read {read}"
        )
    counts = {"read": read, "accepted": n_accepted, "rejected": n_rejected}
    counts.update({f"rejected.{reason}": n for reason, n in sorted(by_reason.items())})
    return counts


# ---- job ---------------------------------------------------------------------------------------
def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    raw = extract(spark, settings.raw_day_dir(ds.isoformat()))
    previous = spark.table(BRONZE_EVENTS).where(F.col("ds") == F.lit(ds - timedelta(days=1)))
    events = mark_duplicates(
        parse_events(raw, ds, settings.event_weights, settings.late_tolerance_hours),
        previous.select("event_id"),
    ).persist()
    try:
        read = events.count()
        overwrite_day(accepted(events), BRONZE_EVENTS, ds, settings)
        overwrite_day(rejected(events), BRONZE_REJECTED, ds, settings)
        written = read_day(spark, BRONZE_EVENTS, ds).count()
        by_reason = {
            r["reason"]: r["count"]
            for r in read_day(spark, BRONZE_REJECTED, ds).groupBy("reason").count().collect()
        }
    finally:
        events.unpersist()
    counts = reconcile(read, written, by_reason)
    record_run(spark, settings, "ingest", ds, counts)
    return counts


if __name__ == "__main__":
    job_main("ingest", run)
