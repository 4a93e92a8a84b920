"""Bulk mode (each step once over a range) against day by day, on real Spark + Delta: the same
rows in every table, idempotent reruns, nights after a bulk load, refused inner-day reruns.

Days D0..D5; D3 has no raw data (a gap, skipped by both modes). Day by day runs D0..D5. Bulk:
night D0, then D1..D4 in bulk (the gap inside), then night D5; so the bulk range starts from
earlier tables' state (previous day's ids, graph, user_recent). Extra raw records add duplicates
across consecutive days and events out of day order (late and early, within the tolerance),
the cases where a range must chain its days exactly as nights do. Settings avoid pruning and
the neighbour cap, the graph's one documented difference.
"""

import json
import shutil
from datetime import date, datetime, timedelta

import pytest
from conftest import assert_same_rows, snapshot
from pyspark.sql import Window
from pyspark.sql import functions as F

from jobs.examples import MissingState
from jobs.graph import GraphOrderError
from jobs.pipeline import run_bulk, run_days
from jobs.synthetic import SyntheticSpec, generate
from warehouse.steps import parse_steps

pytestmark = [pytest.mark.spark, pytest.mark.slow]
D = [date(2026, 4, 1) + timedelta(days=n) for n in range(6)]
GAP = D[3]
INNER = {D[1], D[2]}  # bulk days whose user_recent state and graph row counts are not kept
ALL = parse_steps(None)
SETTINGS = dict(max_neighbours=10_000, min_edge_weight=0.0, half_life_days=2.0,
                sequence_length=5, late_tolerance_hours=26.0)  # fmt: skip


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(event_id: str, user: str, ts: str) -> dict:
    return {"event_id": event_id, "user_id": user, "item_id": "i1", "event_type": "click", "ts": ts}


def write_raw(raw_dir) -> None:
    spec = SyntheticSpec(start=D[0], days=6, events_per_day=300, users=30, items=40,
                         clusters=4, bad_fraction=0.03, seed=5)  # fmt: skip
    list(generate(spec, raw_dir))
    shutil.rmtree(raw_dir / f"ds={GAP}")
    # the same event on consecutive days: accepted every other day (dup-a: D0, D2; dup-c: D0)
    dup_a, dup_c = event("dup-a", "u1", at(D[1], 12)), event("dup-c", "u2", at(D[1], 1))
    dup_b = event("dup-b", "u3", at(GAP, 6))  # D2 and D4, across the gap: accepted twice
    late = [event(f"late-{u}", f"u{u}", at(D[0], 23, u)) for u in range(10)]  # in D1
    early = [event(f"early-{u}", f"u{u}", at(D[2], 5, u)) for u in range(10)]  # in D1
    extra = {0: [dup_a, dup_c], 1: [dup_a, dup_c, *late, *early], 2: [dup_a, dup_b], 4: [dup_b]}
    for n, records in extra.items():
        lines = "".join(json.dumps(r) + "\n" for r in records)
        (raw_dir / f"ds={D[n]}" / "extra.jsonl").write_text(lines)


def without_inner_days(snap: dict[str, list]) -> dict[str, list]:
    """What a bulk run over INNER does not keep: their user_recent states, their graph log rows
    and the graph's levels as of those days (its tables' rows, the edges each night pruned)."""
    out = dict(snap)
    out["silver.user_recent"] = [r for r in snap["silver.user_recent"] if r[-1] not in INNER]
    out["ops.graph_log"] = [r for r in snap["ops.graph_log"] if r[1] not in INNER]
    out["ops.job_runs"] = sorted(
        (job, ds, tuple(kv for kv in counts if not (job == "graph" and ds in INNER
                                                    and kv[0].endswith((".rows", ".pruned")))))
        for job, ds, counts in snap["ops.job_runs"]
    )  # fmt: skip
    return out


def assert_same(expected: dict[str, list], got: dict[str, list]) -> None:
    assert_same_rows(without_inner_days(expected), without_inner_days(got))


def out_of_order_days(spark) -> int:
    """(user, day) pairs with an event before the user's latest event of an earlier day."""
    per_day = (
        spark.table("bronze.events")
        .groupBy("user_id", "ds")
        .agg(F.min("ts").alias("first"), F.max("ts").alias("last"))
    )
    before = Window.partitionBy("user_id").orderBy("ds").rowsBetween(Window.unboundedPreceding, -1)
    latest_before = per_day.withColumn("before", F.max("last").over(before))
    return latest_before.where(F.col("first") < F.col("before")).count()


def test_bulk_load_equals_day_by_day(spark, make_warehouse, tmp_path) -> None:
    nightly = make_warehouse(home=tmp_path / "nightly", **SETTINGS)
    write_raw(nightly.raw_dir)
    list(run_days(spark, nightly, D[0], D[0], ALL))
    shutil.copytree(nightly.home, tmp_path / "bulk")  # the bulk run starts after night D0 too
    records = list(run_days(spark, nightly, D[1], D[4], ALL))
    assert [r["ds"] for r in records if r["step"] == "skip"] == [GAP.isoformat()]
    assert out_of_order_days(spark) >= 3  # the late/early records do reorder days
    accepted = spark.table("bronze.events").where(F.col("event_id").startswith("dup-"))
    assert sorted((r.event_id, r.ds) for r in accepted.collect()) == [
        ("dup-a", D[0]), ("dup-a", D[2]), ("dup-b", D[2]), ("dup-b", D[4]), ("dup-c", D[0])
    ]  # fmt: skip
    expected = snapshot(spark)
    list(run_days(spark, nightly, D[5], D[5], ALL))
    expected_after = snapshot(spark)

    bulk = make_warehouse(home=tmp_path / "bulk", **SETTINGS)
    records = list(run_bulk(spark, bulk, D[1], D[4], ALL))
    assert [r["step"] for r in records] == ["skip", *ALL]
    assert records[1]["days"] == 3 and records[1]["ds"] == f"{D[1]}..{D[4]}"
    loaded = snapshot(spark)
    assert_same(expected, loaded)
    assert {r[-1] for r in loaded["silver.user_recent"]} == {D[0], D[4]}

    # a bulk rerun of the same range changes nothing
    list(run_bulk(spark, bulk, D[1], D[4], ALL))
    assert snapshot(spark) == loaded

    # days inside the bulk range cannot be rerun alone: their state was not kept
    with pytest.raises(MissingState, match=f"state of {D[1]}.*--from {D[1]}"):
        list(run_days(spark, bulk, D[2], D[2], ["examples"]))
    with pytest.raises(GraphOrderError, match=f"already absorbed {D[1]}..{D[4]}"):
        list(run_days(spark, bulk, D[4], D[4], ["graph"]))
    assert snapshot(spark) == loaded

    # the next night after a bulk load is the night day by day would have run
    list(run_days(spark, bulk, D[5], D[5], ALL))
    assert_same(expected_after, snapshot(spark))
    views = spark.table("gold.item_cooccurrence_current").agg(F.max("as_of")).first()[0]
    assert views == D[5]
