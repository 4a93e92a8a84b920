"""Three synthetic days through every ETL step on real Spark + Delta: reconciliation against the
generator's manifest, incremental graph == from-scratch decayed graph, idempotent reruns."""

from datetime import date, timedelta

import pytest
from pyspark.sql import functions as F

from jobs import graph
from jobs.graph import GraphOrderError, cooccurrence_contributions
from jobs.pipeline import run_days
from jobs.synthetic import SyntheticSpec, generate
from warehouse.overview import reconciliation, table_sizes
from warehouse.queries import query_names, render_query, settings_params
from warehouse.steps import parse_steps
from warehouse.tables import TABLES

pytestmark = [pytest.mark.spark, pytest.mark.slow]
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 3)


def snapshot(spark) -> dict[str, list]:
    """Every table's rows, sorted, without the columns that record when or which version."""
    out = {}
    for name in TABLES:
        df = spark.table(name).drop("finished_at", "version_before", "version_after")
        out[name] = sorted(tuple(_plain(v) for v in row) for row in df.collect())
    return out


def busiest(spark, column: str) -> str:
    return spark.table("bronze.events").groupBy(column).count().orderBy(F.desc("count")).first()[0]


def changed(before: dict, after: dict) -> dict:
    """Per table, the rows only before and the rows only after (empty when nothing changed)."""
    return {
        name: (set(rows) - set(after[name]), set(after[name]) - set(rows))
        for name, rows in before.items()
        if rows != after[name]
    }


def _plain(value):
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def scratch_weights(rows, as_of: date, half_life: float) -> dict:
    """(key, ds, weight) rows -> key: sum of weight * 2^(-(as_of - ds) / half_life)."""
    out: dict = {}
    for key, ds, weight in rows:
        out[key] = out.get(key, 0.0) + weight * 2 ** (-(as_of - ds).days / half_life)
    return out


def assert_graph_matches_scratch(spark, settings, last: date) -> None:
    h = settings.half_life_days
    events = (
        spark.table("bronze.events")
        .join(spark.table("silver.user_ids"), "user_id")
        .join(spark.table("silver.item_ids"), "item_id")
    )
    expected = scratch_weights(
        [((r.user_idx, r.item_idx), r.ds, r.weight) for r in events.collect()], last, h
    )
    got = {
        (r.user_idx, r.item_idx): r.weight
        for r in spark.table("gold.user_item_affinity_current").collect()
    }
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(expected[k], rel=1e-9) for k in expected)

    pairs = []
    for n in range((last - FIRST).days + 1):
        ds = FIRST + timedelta(days=n)
        sessions = spark.table("silver.sessions").where(F.col("ds") == F.lit(ds))
        contrib = cooccurrence_contributions(
            sessions, spark.table("silver.item_ids"), settings.cooccurrence_window
        )
        pairs += [((r.item_idx, r.neighbour_idx), ds, r.weight) for r in contrib.collect()]
    expected = scratch_weights(pairs, last, h)
    got = {
        (r.item_idx, r.neighbour_idx): r.weight
        for r in spark.table("gold.item_cooccurrence_current").collect()
    }
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(expected[k], rel=1e-9) for k in expected)


@pytest.fixture
def etl(spark, make_warehouse):
    settings = make_warehouse(max_neighbours=10_000, min_edge_weight=0.0, half_life_days=2.0,
                              sequence_length=5)  # fmt: skip
    spec = SyntheticSpec(start=FIRST, days=3, events_per_day=1500, users=80, items=60,
                         clusters=6, bad_fraction=0.03, seed=3)  # fmt: skip
    manifests = {m["ds"]: m for m in generate(spec, settings.raw_dir)}
    records = list(run_days(spark, settings, FIRST, LAST, parse_steps(None)))
    return settings, manifests, records


def test_etl_days_reconcile_are_incremental_and_idempotent(spark, etl) -> None:
    settings, manifests, records = etl

    # accepted + rejected = read, and each injected defect is rejected for its own reason
    for record in (r for r in records if r["step"] == "ingest"):
        manifest, counts = manifests[record["ds"]], record["counts"]
        assert counts["read"] == manifest["read"]
        assert counts["accepted"] == manifest["events"]
        assert {
            k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("rejected.")
        } == manifest["bad"]
    for record in (r for r in records if r["step"] == "examples"):
        assert record["counts"]["targets"] == manifests[record["ds"]]["events"]

    # the incremental long-term graph equals the decayed graph recomputed from all days
    assert_graph_matches_scratch(spark, settings, LAST)

    # every saved analyst query runs by table name and finds rows
    params = {**settings_params(settings), "item_id": busiest(spark, "item_id"), "user_id": busiest(spark, "user_id"),
              "ds_from": FIRST.isoformat(), "ds_to": LAST.isoformat()}  # fmt: skip
    for name in query_names():
        rows = spark.sql(render_query(name, params)).collect()
        assert rows, f"query {name} returned nothing"

    # the overview read from the Delta logs (no Spark) agrees with Spark, and ops.job_runs holds
    # every step's counts of the day
    for size in table_sizes(settings):
        version = spark.sql(f"DESCRIBE HISTORY {size.table} LIMIT 1").first()["version"]
        assert (size.rows, size.delta_version) == (spark.table(size.table).count(), version)
    recorded = {(r.job, r.count_name): r.value for r in reconciliation(settings, LAST)}
    assert recorded == {
        (r["step"], name): value
        for r in records
        if r["ds"] == LAST.isoformat()
        for name, value in r["counts"].items()
    }

    # rerunning the last day, every step, changes no table
    before = snapshot(spark)
    list(run_days(spark, settings, LAST, LAST, parse_steps(None)))
    assert changed(before, snapshot(spark)) == {}

    # a day older than what the graph absorbed is refused, not double counted
    with pytest.raises(GraphOrderError, match="already absorbed 2026-03-03"):
        list(run_days(spark, settings, FIRST, FIRST, ["graph"]))
    assert changed(before, snapshot(spark)) == {}

    # a crash right after a new day's graph commit (nothing logged yet) does not count it twice
    next_day = LAST + timedelta(days=1)
    spec = SyntheticSpec(start=next_day, days=1, events_per_day=500, users=80, items=60,
                         clusters=6, seed=4)  # fmt: skip
    list(generate(spec, settings.raw_dir))
    list(run_days(spark, settings, next_day, next_day, ["ingest", "sessionize", "ids"]))
    today = spark.table("bronze.events").where(F.col("ds") == F.lit(next_day))
    ids = spark.table("silver.user_ids"), spark.table("silver.item_ids")
    daily = graph.affinity_contributions(today, *ids)
    keys, h = graph.AFFINITY_KEYS, settings.half_life_days
    contributions = graph.absorb_days(daily, keys, keys, h).localCheckpoint()
    graph.prepare_for_day(spark, settings, "gold.user_item_affinity", next_day)
    with graph.marked_commit(spark, next_day):
        graph.update(
            spark, settings, graph.GOLD_AFFINITY, graph.affinity_after, contributions, next_day
        )
    list(run_days(spark, settings, next_day, next_day, ["graph"]))  # the retry
    assert_graph_matches_scratch(spark, settings, next_day)
