from datetime import date, timedelta

import pytest
from pyspark.sql import functions as F

from jobs.delta_io import days_predicate, overwrite_days, previous_days, record_runs
from warehouse.tables import BRONZE_REJECTED, OPS_JOB_RUNS

pytestmark = pytest.mark.spark
D = [date(2026, 1, 1) + timedelta(days=n) for n in range(5)]
SCHEMA = "source_file string, raw string, reason string, detail string, ds date"


def test_days_predicate_and_previous_days() -> None:
    assert days_predicate([D[0]]) == "ds = DATE'2026-01-01'"
    assert days_predicate(D[:3]) == "ds >= DATE'2026-01-01' AND ds <= DATE'2026-01-03'"
    assert days_predicate([D[0], D[2]]) == "ds IN (DATE'2026-01-01', DATE'2026-01-03')"
    assert previous_days([D[1], D[2], D[4]]) == [D[0], D[3]]


@pytest.mark.parametrize("days", [D[1:4], [D[1], D[3]]], ids=["contiguous", "with a gap"])
def test_overwrite_days_replaces_exactly_those_days(spark, make_warehouse, days) -> None:
    settings = make_warehouse()
    rows = lambda tag, ds_list: spark.createDataFrame(  # noqa: E731
        [("f", tag, "duplicate", None, d) for d in ds_list], SCHEMA
    )
    overwrite_days(rows("old", D), BRONZE_REJECTED, D, settings)
    written = overwrite_days(
        rows("new", days + days[:1]), BRONZE_REJECTED, days, settings, sums={"n": F.length("raw")}
    )
    got = sorted((r["ds"], r["raw"]) for r in spark.table(BRONZE_REJECTED).collect())
    assert got == sorted([(d, "new" if d in days else "old") for d in D] + [(days[0], "new")])
    # what the write itself counted, per day: rows, and the sums asked for
    assert written == {
        d: {"rows": 2, "n": 6} if d == days[0] else {"rows": 1, "n": 3} for d in days
    }
    assert overwrite_days(rows("x", []), BRONZE_REJECTED, [D[0]], settings) == {D[0]: {"rows": 0}}

    # one commit for several jobs replaces exactly each job's own days
    once = {d: {"read": 1} for d in D}
    record_runs(spark, settings, {"ingest": once, "graph": once})
    record_runs(
        spark, settings, {"ingest": {d: {"read": 2} for d in days}, "ids": {D[0]: {"read": 3}}}
    )
    runs = sorted(
        (r["job"], r["ds"], r["counts"]["read"]) for r in spark.table(OPS_JOB_RUNS).collect()
    )
    assert runs == sorted(
        [("graph", d, 1) for d in D]
        + [("ingest", d, 2 if d in days else 1) for d in D]
        + [("ids", D[0], 3)]
    )
