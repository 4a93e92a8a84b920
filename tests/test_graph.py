from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from jobs.graph import (
    AFFINITY_KEYS,
    absorb_days,
    affinity_after,
    affinity_contributions,
    capped_updates,
    cooccurrence_after,
    cooccurrence_contributions,
    decayed,
    update,
)
from warehouse.tables import GOLD_AFFINITY

pytestmark = pytest.mark.spark


def test_decay_arithmetic(spark) -> None:
    df = spark.createDataFrame([(8.0, date(2026, 1, 1))], "weight double, updated_ds date")
    out = df.select(
        decayed(F.col("weight"), F.col("updated_ds"), date(2026, 1, 11), 10.0).alias("ten_days"),
        decayed(F.col("weight"), F.col("updated_ds"), date(2026, 1, 21), 10.0).alias("twenty"),
        decayed(F.col("weight"), F.col("updated_ds"), date(2026, 1, 1), 10.0).alias("same_day"),
    ).first()
    assert (out["ten_days"], out["twenty"], out["same_day"]) == (4.0, 2.0, 8.0)


def test_affinity_contributions_sum_weights(spark) -> None:
    d = date(2026, 1, 1)
    events = spark.createDataFrame(
        [("u1", "a", 1.0, datetime(2026, 1, 1, 9), d), ("u1", "a", 5.0, datetime(2026, 1, 1, 10), d),
         ("u1", "b", 2.0, datetime(2026, 1, 1, 11), d), ("u1", "b", 3.0, datetime(2026, 1, 2, 11), date(2026, 1, 2))],
        "user_id string, item_id string, weight double, ts timestamp, ds date",
    )  # fmt: skip
    users = spark.createDataFrame([("u1", 1)], "user_id string, user_idx int")
    items = spark.createDataFrame([("a", 1), ("b", 2)], "item_id string, item_idx int")
    rows = affinity_contributions(events, users, items).orderBy("item_idx", "ds").collect()
    assert [(r["item_idx"], r["weight"], r["count"]) for r in rows] == [
        (1, 6.0, 2),
        (2, 2.0, 1),
        (2, 3.0, 1),
    ]
    assert rows[0]["last_ts"] == datetime(2026, 1, 1, 10)


def test_cooccurrence_window_and_symmetry(spark) -> None:
    sessions = spark.createDataFrame(
        [("s1", ["a", "b", "c", "a"], date(2026, 1, 1))],
        "session_id string, item_ids array<string>, ds date",
    )
    items = spark.createDataFrame([("a", 1), ("b", 2), ("c", 3)], "item_id string, item_idx int")
    rows = cooccurrence_contributions(sessions, items, window=1).collect()
    pairs = {(r["item_idx"], r["neighbour_idx"]): r["weight"] for r in rows}
    # positions 0-1 (a,b), 1-2 (b,c), 2-3 (c,a): each counted in both directions
    assert pairs == {(1, 2): 1.0, (2, 1): 1.0, (2, 3): 1.0, (3, 2): 1.0, (3, 1): 1.0, (1, 3): 1.0}


def test_cooccurrence_skips_same_item_and_unknown_items(spark) -> None:
    sessions = spark.createDataFrame(
        [("s1", ["a", "b", "a", "c", "x"], date(2026, 1, 1))],
        "session_id string, item_ids array<string>, ds date",
    )
    items = spark.createDataFrame([("a", 1), ("b", 2), ("c", 3)], "item_id string, item_idx int")
    rows = cooccurrence_contributions(sessions, items, window=2).collect()
    pairs = {(r["item_idx"], r["neighbour_idx"]): r["count"] for r in rows}
    # a-b twice (positions 0-1 and 1-2), b-c, a-c; a-a (0-2) is one item; x has no id
    assert pairs == {(1, 2): 2, (2, 1): 2, (2, 3): 1, (3, 2): 1, (1, 3): 1, (3, 1): 1}


def test_capped_updates_decay_add_and_cap(spark) -> None:
    current = spark.createDataFrame(
        [(1, 2, 8.0, 4, date(2026, 1, 1)), (1, 3, 1.0, 1, date(2026, 1, 11))],
        "item_idx int, neighbour_idx int, weight double, count long, updated_ds date",
    )
    today = spark.createDataFrame(
        [(1, 3, 2.0, 2, date(2026, 1, 11)), (1, 4, 0.5, 1, date(2026, 1, 11))],
        "item_idx int, neighbour_idx int, weight double, count long, updated_ds date",
    )
    rows = capped_updates(current, today, 10.0, max_neighbours=2).collect()
    got = {r["neighbour_idx"]: (r["weight"], r["count"], r["_keep"]) for r in rows}
    assert got == {2: (4.0, 4, True), 3: (3.0, 3, True), 4: (0.5, 1, False)}


def test_update_decays_adds_and_prunes(spark, make_warehouse) -> None:
    settings = make_warehouse(half_life_days=1.0, min_edge_weight=0.2)
    schema = (
        "user_idx int, item_idx int, weight double, count long, last_ts timestamp, updated_ds date"
    )
    d1, d3 = date(2026, 1, 1), date(2026, 1, 3)
    day1 = spark.createDataFrame(
        [(1, 1, 1.0, 1, datetime(2026, 1, 1), d1), (1, 2, 4.0, 1, datetime(2026, 1, 1), d1)], schema
    )
    update(spark, settings, GOLD_AFFINITY, affinity_after, day1, date(2026, 1, 1))
    day3 = spark.createDataFrame([(1, 2, 1.0, 1, datetime(2026, 1, 3), d3)], schema)
    assert update(spark, settings, GOLD_AFFINITY, affinity_after, day3, date(2026, 1, 3)) == {
        "rows": 2,
        "pruned": 0,
    }
    rows = {r["item_idx"]: r for r in spark.table(GOLD_AFFINITY).collect()}
    # item 1: 1.0 * 2^-2 = 0.25 >= 0.2, kept untouched (lazy decay: still 1.0 as of 2026-01-01)
    assert (rows[1]["weight"], rows[1]["updated_ds"]) == (1.0, date(2026, 1, 1))
    # item 2: 4.0 * 2^-2 + 1.0 = 2.0, as of 2026-01-03
    assert (rows[2]["weight"], rows[2]["count"], rows[2]["updated_ds"]) == (
        2.0,
        2,
        date(2026, 1, 3),
    )
    nothing = day3.where("false")
    sizes = update(spark, settings, GOLD_AFFINITY, affinity_after, nothing, date(2026, 1, 4))
    # item 1 now decays to 0.125 < 0.2: pruned; item 2 (2.0 * 0.5 = 1.0) stays
    assert sizes == {"rows": 1, "pruned": 1}
    assert sorted(r["item_idx"] for r in spark.table(GOLD_AFFINITY).collect()) == [2]


def test_absorb_days_decays_each_day_to_the_stamp_day(spark) -> None:
    daily = spark.createDataFrame(
        [(1, 1, date(2026, 1, 1), 8.0, 2), (1, 1, date(2026, 1, 11), 1.0, 1),
         (1, 2, date(2026, 1, 1), 4.0, 1), (2, 1, date(2026, 1, 6), 3.0, 1)],
        "item_idx int, neighbour_idx int, ds date, weight double, count long",
    )  # fmt: skip
    by_edge = absorb_days(daily, ("item_idx", "neighbour_idx"), ("item_idx", "neighbour_idx"), 10.0)
    got = {(r[0], r[1]): (r["weight"], r["count"], r["updated_ds"]) for r in by_edge.collect()}
    assert got == {(1, 1): (8.0 * 0.5 + 1.0, 3, date(2026, 1, 11)), (1, 2): (4.0, 1, date(2026, 1, 1)),
                   (2, 1): (3.0, 1, date(2026, 1, 6))}  # fmt: skip
    # stamped per item (a daily run restamps a touched item's whole neighbourhood)
    by_item = absorb_days(daily, ("item_idx", "neighbour_idx"), ("item_idx",), 10.0)
    got = {(r[0], r[1]): (r["weight"], r["updated_ds"]) for r in by_item.collect()}
    assert got[(1, 2)] == (2.0, date(2026, 1, 11))


def test_a_range_prunes_once_as_of_its_last_day(spark, make_warehouse) -> None:
    """Absorbing days 1 and 4 at once: an edge last touched on day 1 that has faded below the
    minimum by day 4 is not inserted; a faint edge touched on day 4 itself stays (a night never
    prunes what it touched)."""
    settings = make_warehouse(half_life_days=1.0, min_edge_weight=0.2)
    d1, d4 = date(2026, 1, 1), date(2026, 1, 4)
    daily = spark.createDataFrame(
        [(1, 1, d1, 1.0, 1, datetime(2026, 1, 1)), (1, 2, d1, 4.0, 1, datetime(2026, 1, 1)),
         (1, 3, d4, 0.1, 1, datetime(2026, 1, 4))],
        "user_idx int, item_idx int, ds date, weight double, count long, last_ts timestamp",
    )  # fmt: skip
    update(
        spark,
        settings,
        GOLD_AFFINITY,
        affinity_after,
        absorb_days(daily, AFFINITY_KEYS, AFFINITY_KEYS, 1.0),
        d4,
    )
    rows = {
        r["item_idx"]: (r["weight"], r["updated_ds"]) for r in spark.table(GOLD_AFFINITY).collect()
    }
    # item 1: 1.0 * 2^-3 = 0.125 < 0.2 by day 4: gone; item 2: 4.0 * 2^-3 = 0.5 stays, as of day 1
    assert rows == {2: (4.0, d1), 3: (0.1, d4)}


def test_cooccurrence_after_replaces_touched_neighbourhoods_only(spark, make_warehouse) -> None:
    settings = make_warehouse(half_life_days=10.0, min_edge_weight=0.3, max_neighbours=2)
    d1, d11 = date(2026, 1, 1), date(2026, 1, 11)
    schema = "item_idx int, neighbour_idx int, weight double, count long, updated_ds date"
    current = spark.createDataFrame(
        [(1, 2, 8.0, 4, d1), (1, 3, 1.0, 1, d1),  # item 1: touched below
         (5, 6, 2.0, 2, d1), (5, 7, 0.5, 1, d1)],  # item 5: untouched; 0.5 -> 0.25 fades
        schema,
    )  # fmt: skip
    today = spark.createDataFrame([(1, 3, 2.0, 2, d11), (1, 4, 0.5, 1, d11)], schema)
    rows = cooccurrence_after(current, today, d11, settings).collect()
    got = {(r["item_idx"], r["neighbour_idx"]): (r["weight"], r["updated_ds"]) for r in rows}
    # item 1: decayed to day 11, summed, restamped, capped at its 2 strongest; item 5 as stored
    assert got == {(1, 2): (4.0, d11), (1, 3): (2.5, d11), (5, 6): (2.0, d1)}
