"""Nightly model steps through publishing on real Spark + Delta: vectors land in one commit, a
crash in the middle of publishing leaves the previous publication intact and readable, and the
gate refuses a worse model without touching the serving tables."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from conftest import table_versions

from jobs import publish
from models import nightly, tracking
from models.train_config import TrainConfig
from reports.page import write_report
from warehouse.publication import Decision, Manifest
from warehouse.steps import PUBLISH

pytestmark = [pytest.mark.spark, pytest.mark.slow]
NIGHT = date(2026, 5, 4)  # conftest.model_warehouse: examples up to 05-03, next day 05-04
TINY = TrainConfig(dim=8, batch_size=128, max_epochs=1)
TWO_EPOCHS = TINY.model_copy(update={"max_epochs": 2, "patience": 2})


def served(spark) -> dict:
    """What a serving reader sees through the *_current views."""
    users = spark.sql(
        "SELECT user_id, ds, model_version, size(fused) AS d FROM serving.user_interest_vectors_current"
    ).collect()
    items = spark.sql("SELECT item_id, model_version FROM serving.item_vectors_current").collect()
    return {"users": sorted(map(tuple, users)), "items": sorted(map(tuple, items))}


def train_and_stage(settings, config: TrainConfig) -> tuple[str, Manifest]:
    version, _ = nightly.train(settings, NIGHT, config)
    return version, nightly.stage(
        settings, NIGHT, version, nightly.evaluate(settings, NIGHT, version)
    )


def test_publish_is_atomic_and_gated(spark, model_tables):
    settings = model_tables
    first, manifest = train_and_stage(settings, TWO_EPOCHS)
    assert manifest.decision is Decision.PUBLISHED, manifest.reason
    run_id = manifest.mlflow_run_id
    assert run_id is not None
    versions = table_versions(settings)
    counts = publish.run(spark, settings, NIGHT)
    changed = {t for t, v in table_versions(settings).items() if v != versions[t]}
    assert changed == set(PUBLISH.writes)  # the step registry's word
    known_users = spark.table("silver.user_ids").count()
    assert counts["users"] == known_users + 1  # + the cold-start row
    assert counts["items"] == spark.table("silver.item_ids").count()
    before = served(spark)
    assert {v for _, _, v, _ in before["users"]} == {first}
    # The published vectors and the decision carry the MLflow run that trained them.
    for table in ("ops.publications", "serving.user_interest_vectors", "serving.item_vectors"):
        assert spark.table(table).select("mlflow_run_id").distinct().collect() == [(run_id,)]
    assert ("__cold_start__", NIGHT, first, TINY.dim) in before["users"]

    # A second model for the same night; the job dies after the item vectors, before the users
    # commit (the publish point): readers still see the first model, items included.
    second, manifest = train_and_stage(settings, TINY.model_copy(update={"seed": 7}))
    assert second != first and manifest.published
    stage = settings.publish_stage_dir(NIGHT.isoformat())
    publish.write_items(spark, settings, stage, NIGHT, Manifest.read(stage))
    assert served(spark) == before
    assert spark.table("serving.item_vectors").select("model_version").distinct().count() == 2

    # Rerunning the job completes the publication in one go.
    publish.run(spark, settings, NIGHT)
    after = served(spark)
    assert {v for _, _, v, _ in after["users"]} == {second}
    assert len(after["users"]) == len(before["users"]) and len(after["items"]) == len(
        before["items"]
    )

    # The gate refuses a model far worse than the last published one; nothing is served from it.
    evaluation = nightly.evaluate(settings, NIGHT, first)
    worse = replace(
        evaluation, previous_version=second, previous_ndcg10=evaluation.candidate_ndcg10 * 2
    )
    manifest = nightly.stage(settings, NIGHT, first, worse)
    assert manifest.decision is Decision.REFUSED and "last published" in manifest.reason
    assert not list(stage.glob("*.parquet"))
    assert publish.run(spark, settings, NIGHT)["users"] == 0
    assert served(spark) == after
    decision = spark.sql("SELECT decision, reason FROM ops.publications").collect()
    assert [d.decision for d in decision] == ["refused"]

    # The night's report says so at its top, and shows no vectors of its own.
    page = write_report(settings, NIGHT).read_text()
    assert re.search(r'<div class="banner refused">REFUSED: candidate test NDCG@10', page)
    assert page.index('id="decision"') < page.index('id="reconciliation"')
    assert "No vectors were published tonight." in page
    index = (settings.reports_dir / "index.html").read_text()
    assert f'href="ds={NIGHT}.html"' in index and 'class="refused"' in index


def test_the_run_is_tracked_in_mlflow(model_tables):
    """Its parameters, a point per epoch for each curve, the gate's evaluation and decision, and
    the model's files, found through MLflow's own client."""
    settings = model_tables
    version, manifest = train_and_stage(settings, TWO_EPOCHS.model_copy(update={"seed": 3}))
    mlflow = tracking.client(settings)
    run = mlflow.get_run(manifest.mlflow_run_id)
    assert run.info.run_name == version and run.info.status == "FINISHED"
    assert run.data.params["dim"] == "8" and run.data.params["ds"] == NIGHT.isoformat()
    assert run.data.tags["decision"] == str(manifest.decision)
    for curve in ("loss", "valid.ndcg_at_10"):
        assert [m.step for m in mlflow.get_metric_history(run.info.run_id, curve)] == [1, 2]
    test_ndcg = run.data.metrics["test.candidate.ndcg_at_10"]
    assert test_ndcg == pytest.approx(manifest.candidate_ndcg10)
    model_files = {f.path for f in mlflow.list_artifacts(run.info.run_id, "model")}
    assert model_files == {"model/best.pt", "model/config.json"}
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.name == tracking.NIGHTLY
    assert experiment.artifact_location.startswith(settings.mlflow_dir.as_uri())


def test_gate_margin():
    evaluation = nightly.Evaluation(
        [], candidate_ndcg10=0.096, previous_version="v", previous_ndcg10=0.1
    )
    assert nightly.gate(evaluation, margin=0.05)[0]
    assert not nightly.gate(evaluation, margin=0.03)[0]
    assert nightly.gate(replace(evaluation, previous_version=None, previous_ndcg10=None), 0.0)[0]
