from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.ids import first_seen, new_ids

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
