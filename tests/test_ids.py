from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.ids import allocate_ids, append_new_ids, first_seen, new_ids, snapshot
from warehouse.tables import SILVER_USER_IDS

pytestmark = pytest.mark.spark
D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def test_new_ids_follow_the_maximum_in_first_seen_order(spark) -> None:
    existing = spark.createDataFrame([("u9", 1), ("u3", 2)], "user_id string, user_idx int")
    seen = spark.createDataFrame(
        [
            ("u3", D2, datetime(2026, 1, 2, 9)),
            ("u7", D2, datetime(2026, 1, 2, 8)),
            ("u1", D2, datetime(2026, 1, 2, 8)),
        ],
        "user_id string, first_ds date, first_ts timestamp",
    )
    out = new_ids(seen, existing, "user_id", "user_idx")
    expected = spark.createDataFrame(
        [("u1", 3, D2), ("u7", 4, D2)], "user_id string, user_idx int, first_ds date"
    )
    assertDataFrameEqual(out, expected)


def test_first_ids_start_at_one(spark) -> None:
    existing = spark.createDataFrame([], "item_id string, item_idx int")
    seen = spark.createDataFrame(
        [("b", D1, datetime(2026, 1, 1))], "item_id string, first_ds date, first_ts timestamp"
    )
    assert new_ids(seen, existing, "item_id", "item_idx").first()["item_idx"] == 1


def test_a_range_numbers_keys_by_first_day_then_time(spark) -> None:
    """'late' is seen on day 2 at a time before 'early' (a late event within tolerance), but
    day 1 comes first: day by day, 'early' gets its id on day 1."""
    events = spark.createDataFrame(
        [
            ("early", D1, datetime(2026, 1, 1, 23)),
            ("late", D2, datetime(2026, 1, 1, 22)),
            ("early", D2, datetime(2026, 1, 1, 21)),  # earlier, but on the later day
            ("b", D2, datetime(2026, 1, 2, 9)),
            ("a", D2, datetime(2026, 1, 2, 9)),
        ],
        "item_id string, ds date, ts timestamp",
    )
    existing = spark.createDataFrame([], "item_id string, item_idx int")
    out = new_ids(first_seen(events, "item_id"), existing, "item_id", "item_idx")
    assert sorted((r["item_idx"], r["item_id"], r["first_ds"]) for r in out.collect()) == [
        (1, "early", D1),
        (2, "late", D2),
        (3, "a", D2),
        (4, "b", D2),
    ]


def test_ids_numbered_from_a_stale_read_never_go_in(spark, make_warehouse) -> None:
    """A run reads the id table, another run gives ids meanwhile: the first run's ids, numbered
    from the old maximum, are refused (no id twice), and its next try numbers after the
    other's. Deterministic form of the race test_faults runs with two real jobs."""
    settings = make_warehouse()
    seen = spark.createDataFrame(
        [("a", D1, datetime(2026, 1, 1, 8)), ("b", D1, datetime(2026, 1, 1, 9))],
        "user_id string, first_ds date, first_ts timestamp",
    )
    other = spark.createDataFrame(
        [("c", D2, datetime(2026, 1, 2, 8))], "user_id string, first_ds date, first_ts timestamp"
    )
    stale = new_ids(seen, snapshot(spark, settings, SILVER_USER_IDS), "user_id", "user_idx")
    stale = stale.localCheckpoint()
    allocate_ids(spark, settings, SILVER_USER_IDS, other, "user_id", "user_idx")

    assert not append_new_ids(spark, settings, SILVER_USER_IDS, stale, "user_id", "user_idx")
    allocate_ids(spark, settings, SILVER_USER_IDS, seen, "user_id", "user_idx")
    allocate_ids(spark, settings, SILVER_USER_IDS, seen, "user_id", "user_idx")  # a rerun
    ids = spark.table(SILVER_USER_IDS).select("user_id", "user_idx")
    assert sorted(tuple(r) for r in ids.collect()) == [("a", 2), ("b", 3), ("c", 1)]
