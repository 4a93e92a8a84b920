"""The benchmark scripts still run against the product's code (tiny sizes; no figures checked)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse import REPO_ROOT


def test_scale_model_runs_the_products_training_step(tmp_path: Path) -> None:
    out = tmp_path / "scale_model.json"
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "scale_model.py"), "--users", "300",
               "--items", "200", "--edges", "3000", "--steps", "2", "--label", "tiny",
               "--config", '{"exact_propagation_max_edges": 1000, "propagation_refresh_steps": 2}',
               "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, cwd=REPO_ROOT, capture_output=True)
    figures = json.loads(out.read_text())["tiny"]
    assert figures["loss"] == "full softmax"
    assert figures["propagation"] == "historical, refreshed every 2 steps"
    assert len(figures["step_s"]) == 2 and figures["targets_per_s"] > 0
    assert figures["peak_rss_mb"] >= figures["peak_rss_mb_after_graph"] > 0


def test_spark_phases_sums_top_level_executions_by_step_and_phase(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "spark_phases", REPO_ROOT / "benchmarks" / "spark_phases.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def execution(n: int, description: str, start: int, end: int, root: int | None = None):
        started = {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart",
                   "executionId": n, "rootExecutionId": root or n, "description": description,
                   "time": start}  # fmt: skip
        ended = {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd",
                 "executionId": n, "time": end}  # fmt: skip
        return [started, ended]

    def job(n: int, group: str) -> dict:
        return {"Event": "SparkListenerJobStart", "Job ID": n, "Stage IDs": [],
                "Properties": {"spark.sql.execution.id": str(n), "spark.jobGroup.id": group}}  # fmt: skip

    log = [
        *execution(1, "localCheckpoint at Dataset.scala:1", 0, 4000),
        job(1, "ingest"),
        *execution(2, "save at NativeMethodAccessorImpl.java:0", 4000, 6500),
        job(2, "ingest"),
        *execution(3, "toDataset$ at DeltaMergeBuilder.scala:153", 7000, 10000),
        *execution(4, "MERGE operation - scanning files", 7100, 9000, root=3),  # inside 3
        job(3, "graph"),
        *execution(5, "sql at SparkSession.scala:467", 10000, 10500),  # no Spark job
    ]
    path = tmp_path / "events_1_local-1"
    path.write_text("\n".join(json.dumps(e) for e in log) + "\n")
    assert module.step_phases(tmp_path) == {
        "ingest": {"materialise": 4.0, "total": 6.5, "write": 2.5},
        "graph": {"merge": 3.0, "total": 3.0},
        "(no job)": {"catalog sql": 0.5, "total": 0.5},
    }


@pytest.mark.spark  # the scenario it runs starts a Spark session
def test_reliability_report_collects_what_each_scenario_recorded(tmp_path: Path) -> None:
    out = tmp_path / "reliability.json"
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "reliability.py"), "--out", str(out),
               "--", "tests/test_bad_inputs.py", "-k", "unknown_suffix"]  # fmt: skip
    subprocess.run(command, check=True, cwd=REPO_ROOT, capture_output=True)
    report = json.loads(out.read_text())
    assert report["conditions"]["pytest_exit_status"] == 0
    assert report["summary"] == {"scenarios": 1, "held": 1}
    [scenario] = report["scenarios"]
    assert scenario["scenario"] == "bad input: unknown_suffix"
    assert "b.txt: not a raw log file" in scenario["happened"]
