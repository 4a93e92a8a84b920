"""Which nights may run, from the graph tables' commit tags and ops.publications (Delta tables
written by delta-rs here, with the tags the graph job writes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import CommitProperties, write_deltalake

from warehouse.day_order import DayOrderError, plan_night
from warehouse.graph_tags import commit_tag
from warehouse.settings import Settings
from warehouse.tables import GOLD_AFFINITY, GOLD_COOCCURRENCE, OPS_PUBLICATIONS

D1, D2, D3, D4 = (date(2026, 3, d) for d in (1, 2, 3, 4))


def graph_nights(settings: Settings, *spans: tuple[date, date]) -> None:
    """One tagged commit per span on both graph tables, as the graph job makes them."""
    for table in (GOLD_AFFINITY, GOLD_COOCCURRENCE):
        for first, last in spans:
            write_deltalake(
                str(settings.table_path(table)),
                pa.table({"weight": [1.0]}),
                mode="append",
                commit_properties=CommitProperties(
                    custom_metadata={"userMetadata": commit_tag(first, last)}
                ),
            )


def decide(settings: Settings, ds: date, decision: str) -> None:
    write_deltalake(
        str(settings.table_path(OPS_PUBLICATIONS)),
        pa.table({"ds": [ds], "decision": [decision]}),
        mode="append",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def test_an_empty_graph_takes_any_first_day(settings) -> None:
    assert plan_night(settings, D3).runs


def test_new_days_run_and_finished_nights_are_skipped(settings) -> None:
    graph_nights(settings, (D1, D1), (D2, D2), (D3, D3))
    decide(settings, D2, "published")
    decide(settings, D3, "published")
    assert plan_night(settings, D4).runs
    for finished in (D1, D2, D3):  # D1: the first night, which trains nothing
        night = plan_night(settings, finished)
        assert not night.runs and str(finished) in night.reason


def test_the_latest_day_runs_again_until_it_publishes(settings) -> None:
    graph_nights(settings, (D1, D1), (D2, D2))
    assert plan_night(settings, D2).runs  # failed after the graph step: rerun
    decide(settings, D2, "refused")
    assert plan_night(settings, D2).runs  # the gate refused the model: rerun
    decide(settings, D2, "published")
    assert not plan_night(settings, D2).runs


def test_an_unfinished_day_behind_the_graph_is_refused_with_the_fix(settings) -> None:
    graph_nights(settings, (D1, D1), (D2, D2), (D3, D3))
    decide(settings, D2, "refused")
    with pytest.raises(DayOrderError, match=r"must start after 2026-03-03.*restore"):
        plan_night(settings, D2)


def test_a_day_before_the_graph_history_is_refused(settings) -> None:
    graph_nights(settings, (D2, D3))  # a bulk load of D2..D3: its days are not nights
    with pytest.raises(DayOrderError, match="2026-03-02..2026-03-03"):
        plan_night(settings, D1)
    with pytest.raises(DayOrderError):
        plan_night(settings, D2)
    assert plan_night(settings, D4).runs
