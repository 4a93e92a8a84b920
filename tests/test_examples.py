from datetime import date, timedelta

import pytest

from jobs.examples import build_sequences, carry_recent, event_days, state_days, user_days
from warehouse.events import event_type_codes

pytestmark = pytest.mark.spark
DS = date(2026, 1, 5)
PREV = DS - timedelta(days=1)
SCHEMA = "user_idx int, ts long, item_idx int, type int, new_session int, ord string, ds date"
RECENT = "user_idx int, item_seq array<int>, type_seq array<int>, ts_seq array<bigint>, new_session_seq array<int>, ds date"


def _examples(spark, events: list[tuple], state: list[tuple], length: int, targets: int, ds=DS):
    """(sequences, state after ``ds``) of ``events`` after the silver.user_recent rows
    ``state``, as the examples step makes them."""
    days = event_days(spark.createDataFrame(events, SCHEMA) if isinstance(events, list) else events)
    recent = state if not isinstance(state, list) else spark.createDataFrame(state, RECENT)
    rows = user_days(days.unionByName(state_days(recent)), length)
    return build_sequences(rows, length, targets), carry_recent(rows, ds)


def test_type_codes_reserve_zero() -> None:
    assert event_type_codes({"view": 1, "cart": 3}) == {"cart": 1, "view": 2}


def test_a_sequence_is_the_context_then_the_days_events(spark) -> None:
    yesterday = [(1, [7], [1], [1000], [1], PREV)]  # silver.user_recent
    events = [
        (1, 2000, 8, 2, 1, "s:00000", DS),
        (1, 2000 + 3600, 9, 2, 0, "s:00001", DS),
        (1, 9000, 5, 1, 1, "t:00000", DS),
        (2, 5000, 3, 1, 1, "u:00000", DS),
    ]  # fmt: skip
    rows = {r["user_idx"]: r for r in _examples(spark, events, yesterday, 3, 3)[0].collect()}
    assert len(rows) == 2  # one per user with events on the day; the state alone makes none
    one = rows[1]
    assert one["item_seq"] == [7, 8, 9, 5] and one["ts_seq"] == [1000, 2000, 5600, 9000]
    assert one["type_seq"] == [1, 2, 2, 1] and one["new_session_seq"] == [1, 1, 0, 1]
    assert (one["num_context"], one["num_targets"], one["chunk"], one["ds"]) == (1, 3, 0, DS)
    assert rows[2]["item_seq"] == [3] and (rows[2]["num_context"], rows[2]["num_targets"]) == (0, 1)


def test_a_long_day_is_cut_into_rows_of_few_targets_each_after_l_events(spark) -> None:
    state = [(1, [100, 101, 102, 103], [1] * 4, [0, 10, 20, 30], [0] * 4, PREV)]
    day = [(1, 1000 + n, n + 1, 1, int(n == 0), f"s:{n:05d}", DS) for n in range(7)]
    rows = sorted(_examples(spark, day, state, 3, 2)[0].collect(), key=lambda r: r["chunk"])
    assert [r["item_seq"] for r in rows] == [
        [101, 102, 103, 1, 2],  # the last 3 events carried, then 2 targets
        [103, 1, 2, 3, 4],
        [2, 3, 4, 5, 6],
        [4, 5, 6, 7],
    ]
    assert [(r["num_context"], r["num_targets"]) for r in rows] == [(3, 2)] * 3 + [(3, 1)]


def test_carry_recent_keeps_the_last_events_oldest_first(spark) -> None:
    state = [(1, [0, 1], [1, 1], [0, 100], [1, 0], PREV), (2, [7], [1], [50], [1], PREV)]
    day = [(1, 100 * n, n, 1, int(n == 2), f"s:{n:05d}", DS) for n in range(2, 5)]
    rows = {r["user_idx"]: r for r in _examples(spark, day, state, 3, 3)[1].collect()}
    assert rows[1]["item_seq"] == [2, 3, 4] and rows[1]["ts_seq"] == [200, 300, 400]
    assert rows[1]["new_session_seq"] == [1, 0, 0] and rows[1]["ds"] == DS
    assert rows[2]["item_seq"] == [7] and rows[2]["ds"] == DS  # no events today: kept as it was


def test_carry_recent_sorts_a_day_that_starts_before_the_state_ends(spark) -> None:
    state = [(1, [1, 2], [1, 1], [100, 300], [1, 0], PREV)]
    day = [(1, 200, 3, 1, 1, "s:00000", DS), (1, 400, 4, 1, 0, "s:00001", DS)]
    row = _examples(spark, day, state, 3, 3)[1].first()
    assert row["item_seq"] == [3, 2, 4] and row["ts_seq"] == [200, 300, 400]


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
          f"s{u}{d}:{ts:05d}", DAYS[d])
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
        sequences, state = _examples(spark, _targets(spark, [n]), state, length, length, day)
        nightly += _rows(sequences)
        state = state.localCheckpoint()
    first_state = [(1, [9], [1], [50], [1], PREV), (3, [31], [1], [60], [1], PREV)]
    sequences, last_state = _examples(
        spark, _targets(spark, [0, 1, 2]), first_state, length, length, DAYS[-1]
    )
    assert _rows(sequences) == sorted(nightly)
    assert _rows(last_state) == _rows(state)
    kept = {r["user_idx"]: r["item_seq"] for r in state.collect()}
    # user 1: day 2's 17 (at 1050) is older than day 1's 16 (at 1100); user 3: never since
    assert kept == {1: [16, 18], 2: [23, 24], 3: [31]}

    by_day = {(r[0], r[-1], r[1]): r[2] for r in nightly}  # (user, day, chunk) -> item_seq
    # day 2's night carries day 1's last two events (12 at 200, 13 at 1000), then its own
    # three in chunks of two targets
    assert by_day[(1, DAYS[1], 0)] == (12, 13, 14, 15)
    assert by_day[(1, DAYS[1], 1)] == (14, 15, 16)
    # day 3 carries 15 and 16 (at the tie at 1000 the earlier day's 13 comes first, so it is the
    # one dropped), then 17 (at 1050) and 18
    assert by_day[(1, DAYS[2], 0)] == (15, 16, 17, 18)
