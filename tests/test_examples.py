from datetime import date, timedelta

import pytest

from jobs.examples import build_sequences, carry_recent, history_events
from warehouse.events import event_type_codes

pytestmark = pytest.mark.spark
DS = date(2026, 1, 5)
PREV = DS - timedelta(days=1)
SCHEMA = "user_idx int, ts long, item_idx int, type int, new_session int, ord string, is_target boolean, ds date"
RECENT = "user_idx int, item_seq array<int>, type_seq array<int>, ts_seq array<bigint>, new_session_seq array<int>, ds date"


def test_type_codes_reserve_zero() -> None:
    assert event_type_codes({"view": 1, "cart": 3}) == {"cart": 1, "view": 2}


def test_a_sequence_is_the_context_then_the_days_events(spark) -> None:
    events = spark.createDataFrame([
        (1, 1000, 7, 1, 1, "00000", False, PREV),        # from silver.user_recent (yesterday)
        (1, 2000, 8, 2, 1, "s:00000", True, DS),
        (1, 2000 + 3600, 9, 2, 0, "s:00001", True, DS),
        (1, 9000, 5, 1, 1, "t:00000", True, DS),
        (2, 5000, 3, 1, 1, "u:00000", True, DS),
    ], SCHEMA)  # fmt: skip
    rows = {r["user_idx"]: r for r in build_sequences(events, 3, 3).collect()}
    assert len(rows) == 2  # one per user with events on the day; the state alone makes none
    one = rows[1]
    assert one["item_seq"] == [7, 8, 9, 5] and one["ts_seq"] == [1000, 2000, 5600, 9000]
    assert one["type_seq"] == [1, 2, 2, 1] and one["new_session_seq"] == [1, 1, 0, 1]
    assert (one["num_context"], one["num_targets"], one["chunk"], one["ds"]) == (1, 3, 0, DS)
    assert rows[2]["item_seq"] == [3] and (rows[2]["num_context"], rows[2]["num_targets"]) == (0, 1)


def test_a_long_day_is_cut_into_rows_of_few_targets_each_after_l_events(spark) -> None:
    state = [(1, 10 * n, 100 + n, 1, 0, f"{n:05d}", False, PREV) for n in range(4)]
    day = [(1, 1000 + n, n + 1, 1, int(n == 0), f"s:{n:05d}", True, DS) for n in range(7)]
    rows = sorted(build_sequences(spark.createDataFrame(state + day, SCHEMA), 3, 2).collect(),
                  key=lambda r: r["chunk"])  # fmt: skip
    assert [r["item_seq"] for r in rows] == [
        [101, 102, 103, 1, 2],  # the last 3 events carried, then 2 targets
        [103, 1, 2, 3, 4],
        [2, 3, 4, 5, 6],
        [4, 5, 6, 7],
    ]
    assert [(r["num_context"], r["num_targets"]) for r in rows] == [(3, 2)] * 3 + [(3, 1)]


def test_carry_recent_keeps_the_last_events_oldest_first(spark) -> None:
    events = spark.createDataFrame(
        [(1, 100 * n, n, 1, int(n == 0), f"{n:05d}", n > 1, DS) for n in range(5)], SCHEMA
    )
    row = carry_recent(events, 3, DS).first()
    assert row["item_seq"] == [2, 3, 4]
    assert row["ts_seq"] == [200, 300, 400]


# Three days of user 1 with events out of day order (late and early ones near midnight, as the
# ingest tolerance lets in) and a tie across days; user 2 in order. (day, ts, item)
DAYS = [DS + timedelta(days=n) for n in range(3)]
OUT_OF_ORDER = [
    (1, 0, 100, 11), (1, 0, 200, 12), (1, 0, 1000, 13),  # 13: late, after day 1's first event
    (1, 1, 500, 14), (1, 1, 1000, 15), (1, 1, 1100, 16),  # 15: same time as 13
    (1, 2, 1050, 17), (1, 2, 3000, 18),                   # 17: early, before day 1's 16
    (2, 0, 100, 21), (2, 1, 2000, 22), (2, 2, 4000, 23), (2, 2, 4100, 24),
]  # fmt: skip


def _targets(spark, days: list[int]):
    """The events of ``days``; each (user, day) is one session."""
    return spark.createDataFrame(
        [(u, ts, item, 1, int(ts == min(t for v, e, t, _ in OUT_OF_ORDER if (v, e) == (u, d))),
          f"s{u}{d}:{ts:05d}", True, DAYS[d])
         for u, d, ts, item in OUT_OF_ORDER if d in days],
        SCHEMA,
    )  # fmt: skip


def _rows(df) -> list[tuple]:
    return sorted(tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in df.collect())


def test_a_range_gives_what_its_nights_give_with_events_out_of_day_order(spark) -> None:
    length = 2
    state = spark.createDataFrame(
        [(1, [9], [1], [50], [1], PREV), (3, [31], [1], [60], [1], PREV)], RECENT
    )
    nightly = []
    for n, day in enumerate(DAYS):
        targets = _targets(spark, [n])
        events = targets.unionByName(history_events(state))
        nightly += _rows(build_sequences(events, length, length))
        state = carry_recent(events, length, day).localCheckpoint()
    first_state = spark.createDataFrame(
        [(1, [9], [1], [50], [1], PREV), (3, [31], [1], [60], [1], PREV)], RECENT
    )
    events = _targets(spark, [0, 1, 2]).unionByName(history_events(first_state))
    assert _rows(build_sequences(events, length, length)) == sorted(nightly)
    assert _rows(carry_recent(events, length, DAYS[-1])) == _rows(state)

    by_day = {(r[0], r[-1], r[1]): r[2] for r in nightly}  # (user, day, chunk) -> item_seq
    # day 2's night carries day 1's last two events (12 at 200, 13 at 1000), then its own
    # three in chunks of two targets
    assert by_day[(1, DAYS[1], 0)] == (12, 13, 14, 15)
    assert by_day[(1, DAYS[1], 1)] == (14, 15, 16)
    # day 3 carries 15 and 16 (at the tie at 1000 the earlier day's 13 comes first, so it is the
    # one dropped), then 17 (at 1050) and 18
    assert by_day[(1, DAYS[2], 0)] == (15, 16, 17, 18)
