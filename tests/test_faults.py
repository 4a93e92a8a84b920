"""Faults inside the warehouse: what a step says when a table's data file is damaged."""

from __future__ import annotations

import json
from datetime import date

import pytest
from py4j.protocol import Py4JJavaError

from jobs import ingest, sessionize
from jobs.jobmain import one_line_errors
from warehouse.tables import BRONZE_EVENTS

pytestmark = pytest.mark.spark
DS = date(2026, 8, 1)


def test_a_truncated_data_file_stops_the_step_with_one_line_naming_it(
    spark, make_warehouse, capsys
) -> None:
    settings = make_warehouse()
    folder = settings.raw_day_dir(DS.isoformat())
    folder.mkdir(parents=True)
    events = [{"user_id": f"u{n}", "item_id": "i1", "event_type": "view",
               "ts": f"{DS}T10:0{n}:00Z"} for n in range(3)]  # fmt: skip
    (folder / "a.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest.run(spark, settings, DS)
    (damaged,) = settings.table_path(BRONZE_EVENTS).rglob("*.parquet")
    damaged.write_bytes(damaged.read_bytes()[:-20])  # a write cut short: no footer

    with pytest.raises(Py4JJavaError), one_line_errors(f"sessionize {DS}"):
        sessionize.run(spark, settings, DS)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "failed" in ln]
    assert f"sessionize {DS} failed: SparkException: [FAILED_READ_FILE" in line
    assert damaged.name in line
