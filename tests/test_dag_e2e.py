"""The nightly DAG end to end with ``dag.test()``: real Airflow runs the real Spark jobs (through
SparkSubmitOperator), the real training and the publish job over three tiny synthetic days."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from conftest import table_versions

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_every_night_succeeds_and_the_first_trains_nothing(dag_nights) -> None:
    runs = dag_nights.runs
    assert [state for state, _ in runs] == ["success"] * len(dag_nights.days)
    first = runs[0][1]
    assert {t: first[t] for t in ("examples", "train", "publish", "report")} == {
        "examples": "success", "train": "skipped", "publish": "skipped", "report": "success",
    }  # fmt: skip
    for _, tasks in runs[1:]:
        assert set(tasks.values()) == {"success"}, tasks


def test_published_vectors_cover_every_user_once(dag_nights) -> None:
    from warehouse.lake import read_arrow
    from warehouse.tables import OPS_PUBLICATIONS, SERVING_USERS, SILVER_USER_IDS

    settings = dag_nights.settings
    decisions = read_arrow(settings, OPS_PUBLICATIONS, ["decision", "users"]).to_pylist()
    assert [d["decision"] for d in decisions] == ["published"] * 2
    for day in dag_nights.days[1:]:
        users = read_arrow(settings, SERVING_USERS, ["user_idx", "fused", "gate"], (day, day))
        ids = read_arrow(settings, SILVER_USER_IDS, ["user_idx", "first_ds"]).to_pylist()
        known = sorted(r["user_idx"] for r in ids if r["first_ds"] <= day)
        # every user seen up to that night, once, plus the cold-start row (user_idx 0)
        assert sorted(users["user_idx"].to_pylist()) == [0, *known]
        assert pc.all(pc.greater(pc.list_value_length(users["fused"]), 0)).as_py()
        assert (
            pc.min(pc.list_flatten(users["gate"])).as_py() >= 0
            and pc.max(pc.list_flatten(users["gate"])).as_py() <= 1
        )
    assert sum(d["users"] for d in decisions) > 0


def test_rerunning_a_finished_night_is_skipped_and_changes_nothing(dag_nights) -> None:
    settings = dag_nights.settings
    before = table_versions(settings)
    state, tasks = dag_nights.run(dag_nights.days[0])  # the finished range's first day again
    assert state == "success"
    assert tasks.pop("wait_for_raw_data") == "success"
    assert set(tasks.values()) == {"skipped"}, tasks  # check_day_order skipped the night
    assert table_versions(settings) == before


def test_report_reads_the_night_back(dag_nights) -> None:
    from warehouse.night_report import night_report

    settings = dag_nights.settings
    night = night_report(settings, dag_nights.days[-1])
    assert night.published
    assert {"candidate", "previous", "popularity", "item_knn"} <= set(night.metrics)
    assert 0 <= night.metrics["candidate"]["ndcg@10"] <= 1
    assert any("serving.user_interest_vectors" in line for line in night.lines())
