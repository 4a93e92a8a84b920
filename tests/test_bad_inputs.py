"""The bad-input corpus: files as log shippers write them, each kind with its expected outcome.

A kind is a raw day folder. Record kinds are ingested together (one day each, one run) and
must give exactly the expected accepted records (by user and item, so a mislabelled column
fails too) and rejected records by reason: accepted + rejected = read, nothing skipped. Loud
kinds must stop the run with one line naming the file or folder.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import record_scenario
from pyspark.sql import functions as F

from jobs import ingest, raw_input
from warehouse.tables import BRONZE_EVENTS, BRONZE_REJECTED

pytestmark = pytest.mark.spark
FIRST_DAY = date(2026, 3, 1)
COLUMNS = ("event_id", "user_id", "item_id", "event_type", "ts")


@dataclass
class Day:
    """A kind's folder: files by name, the records expected in bronze.events as (user, item),
    and the expected rejected records by reason."""

    files: dict[str, bytes]
    accepted: list[tuple[str, str]]
    rejected: dict[str, int] = field(default_factory=dict)


def event(day: date, user: str, item: str = "i1", **changes: object) -> dict:
    record = {"user_id": user, "item_id": item, "event_type": "click", "ts": f"{day}T10:00:00Z"}
    return {k: v for k, v in {**record, **changes}.items() if v is not None}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def csv(*records: dict, columns: tuple[str, ...] = COLUMNS[1:], newline: str = "\n") -> bytes:
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in records]
    return (newline.join(lines) + newline).encode()


def parquet(*records: dict) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(list(records)), buffer)
    return buffer.getvalue()


def zstd(data: bytes) -> bytes:
    return pa.compress(data, codec="zstd", asbytes=True)


def pairs(*records: dict) -> list[tuple[str, str]]:
    return [(str(r["user_id"]), str(r["item_id"])) for r in records]


# ---- record kinds: name -> the day's folder --------------------------------------------------
def plain_jsonl(d: date) -> Day:
    good = [event(d, "u1"), event(d, "u2")]
    return Day({"a.jsonl": jsonl(*good)}, pairs(*good))


def gzip_jsonl(d: date) -> Day:
    good = [event(d, "u1"), event(d, "u2")]
    return Day({"a.jsonl.gz": gzip.compress(jsonl(*good))}, pairs(*good))


def bz2_jsonl(d: date) -> Day:
    good = [event(d, "u1"), event(d, "u2")]
    return Day({"a.jsonl.bz2": bz2.compress(jsonl(*good))}, pairs(*good))


def zstd_jsonl(d: date) -> Day:
    good = [event(d, "u1"), event(d, "u2")]
    return Day({"a.ndjson.zst": zstd(jsonl(*good))}, pairs(*good))


def compressed_csv(d: date) -> Day:
    a, b, c = event(d, "u1"), event(d, "u2"), event(d, "u3")
    files = {"a.csv.gz": gzip.compress(csv(a)), "b.csv.bz2": bz2.compress(csv(b)),
             "c.csv.zst": zstd(csv(c))}  # fmt: skip
    return Day(files, pairs(a, b, c))


def mixed_formats(d: date) -> Day:
    """The reported loss: a .jsonl beside a .jsonl.gz read the .jsonl only."""
    r = [event(d, f"u{n}") for n in range(6)]
    files = {"a.jsonl": jsonl(r[0]), "b.jsonl.gz": gzip.compress(jsonl(r[1])), "c.csv": csv(r[2]),
             "d.csv.bz2": bz2.compress(csv(r[3])), "e.parquet": parquet(r[4]),
             "f.json": jsonl(r[5])}  # fmt: skip
    return Day(files, pairs(*r))


def empty_files(d: date) -> Day:
    """The reported stop: a zero-byte .parquet beside good files failed the whole day."""
    good = event(d, "u1")
    files = {name: b"" for name in ("a.parquet", "b.jsonl", "c.csv", "d.jsonl.gz")}
    return Day({**files, "e.jsonl": jsonl(good)}, pairs(good))


def empty_content(d: date) -> Day:
    good = event(d, "u1")
    files = {"a.jsonl.gz": gzip.compress(b""), "b.csv.gz": gzip.compress(b""), "c.csv": csv(),
             "d.parquet": _empty_parquet(), "e.jsonl": b"\n\n"}  # fmt: skip
    return Day({**files, "f.jsonl": jsonl(good)}, pairs(good), {"unparseable": 2})


def _empty_parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({c: pa.array([], pa.string()) for c in COLUMNS}), buffer)
    return buffer.getvalue()


def byte_order_marks(d: date) -> Day:
    a, b = event(d, "u1"), event(d, "u2")
    files = {"a.jsonl": b"\xef\xbb\xbf" + jsonl(a), "b.csv": b"\xef\xbb\xbf" + csv(b)}
    return Day(files, pairs(a, b))


def crlf_lines(d: date) -> Day:
    a, b, c = event(d, "u1"), event(d, "u2"), event(d, "u3", event_type="rating", value=4)
    files = {"a.jsonl": jsonl(a, c).replace(b"\n", b"\r\n"), "b.csv": csv(b, newline="\r\n")}
    return Day(files, pairs(a, c, b))


def csv_headers_in_other_orders(d: date) -> Day:
    a, b = event(d, "u1", "i1"), event(d, "u2", "i2")
    files = {"a.csv": csv(a), "b.csv": csv(b, columns=("ts", "item_id", "event_type", "user_id"))}
    return Day(files, pairs(a, b))


def parquet_schemas_differ(d: date) -> Day:
    a = event(d, "u1", device="ios")
    b = event(d, "u2", ts=int(datetime(d.year, d.month, d.day, 10, tzinfo=UTC).timestamp()))
    return Day({"a.parquet": parquet(a), "b.parquet": parquet(b)}, pairs(a, b))


def invalid_utf8(d: date) -> Day:
    """The reported rewrite: distinct ids with invalid bytes became one 'u\\ufffd\\ufffd'."""
    good = event(d, "u1")
    bad = [jsonl(event(d, "u-a")).replace(b"u-a", b"u\xff\xfe"),
           jsonl(event(d, "u-b")).replace(b"u-b", b"u\xfe\xff")]  # fmt: skip
    return Day({"a.jsonl": b"".join(bad) + jsonl(good)}, pairs(good), {"bad_encoding": 2})


def invalid_utf8_csv(d: date) -> Day:
    good = event(d, "u1")
    text = csv(good) + f"u\xff,i2,click,{d}T10:00:00Z\n".encode("latin-1")
    return Day({"a.csv": text}, pairs(good), {"bad_encoding": 1})


def replacement_character(d: date) -> Day:
    good = event(d, "u1")
    return Day({"a.jsonl": jsonl(good, event(d, "u\ufffd"))}, pairs(good), {"bad_encoding": 1})


def nul_bytes(d: date) -> Day:
    good = event(d, "u1")
    raw_nul = jsonl(event(d, "u2")).replace(b'"u2"', b'"u\x002"')
    lines = raw_nul + jsonl(event(d, "u\x003")) + b"\x00\x00\x00\n" + jsonl(good)
    return Day({"a.jsonl": lines}, pairs(good),
               {"unparseable": 2, "id_control_character": 1})  # fmt: skip


def control_characters(d: date) -> Day:
    good = event(d, "u1")
    bad = [event(d, "u2", "i\t2"), event(d, "u3", "i\x7f3"), event(d, "u4", event_id="e\n4")]
    return Day({"a.jsonl": jsonl(good, *bad)}, pairs(good), {"id_control_character": 3})


def long_ids(d: date) -> Day:
    """The reported flood: a 1,000,000-character item id was accepted."""
    at_bound = event(d, "u" * 256)
    bad = [event(d, "u1", "i" * 1_000_000), event(d, "u" * 257), event(d, "u2", event_id="e" * 300)]
    return Day({"a.jsonl": jsonl(at_bound, *bad)}, pairs(at_bound), {"id_too_long": 3})


def very_long_lines(d: date) -> Day:
    long_ok = event(d, "u1", note="x" * 500_000)
    too_long = event(d, "u2", note="x" * (1 << 20))
    return Day({"a.jsonl": jsonl(long_ok, too_long)}, pairs(long_ok), {"record_too_long": 1})


def numbers_as_ids(d: date) -> Day:
    a = event(d, 42, 7)  # type: ignore[arg-type]
    b = event(d, "43", "8")
    return Day({"a.jsonl": jsonl(a), "b.csv": csv(b)}, pairs(a, b))


def structured_ids(d: date) -> Day:
    good = event(d, "u1")
    bad = [event(d, "u2", ["i1", "i2"]), event(d, {"id": 3})]  # type: ignore[arg-type]
    return Day({"a.jsonl": jsonl(good, *bad)}, pairs(good), {"bad_value": 2})


def duplicate_ids_across_files(d: date) -> Day:
    first = event(d, "u1", event_id="dup-1")
    again = event(d, "u1", event_id="dup-1", ts=f"{d}T11:00:00Z")
    return Day({"a.jsonl": jsonl(first), "b.jsonl.gz": gzip.compress(jsonl(again))},
               pairs(first), {"duplicate": 1})  # fmt: skip


def tolerance_boundaries(d: date) -> Day:
    """late_tolerance_hours = 2: [D - 2 h, D + 1 + 2 h) is accepted."""
    before, after = d - timedelta(days=1), d + timedelta(days=1)
    edges = [event(d, "u1", ts=f"{before}T22:00:00Z"), event(d, "u2", ts=f"{after}T01:59:59Z")]
    out = [event(d, "u3", ts=f"{before}T21:59:59Z"), event(d, "u4", ts=f"{after}T02:00:00Z")]
    return Day({"a.jsonl": jsonl(*edges, *out)}, pairs(*edges), {"ts_out_of_day": 2})


ISO_FORMS = ("{d}T10:00+00:00", "{d}t10:00:00z", "{d} 10:00:00Z", "{d}T11:00:00+01",
             "{d}T11:00:00+0100", "{b}T100000Z", "{b}T1000Z", "{d}T10Z", "{d}T10:00:00,5Z",
             "{d}T10:00:00.123456789Z", "{d}T09:59:60Z", "{d}T10:00:00 +00:00")  # fmt: skip


def iso_8601_forms(d: date) -> Day:
    """The reported rejection: '2026-03-06T10:00+00:00' and lower-case t/z were refused."""
    basic = d.strftime("%Y%m%d")
    good = [event(d, f"u{n}", ts=form.format(d=d, b=basic)) for n, form in enumerate(ISO_FORMS)]
    bad = [event(d, "x1", ts=f"{d}T10:00"), event(d, "x2", ts=f"{d}T25:00Z"),
           event(d, "x3", ts="2026-02-30T10:00Z")]  # fmt: skip
    return Day({"a.jsonl": jsonl(*good, *bad)}, pairs(*good), {"bad_timestamp": 3})


RECORD_KINDS: dict[str, Callable[[date], Day]] = {
    f.__name__: f
    for f in (plain_jsonl, gzip_jsonl, bz2_jsonl, zstd_jsonl, compressed_csv, mixed_formats,
              empty_files, empty_content, byte_order_marks, crlf_lines,
              csv_headers_in_other_orders, parquet_schemas_differ, invalid_utf8, invalid_utf8_csv,
              replacement_character, nul_bytes, control_characters, long_ids, very_long_lines,
              numbers_as_ids, structured_ids, duplicate_ids_across_files, tolerance_boundaries,
              iso_8601_forms)
}  # fmt: skip

# ---- loud kinds: name -> (files, or None for no folder; the error; what its line says) --------
GOOD_LINE = jsonl(event(FIRST_DAY, "u1"))
LOUD_KINDS: dict[str, tuple[dict[str, bytes] | None, type[Exception], str]] = {
    "unknown_suffix": ({"a.jsonl": GOOD_LINE, "b.txt": b"hello\n"}, raw_input.UnreadableRawFile,
                       r"b\.txt: not a raw log file"),
    "upper_case_codec": ({"a.jsonl.GZ": gzip.compress(GOOD_LINE)}, raw_input.UnreadableRawFile,
                         r"a\.jsonl\.GZ: not a raw log file"),
    "gzip_named_plain": ({"a.jsonl": gzip.compress(GOOD_LINE)}, raw_input.UnreadableRawFile,
                         r"a\.jsonl: holds gzip but its name says plain jsonl"),
    "plain_named_gzip": ({"a.jsonl.gz": GOOD_LINE}, raw_input.UnreadableRawFile,
                         r"a\.jsonl\.gz: holds plain data but its name says gzip"),
    "utf16_text": ({"a.jsonl": GOOD_LINE.decode().encode("utf-16")}, raw_input.UnreadableRawFile,
                   "holds UTF-16 text"),
    "truncated_parquet": ({"a.parquet": parquet(event(FIRST_DAY, "u1"))[:40]},
                          raw_input.UnreadableRawFile, r"a\.parquet: not a readable Parquet"),
    "not_parquet": ({"a.parquet": GOOD_LINE}, raw_input.UnreadableRawFile,
                    "holds plain data but its name says parquet"),
    "folder_in_day": ({"a.jsonl": GOOD_LINE, "more/b.jsonl": GOOD_LINE},
                      raw_input.UnreadableRawFile, "a folder inside a day folder"),
    "only_empty_files": ({"a.jsonl": b"", "b.parquet": b""}, raw_input.NoRawData,
                         "no raw data for this day"),
    "empty_day_folder": ({}, raw_input.NoRawData, "no raw data for this day"),
    "missing_day_folder": (None, raw_input.NoRawData, "no raw data for this day"),
}  # fmt: skip


def write_day(settings, day: date, files: dict[str, bytes]) -> None:
    folder = settings.raw_day_dir(day.isoformat())
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(content)


def describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def test_corpus_has_enough_kinds() -> None:
    assert len(RECORD_KINDS) + len(LOUD_KINDS) >= 25


def test_every_record_kind_gives_its_expected_outcome(spark, make_warehouse) -> None:
    settings = make_warehouse(late_tolerance_hours=2)
    days = {FIRST_DAY + timedelta(days=n): name for n, name in enumerate(RECORD_KINDS)}
    expected = {d: RECORD_KINDS[name](d) for d, name in days.items()}
    for d, day in expected.items():
        write_day(settings, d, day.files)

    counts = ingest.run_range(spark, settings, list(days))

    events = spark.table(BRONZE_EVENTS).select("ds", "user_id", "item_id").collect()
    got_pairs = {
        d: sorted((r["user_id"], r["item_id"]) for r in events if r["ds"] == d) for d in days
    }
    stored = settings.stored_user_ids()  # the tables hold pseudonyms
    failures = []
    for d, day in expected.items():
        want = {"read": len(day.accepted) + sum(day.rejected.values()),
                "accepted": len(day.accepted), "rejected": sum(day.rejected.values()),
                **{f"rejected.{r}": n for r, n in day.rejected.items()}}  # fmt: skip
        pairs_held = got_pairs[d] == sorted((stored(u), i) for u, i in day.accepted)
        held = counts[d] == want and pairs_held
        record_scenario(f"bad input: {days[d]}", describe(want), describe(counts[d])
                        + ("" if pairs_held else "; other records accepted"), held)  # fmt: skip
        if not held:
            failures.append(f"{days[d]}: counts {counts[d]} != {want} or pairs differ")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", sorted(LOUD_KINDS))
def test_every_loud_kind_stops_the_run_with_one_line(spark, make_warehouse, kind: str) -> None:
    files, error, says = LOUD_KINDS[kind]
    settings = make_warehouse()
    if files is not None:
        write_day(settings, FIRST_DAY, files)
    try:
        ingest.run(spark, settings, FIRST_DAY)
        happened = "no error"
    except Exception as exc:  # noqa: BLE001 - any other error is what the test reports
        happened = f"{type(exc).__name__}: {exc}"
    held = happened.startswith(error.__name__) and bool(re.search(says, happened))
    held = held and "\n" not in happened
    record_scenario(f"bad input: {kind}", f"{error.__name__}, one line: /{says}/", happened, held)
    assert held, happened


def test_rejected_records_say_what_is_wrong(spark, make_warehouse) -> None:
    settings = make_warehouse()
    d = FIRST_DAY
    records = jsonl(event(d, "u2", ["i1", "i2"]), event(d, "u3", "i" * 300),
                    event(d, "u4", "i\t4"), event(d, "u5", note="x" * (1 << 20)))  # fmt: skip
    write_day(settings, d, {"a.jsonl": records + b'{"user_id": "u\xff"}\n'})
    ingest.run(spark, settings, d)
    rows = spark.table(BRONZE_REJECTED).select("reason", "detail", F.length("raw").alias("n"))
    by_reason = {r["reason"]: (r["detail"], r["n"]) for r in rows.collect()}
    assert by_reason["bad_value"][0] == 'item_id=["i1","i2"]'
    assert by_reason["id_too_long"][0] == "item_id: 300 characters (max 256)"
    assert by_reason["id_control_character"][0] == '{"item_id":"i\\t4"}'
    assert by_reason["record_too_long"][1] == ingest.QUARANTINED_RAW_CHARS
    bad_bytes = b'{"user_id": "u\xff"}'.hex().upper()
    assert by_reason["bad_encoding"][0] == f"not UTF-8; first bytes: {bad_bytes}"
