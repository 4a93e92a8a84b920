import math
from datetime import date

import pytest

from jobs.examples import build_examples, carry_recent, event_type_codes

pytestmark = pytest.mark.spark
DS = date(2026, 1, 5)
SCHEMA = (
    "user_idx int, ts long, item_idx int, type int, new_session int, ord string, is_target boolean"
)


def test_type_codes_reserve_zero() -> None:
    assert event_type_codes({"view": 1, "cart": 3}) == {"cart": 1, "view": 2}


def test_examples_see_history_across_days_and_are_padded(spark) -> None:
    events = spark.createDataFrame([
        (1, 1000, 7, 1, 1, "00000", False),        # from silver.user_recent (yesterday)
        (1, 2000, 8, 2, 1, "s:00000", True),
        (1, 2000 + 3600, 9, 2, 0, "s:00001", True),
        (1, 9000, 5, 1, 1, "t:00000", True),
        (2, 5000, 3, 1, 1, "u:00000", True),
    ], SCHEMA)  # fmt: skip
    rows = {
        (r["user_idx"], r["target_item_idx"]): r for r in build_examples(events, 3, DS).collect()
    }
    assert len(rows) == 4  # one per target event, history rows are not targets
    assert rows[(1, 8)]["item_seq"] == [0, 0, 7] and rows[(1, 8)]["seq_len"] == 1
    assert rows[(1, 9)]["item_seq"] == [0, 7, 8]
    assert rows[(1, 5)]["item_seq"] == [7, 8, 9] and rows[(1, 5)]["seq_len"] == 3
    assert rows[(1, 5)]["type_seq"] == [1, 2, 2]
    assert rows[(1, 5)]["new_session_seq"] == [1, 1, 0]
    assert rows[(1, 9)]["gap_seq"][1] == pytest.approx(math.log1p((5600 - 1000) / 3600), rel=1e-6)
    assert rows[(1, 9)]["gap_seq"][0] == 0.0
    assert rows[(2, 3)]["item_seq"] == [0, 0, 0] and rows[(2, 3)]["seq_len"] == 0


def test_carry_recent_keeps_the_last_events_oldest_first(spark) -> None:
    events = spark.createDataFrame(
        [(1, 100 * n, n, 1, int(n == 0), f"{n:05d}", n > 1) for n in range(5)], SCHEMA
    )
    row = carry_recent(events, 3, DS).first()
    assert row["item_seq"] == [2, 3, 4]
    assert row["ts_seq"] == [200, 300, 400]
