import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from jobs import ingest, raw_input
from warehouse.settings import Settings

pytestmark = pytest.mark.spark
DS = date(2026, 1, 5)
# Raw ids, to compare the tables with the input (pseudonyms: tests/test_privacy.py).
SETTINGS = Settings(late_tolerance_hours=2, pseudonymise_user_ids=False)
GOOD = {"event_id": "e1", "user_id": "u1", "item_id": "i1", "event_type": "click",
        "ts": "2026-01-05T10:00:00Z", "device": "ios"}  # fmt: skip


def _raw(spark, rows: list[tuple[str, date]]):
    """(line, ds) rows as extract_days gives them."""
    raw = spark.createDataFrame(
        [("f.jsonl", ln, ds) for ln, ds in rows], "source_file string, raw string, ds date"
    )
    return raw.select(
        "*",
        F.from_json("raw", raw_input.FIELDS_TYPE).alias("fields"),
        F.is_valid_utf8("raw").alias("valid_utf8"),
    )


def _parse(spark, lines: list[str], known_ids: list[str] | None = None):
    raw = _raw(spark, [(ln, DS) for ln in lines])
    parsed = ingest.parse_events(raw, SETTINGS)
    known = spark.createDataFrame(
        [(k, DS - timedelta(days=1)) for k in known_ids or []], "event_id string, ds date"
    )
    return ingest.mark_duplicates(parsed, known)


def _with(**changes) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not None})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"user_id": "u1", "item_id"', "unparseable"),
        ("[1, 2]", "unparseable"),
        (_with(user_id=""), "missing_user_id"),
        (_with(user_id=None), "missing_user_id"),
        (_with(item_id=None), "missing_item_id"),
        (_with(item_id={"id": 3}), "bad_value"),
        (_with(event_type=None), "missing_event_type"),
        (_with(event_type="hover"), "unknown_event_type"),
        (_with(ts="yesterday"), "bad_timestamp"),
        (_with(ts="2026-01-05T10:00:00"), "bad_timestamp"),  # no zone: ambiguous
        (_with(ts=None), "bad_timestamp"),
        (_with(event_type="rating", value="five"), "bad_value"),
        (_with(event_type="rating"), "bad_value"),
        (_with(ts="2026-01-02T10:00:00Z"), "ts_out_of_day"),
        (_with(ts="2026-01-06T02:00:01Z"), "ts_out_of_day"),
        (_with(), None),
        (_with(ts="2026-01-04T22:30:00Z"), None),  # late, within the 2 h tolerance
    ],
)
def test_each_rejection_reason(spark, line: str, reason: str | None) -> None:
    row = _parse(spark, [line]).first()
    assert row["reason"] == reason
    assert row["raw"] == line


def test_timestamps_and_weights(spark) -> None:
    rows = _parse(spark, [
        _with(event_id="a", ts="2026-01-05T12:00:00+02:00"),
        _with(event_id="b", ts=1767614400),
        _with(event_id="c", ts="1767614400000", event_type="purchase"),
        _with(event_id="d", event_type="rating", value=4.5),
    ]).orderBy("event_id").collect()  # fmt: skip
    assert [r["reason"] for r in rows] == [None] * 4
    assert str(rows[0]["ts"]) == "2026-01-05 10:00:00"
    assert str(rows[1]["ts"]) == str(rows[2]["ts"]) == "2026-01-05 12:00:00"
    assert [r["weight"] for r in rows] == [2.0, 2.0, 5.0, 4.5]
    assert rows[0]["extra"] == {"device": "ios"}


def test_duplicates_count_once(spark) -> None:
    no_id = _with(event_id=None)
    rows = _parse(
        spark, [_with(), _with(), no_id, no_id, _with(event_id="seen")], ["seen"]
    ).collect()
    reasons = sorted(str(r["reason"]) for r in rows)
    assert reasons == ["None", "None", "duplicate", "duplicate", "duplicate"]
    derived = {r["event_id"] for r in rows if r["raw"] == no_id}
    assert len(derived) == 1 and len(derived.pop()) == 64  # sha256 of the content


def test_duplicates_of_a_range_are_those_of_its_days_one_by_one(spark) -> None:
    """The dedup reaches back one day: an id on consecutive days is accepted every other day,
    so a range must chain each day's acceptance to its previous day's."""
    days = [DS + timedelta(days=n) for n in range(4)]
    ids = {0: ["a", "a", "b", "z"], 1: ["a", "b", "z"], 2: ["a", "c"], 3: ["a", "b", "c"]}
    rows = [
        (_with(event_id=i, ts=f"{days[n]}T10:00:00Z"), days[n])
        for n, day in ids.items()
        for i in day
    ]
    before = spark.createDataFrame([("z", DS - timedelta(days=1))], "event_id string, ds date")

    def marked(raw, known) -> list[tuple]:
        out = ingest.mark_duplicates(ingest.parse_events(raw, SETTINGS), known)
        return sorted((r["event_id"], r["ds"], r["reason"] or "") for r in out.collect())

    bulk = marked(_raw(spark, rows), before)
    one_by_one, known = [], before
    for day in days:
        got = marked(_raw(spark, [r for r in rows if r[1] == day]), known)
        one_by_one += got
        known = spark.createDataFrame(
            [(i, d) for i, d, reason in got if not reason], "event_id string, ds date"
        )
    assert bulk == sorted(one_by_one)
    accepted_days = {(i, (d - DS).days) for i, d, reason in bulk if not reason}
    assert accepted_days == {("a", 0), ("a", 2), ("b", 0), ("b", 3), ("z", 1), ("c", 2)}


def test_reconcile_refuses_a_mismatch() -> None:
    assert ingest.reconcile(5, 3, 2, {"duplicate": 2})["rejected"] == 2
    with pytest.raises(RuntimeError, match="reconciliation failed"):
        ingest.reconcile(5, 3, 1, {"duplicate": 1})  # a record lost
    with pytest.raises(RuntimeError, match="reconciliation failed"):
        ingest.reconcile(5, 3, 2, {"duplicate": 1})  # a rejected row written twice


def test_extract_reads_every_format(spark, tmp_path: Path) -> None:
    day = tmp_path / "ds=2026-01-05"
    day.mkdir()
    (day / "a.jsonl").write_text(_with(event_id="j1") + "\nnot json\n")
    (day / "b.csv").write_text(
        "event_id,user_id,item_id,event_type,ts,color\nc1,u2,i2,view,1767614400,red\n"
    )
    table = pa.table({"event_id": ["p1"], "user_id": ["u3"], "item_id": ["i3"], "event_type": ["cart"],
                      "ts": [1767614400]})  # fmt: skip
    pq.write_table(table, day / "c.parquet")
    (day / "_manifest.json").write_text("{}")
    raw = raw_input.extract_days(spark, {DS: day})
    parsed = ingest.parse_events(raw, SETTINGS).orderBy("event_id").collect()
    assert len(parsed) == 4
    by_id = {r["event_id"]: r for r in parsed if r["reason"] is None}
    assert set(by_id) == {"c1", "j1", "p1"}
    assert by_id["c1"]["extra"] == {"color": "red"}
    assert json.loads(by_id["p1"]["raw"])["user_id"] == "u3"
    assert [r["reason"] for r in parsed if r["reason"]] == ["unparseable"]


def test_missing_day_is_a_clear_error(spark, tmp_path: Path) -> None:
    with pytest.raises(raw_input.NoRawData, match="no raw data for this day"):
        raw_input.extract_days(spark, {date(2026, 1, 9): tmp_path / "ds=2026-01-09"})


def test_days_are_read_together_by_header_and_take_their_folder_day(spark, tmp_path: Path) -> None:
    """CSV files with one header are one read; a file with another header is read alone (CSV
    columns are positional: reading it with the others would mislabel them)."""
    days = {DS + timedelta(days=n): tmp_path / f"ds={DS + timedelta(days=n)}" for n in range(3)}
    for n, folder in enumerate(days.values()):
        folder.mkdir()
        header = (
            "event_id,user_id,item_id,event_type,ts"
            if n < 2
            else "user_id,event_id,item_id,event_type,ts"
        )
        (folder / "a.csv").write_text(
            f"{header}\n"
            + (f"c{n},u{n},i1,view,1767614400\n" if n < 2 else f"u{n},c{n},i1,view,1767614400\n")
        )
    files = [raw_input.describe(folder / "a.csv") for folder in days.values()]
    assert [len(g) for g in raw_input.group_by(files, raw_input.csv_header)] == [2, 1]
    rows = raw_input.extract_days(spark, days).collect()
    got = sorted((r["ds"], r["fields"]["event_id"], r["fields"]["user_id"]) for r in rows)
    assert got == [(d, f"c{n}", f"u{n}") for n, d in enumerate(days)]
