"""Rollback and retention on real Delta tables: serving goes back to an earlier night in one
commit (and forward again), the rolled-back nights stay finished, and VACUUM keeps the window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from conftest import table_versions

from jobs import rollback, vacuum
from jobs.delta_io import delta_table, overwrite_day, replace_where
from jobs.spark import retention_properties
from models.nightly import last_published
from warehouse.day_order import published
from warehouse.tables import OPS_PUBLICATIONS, SERVING_ITEMS, SERVING_USERS, TABLES

pytestmark = pytest.mark.spark
NIGHTS = [date(2026, 6, 1) + timedelta(days=n) for n in range(3)]


def model(ds: date) -> str:
    return f"{ds}-fused-0"


def publish_night(spark, settings, ds: date) -> None:
    """A night's publication as jobs/publish.py commits it: items, users (the publish point),
    the decision."""
    now, version, run_id = datetime.now(), model(ds), f"run-{ds}"  # the MLflow run's id
    items = [("i1", 1, ds, version, [0.5], now, run_id)]
    replace_where(spark.createDataFrame(items, spark.table(SERVING_ITEMS).schema), SERVING_ITEMS,
                  f"ds = DATE'{ds}' AND model_version = '{version}'", settings)  # fmt: skip
    users = [("u1", 1, ds, version, [1.0], [1.0], [1.0], [0.5], now, run_id)]
    overwrite_day(spark.createDataFrame(users, spark.table(SERVING_USERS).schema), SERVING_USERS,
                  ds, settings)  # fmt: skip
    decision = [(ds, version, "published", f"better on {ds}", 0.1, None, None, 1, now, run_id)]
    overwrite_day(spark.createDataFrame(decision, spark.table(OPS_PUBLICATIONS).schema),
                  OPS_PUBLICATIONS, ds, settings)  # fmt: skip


def served(spark) -> tuple[list, list]:
    users = spark.sql(
        "SELECT DISTINCT ds, model_version FROM serving.user_interest_vectors_current"
    )
    items = spark.sql("SELECT DISTINCT ds, model_version FROM serving.item_vectors_current")
    return [tuple(r) for r in users.collect()], [tuple(r) for r in items.collect()]


def decisions(spark) -> dict[date, tuple[str, str]]:
    rows = spark.table(OPS_PUBLICATIONS).collect()
    return {r["ds"]: (r["decision"], r["reason"]) for r in rows}


def test_rollback_serves_an_earlier_night_in_one_commit_and_forward_again(
    spark, make_warehouse
) -> None:
    settings = make_warehouse()
    for night in NIGHTS:
        publish_night(spark, settings, night)
    first, last = NIGHTS[0], NIGHTS[-1]
    before = table_versions(settings)

    counts = rollback.run(spark, settings, first)

    after = table_versions(settings)
    assert {t for t in TABLES if after[t] != before[t]} == {SERVING_USERS, OPS_PUBLICATIONS}
    assert after[SERVING_USERS] == before[SERVING_USERS] + 1 == counts["version"]
    assert counts["users"] == 1
    assert served(spark) == ([(first, model(first))], [(first, model(first))])
    assert decisions(spark) == {
        first: ("published", f"better on {first}"),
        **{d: ("rolled_back", f"rolled back to {first}: better on {d}") for d in NIGHTS[1:]},
    }
    assert published(settings, last)  # finished: rerunning the range does not publish it again
    assert last_published(settings, last + timedelta(days=1)) == model(first)  # the gate's base

    rollback.run(spark, settings, first)  # a rerun changes nothing
    assert table_versions(settings) == after

    rollback.run(spark, settings, last)  # forward again: its files are still in the history
    assert served(spark) == ([(last, model(last))], [(last, model(last))])
    assert decisions(spark) == {d: ("published", f"better on {d}") for d in NIGHTS}


def test_rollback_to_a_night_never_served_is_refused(spark, make_warehouse) -> None:
    settings = make_warehouse()
    publish_night(spark, settings, NIGHTS[1])
    with pytest.raises(rollback.RollbackError, match=f"served {NIGHTS[0]}"):
        rollback.run(spark, settings, NIGHTS[0])
    assert served(spark)[0] == [(NIGHTS[1], model(NIGHTS[1]))]


def test_vacuum_sets_the_retention_and_keeps_the_rollback_window(spark, make_warehouse) -> None:
    settings = make_warehouse(retention_days=8)  # the session's default for new tables: 30
    first, second = NIGHTS[:2]
    publish_night(spark, settings, first)
    publish_night(spark, settings, second)
    rollback.run(spark, settings, first)  # the second night's files are now unused

    counts = vacuum.run(spark, settings)

    assert counts["tables"] == len(TABLES) and counts["retention_days"] == 8
    wanted = retention_properties(settings)
    for name in TABLES:
        properties = delta_table(spark, name, settings).detail().first()["properties"]
        assert {k: properties.get(k) for k in wanted} == wanted, name
    rollback.run(spark, settings, second)  # within the window: still possible
    assert served(spark)[0] == [(second, model(second))]
    assert not any(vacuum.align_retention(spark, settings, name) for name in TABLES)  # kept
