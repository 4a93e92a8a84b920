from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.ids import new_ids

pytestmark = pytest.mark.spark


def test_new_ids_follow_the_maximum_in_first_seen_order(spark) -> None:
    existing = spark.createDataFrame([("u9", 1), ("u3", 2)], "user_id string, user_idx int")
    first_seen = spark.createDataFrame(
        [
            ("u3", datetime(2026, 1, 2, 9)),
            ("u7", datetime(2026, 1, 2, 8)),
            ("u1", datetime(2026, 1, 2, 8)),
        ],
        "user_id string, first_ts timestamp",
    )
    out = new_ids(first_seen, existing, "user_id", "user_idx", date(2026, 1, 2))
    expected = spark.createDataFrame(
        [("u1", 3, date(2026, 1, 2)), ("u7", 4, date(2026, 1, 2))],
        "user_id string, user_idx int, first_ds date",
    )
    assertDataFrameEqual(out, expected)


def test_first_ids_start_at_one(spark) -> None:
    existing = spark.createDataFrame([], "item_id string, item_idx int")
    first_seen = spark.createDataFrame(
        [("b", datetime(2026, 1, 1))], "item_id string, first_ts timestamp"
    )
    assert (
        new_ids(first_seen, existing, "item_id", "item_idx", date(2026, 1, 1)).first()["item_idx"]
        == 1
    )
