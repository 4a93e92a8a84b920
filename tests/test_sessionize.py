from datetime import date, datetime

import pytest

from jobs.sessionize import last_ts_by_day, sessionize

pytestmark = pytest.mark.spark
DS = date(2026, 1, 5)
SCHEMA = "event_id string, user_id string, item_id string, event_type string, weight double, ts timestamp, ds date"


def _events(spark, rows, ds: date = DS):
    return spark.createDataFrame(
        [
            (f"e{n}", u, i, "view", 1.0, datetime.fromisoformat(ts), ds)
            for n, (u, i, ts) in enumerate(rows)
        ],
        SCHEMA,
    )


def _previous(spark, rows=()):
    return spark.createDataFrame(
        [(u, DS, datetime.fromisoformat(ts)) for u, ts in rows],
        "user_id string, ds date, last_ts timestamp",
    )


def test_gap_splits_sessions_and_keeps_time_order(spark) -> None:
    events = _events(spark, [
        ("u1", "b", "2026-01-05 10:10:00"), ("u1", "a", "2026-01-05 10:00:00"),
        ("u1", "c", "2026-01-05 10:40:00"),  # exactly 30 min after b: same session
        ("u1", "d", "2026-01-05 11:10:01"),  # 30 min 1 s after c: new session
        ("u2", "x", "2026-01-05 10:05:00"),
    ])  # fmt: skip
    out = sessionize(events, _previous(spark), 30, 100).orderBy("user_id", "session_start")
    rows = out.collect()
    assert [(r["user_id"], r["item_ids"]) for r in rows] == [
        ("u1", ["a", "b", "c"]), ("u1", ["d"]), ("u2", ["x"])
    ]  # fmt: skip
    assert rows[0]["n_events"] == 3 and str(rows[0]["session_end"]) == "2026-01-05 10:40:00"
    assert len({r["session_id"] for r in rows}) == 3
    assert all(r["ds"] == DS for r in rows)


def test_max_length_splits_long_sessions(spark) -> None:
    events = _events(spark, [("u1", f"i{n}", f"2026-01-05 10:0{n}:00") for n in range(5)])
    rows = sessionize(events, _previous(spark), 30, 2).orderBy("session_start").collect()
    assert [r["item_ids"] for r in rows] == [["i0", "i1"], ["i2", "i3"], ["i4"]]


def test_midnight_rule(spark) -> None:
    """A session never crosses midnight; the first session after midnight is flagged when the
    user was active within the gap before it."""
    events = _events(
        spark, [("u1", "a", "2026-01-05 00:10:00"), ("u2", "b", "2026-01-05 00:10:00")]
    )
    previous = _previous(spark, [("u1", "2026-01-04 23:50:00"), ("u2", "2026-01-04 23:30:00")])
    rows = sessionize(events, previous, 30, 100).orderBy("user_id").collect()
    assert [(r["user_id"], r["continues_previous_day"]) for r in rows] == [
        ("u1", True),
        ("u2", False),
    ]
    assert [r["item_ids"] for r in rows] == [["a"], ["b"]]


def test_days_of_a_range_are_sessionized_apart(spark) -> None:
    """Two days in one call: the same user's events 10 minutes apart across midnight are two
    sessions (one per day), the second flagged as continuing the first day."""
    day2 = date(2026, 1, 6)
    events = _events(spark, [("u1", "a", "2026-01-05 23:55:00")]).unionByName(
        _events(spark, [("u1", "b", "2026-01-06 00:05:00")], day2)
    )
    previous = last_ts_by_day(events)
    rows = sessionize(events, previous, 30, 100).orderBy("ds").collect()
    assert [(r["ds"], r["item_ids"], r["continues_previous_day"]) for r in rows] == [
        (DS, ["a"], False),
        (day2, ["b"], True),
    ]
