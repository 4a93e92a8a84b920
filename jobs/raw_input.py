"""extract: the raw files of one or more days, read into records for ingest.

A day folder (``RAW/ds=YYYY-MM-DD/``) holds JSON lines (``.jsonl``, ``.ndjson``, ``.json``) and
CSV with a header (``.csv``), each plain or compressed (``.gz``, ``.bz2``, ``.zst``), and
Parquet. Names starting with ``.`` or ``_`` are skipped, as Hadoop and Spark skip them
(``_SUCCESS``, ``.crc``, the generator's ``_manifest.json``). Any other file, or a file whose
first bytes contradict its name (gzip data named ``.jsonl``, UTF-16 text), stops the run with one
line naming it: Spark picks a codec by name, so such a file would be skipped or read as garbage
without a word. Empty files hold zero records and are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from upath import UPath

from warehouse.settings import Settings

FIELDS_TYPE = T.MapType(T.StringType(), T.StringType())
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
           ".parquet": "parquet"}  # fmt: skip
# Lower case only: Hadoop matches a codec's suffix exactly, so "x.jsonl.GZ" would be read as
# plain text.
CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
MAGIC = (
    ("gzip", b"\x1f\x8b"),
    ("bz2", b"BZh"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("parquet", b"PAR1"),
    ("UTF-16 text", b"\xff\xfe"),
    ("UTF-16 text", b"\xfe\xff"),
)
RECORD_SCHEMA = T.StructType([
    T.StructField("source_file", T.StringType()), T.StructField("raw", T.StringType()),
    T.StructField("fields", FIELDS_TYPE), T.StructField("valid_utf8", T.BooleanType()),
])  # fmt: skip
ACCEPTED = ".jsonl/.ndjson/.json/.csv (plain, .gz, .bz2 or .zst) or .parquet"
BOM = "\ufeff"


class NoRawData(FileNotFoundError):
    """The day's raw folder is missing or holds no non-empty raw file."""


def no_raw_data(day_dir: Path) -> NoRawData:
    return NoRawData(f"no raw data for this day: {day_dir} has no non-empty raw file ({ACCEPTED})")


class UnreadableRawFile(ValueError):
    """A file in a day folder that ingest cannot read as its name says."""


@dataclass(frozen=True)
class RawFile:
    path: str
    format: str  # jsonl | csv | parquet
    codec: str | None  # None: not compressed


# ---- which files ---------------------------------------------------------------------------
def describe(path: Path) -> RawFile | None:
    """The file's format and codec from its name, checked against its first bytes; None for an
    empty file (zero records). Raises ``UnreadableRawFile`` for anything else."""
    stem, codec = path.name, None
    for suffix, name in CODECS.items():
        if stem.endswith(suffix):
            stem, codec = stem.removesuffix(suffix), name
    fmt = next((f for s, f in FORMATS.items() if stem.lower().endswith(s)), None)
    if fmt is None or (fmt == "parquet" and codec):
        raise UnreadableRawFile(f"{path}: not a raw log file ({ACCEPTED}); move it elsewhere")
    with path.open("rb") as f:
        head = f.read(4)
    if not head:
        return None
    found = next((kind for kind, magic in MAGIC if head.startswith(magic)), None)
    expected = codec or ("parquet" if fmt == "parquet" else None)
    if found != expected:
        raise UnreadableRawFile(
            f"{path}: holds {found or 'plain data'} but its name says {expected or 'plain ' + fmt}"
        )
    return RawFile(str(path), fmt, codec)


def raw_files(day_dir: Path) -> list[RawFile]:
    """The day's non-empty raw files, in name order."""
    files = []
    for path in sorted(day_dir.iterdir()):
        if path.name.startswith((".", "_")):
            continue
        if path.is_dir():
            raise UnreadableRawFile(f"{path}: a folder inside a day folder is not read")
        described = describe(path)
        if described:
            files.append(described)
    return files


def has_raw_data(day_dir: Path) -> bool:
    return day_dir.is_dir() and bool(raw_files(day_dir))


def days_with_raw_data(settings: Settings, first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last`` whose raw folder holds a non-empty raw file."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [d for d in days if has_raw_data(settings.raw_day_dir(d.isoformat()))]


# ---- read ----------------------------------------------------------------------------------
def extract_days(spark: SparkSession, day_dirs: dict[date, Path]) -> DataFrame:
    """The days' records as (source_file, raw, fields: map<string,string>, null if unparseable,
    valid_utf8: false if the record's bytes are not UTF-8, ds: the day of the file's folder).

    One read per format (a union of one read per day makes every task carry every day's plan):
    JSON lines all at once (Hadoop decompresses by suffix); CSV and Parquet files grouped by
    header / schema, so each file is read with its own columns whichever files it is read with.
    """
    files: list[RawFile] = []
    for ds, day_dir in day_dirs.items():
        if day_dir.name != f"ds={ds.isoformat()}":  # the day is read back from the folder name
            raise ValueError(f"{day_dir}: the raw folder of {ds} must be named ds={ds}")
        day_files = raw_files(day_dir) if day_dir.is_dir() else []
        if not day_files:
            raise no_raw_data(day_dir)
        files.extend(day_files)

    def of(fmt: str) -> list[RawFile]:
        return [f for f in files if f.format == fmt]

    parts = []
    if of("jsonl"):
        parts.append(_lines(spark.read.text([f.path for f in of("jsonl")])))
    for group in group_by(of("csv"), csv_header):
        parts.append(_tabular(spark.read.option("header", True).csv(group)))
    for group in group_by(of("parquet"), parquet_schema):
        parts.append(_tabular(spark.read.parquet(*group)))
    if not parts:  # only compressed CSV files without a line
        parts.append(spark.createDataFrame([], RECORD_SCHEMA))
    day = F.regexp_extract("source_file", r"/ds=(\d{4}-\d{2}-\d{2})/[^/]*$", 1)
    return reduce(DataFrame.unionByName, parts).withColumn("ds", F.to_date(day))


def group_by(files: Iterable[RawFile], signature: Callable[[RawFile], object]) -> list[list[str]]:
    """Paths of files that share a signature (CSV header, Parquet schema), one list per
    signature: Spark reads a group with one header or schema. Files whose signature is empty (a
    compressed CSV with no line) hold no record and are left out."""
    groups: dict[object, list[str]] = {}
    for f in files:
        key = signature(f)
        if key:
            groups.setdefault(key, []).append(f.path)
    return list(groups.values())


def csv_header(f: RawFile) -> str:
    head = b""
    with UPath(f.path).open("rb") as raw, pa.input_stream(raw, compression=f.codec) as stream:
        while b"\n" not in head and (chunk := stream.read(1 << 16)):
            head += chunk
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").removeprefix(BOM).rstrip()


def parquet_schema(f: RawFile) -> str:
    try:
        with UPath(f.path).open("rb") as raw:
            return pq.read_schema(raw).to_string()
    except (pa.ArrowInvalid, OSError) as exc:
        why = str(exc).strip().splitlines()[0]
        raise UnreadableRawFile(f"{f.path}: not a readable Parquet file ({why})") from exc


def _lines(text: DataFrame) -> DataFrame:
    """JSON lines: a byte-order mark at a file's start is not part of the record."""
    value = F.col("value")
    raw = F.when(value.startswith(BOM), F.expr("substr(value, 2)")).otherwise(value)
    return text.select(
        F.input_file_name().alias("source_file"),
        raw.alias("raw"),
        F.from_json(raw, FIELDS_TYPE).alias("fields"),
        F.is_valid_utf8(value).alias("valid_utf8"),
    )


def _tabular(df: DataFrame) -> DataFrame:
    """CSV/Parquet rows as text fields; the raw text of a row is the row rendered as JSON.
    (Spark's CSV reader decodes as it reads, so invalid bytes of a CSV file arrive as U+FFFD:
    ingest rejects those; Parquet strings keep their bytes and are checked here.)"""
    as_text = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
    entries = [F.struct(F.lit(c).alias("key"), F.col(c).alias("value")) for c in as_text.columns]
    fields = F.map_filter(F.map_from_entries(F.array(*entries)), lambda k, v: v.isNotNull())
    return as_text.select(
        F.input_file_name().alias("source_file"),
        F.to_json(F.struct(*as_text.columns)).alias("raw"),
        fields.alias("fields"),
        F.is_valid_utf8(F.concat_ws("", *as_text.columns)).alias("valid_utf8"),
    )
