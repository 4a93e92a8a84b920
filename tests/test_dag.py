"""DAG integrity: the nightly DAG as the scheduler parses it (real Airflow, SQLite metadata)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pendulum
from conftest import DAG_DAYS

from warehouse import REPO_ROOT
from warehouse.steps import ETL_STEPS, PUBLISH, SPARK_STEPS

DAG_FILE = REPO_ROOT / "dags" / "user_interest_nightly.py"
ETL = [step.name for step in ETL_STEPS]
# The designed chain: each task's only downstream task is the next one, but that the ETL's last
# step also leads to the report (a night that trains nothing still reports its ETL).
ORDER = ["wait_for_raw_data", "check_day_order", *ETL, "train", "evaluate_and_gate", "publish",
         "report"]  # fmt: skip
# What parsing the DAG file may import of the product: the step registry, and the table names.
PARSE_ALLOWED = ["warehouse", "warehouse.steps", "warehouse.tables"]


def test_every_dag_imports_with_tags_and_retries(airflow_home: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"user_interest_nightly"}
    for dag in bag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 2, task.task_id
            assert task.doc_md or task.doc, task.task_id


def test_task_graph_is_the_designed_chain(nightly_dag) -> None:
    assert sorted(nightly_dag.task_ids) == sorted(ORDER)
    for task_id, next_id in zip(ORDER, ORDER[1:], strict=False):
        also = {"report"} if task_id == ETL[-1] else set()
        assert nightly_dag.get_task(task_id).downstream_task_ids == {next_id, *also}
    assert nightly_dag.get_task("report").trigger_rule == "none_failed_min_one_success"
    assert nightly_dag.get_task(ORDER[-1]).downstream_task_ids == set()


def test_days_run_in_order(nightly_dag) -> None:
    assert nightly_dag.catchup is True
    assert nightly_dag.max_active_runs == 1
    # the run for ds starts once ds is over; the scheduler runs [start, end] (from the env)
    assert type(nightly_dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert nightly_dag.start_date == pendulum.datetime(*DAG_DAYS[0].timetuple()[:3], tz="UTC")
    assert nightly_dag.end_date == pendulum.datetime(*DAG_DAYS[-1].timetuple()[:3], tz="UTC")
    in_order = {task.task_id for task in nightly_dag.tasks if task.depends_on_past}
    assert in_order == set(ETL)
    spark_tasks = [t for t in nightly_dag.tasks if t.task_type == "SparkSubmitOperator"]
    assert [t.task_id for t in spark_tasks] == [*ETL, PUBLISH.name]
    assert all(t.application_args == ["--ds", "{{ ds }}"] for t in spark_tasks)


def test_each_spark_task_produces_the_tables_the_registry_says(nightly_dag) -> None:
    for step in SPARK_STEPS:
        task = nightly_dag.get_task(step.name)
        assert [asset.name for asset in task.outlets] == list(step.writes), step.name
        assert task.doc_md == step.doc
    others = [t for t in nightly_dag.tasks if t.task_id not in {s.name for s in SPARK_STEPS}]
    assert all(not task.outlets for task in others)


def parse_alone(env: dict[str, str], body: str) -> subprocess.CompletedProcess:
    """Parses the DAG file in a fresh interpreter where the product's code (but the step
    registry) and its engines cannot be imported: the DAG must not need them (no work at parse
    time); it fails unless the product modules imported are exactly PARSE_ALLOWED."""
    script = (
        "import sys\n"
        "for name in ('jobs', 'models', 'cli', 'torch', 'pyspark', 'deltalake'):\n"
        "    sys.modules[name] = None\n"
        f"import runpy\ndag = runpy.run_path({str(DAG_FILE)!r})['dag']\n"
        "product = sorted(m for m in sys.modules if m.split('.')[0] == 'warehouse')\n"
        f"assert product == {PARSE_ALLOWED!r}, product\n{body}"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd="/",
    )


def test_parsing_imports_no_product_code(airflow_home: Path) -> None:
    done = parse_alone({}, "print(type(dag.get_task('train')).__name__)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "BashOperator"


def test_training_on_kubernetes_is_configuration(airflow_home: Path) -> None:
    import yaml

    body = "t = dag.get_task('train')\nprint(type(t).__name__, t.pod_template_file, t.arguments)"
    done = parse_alone({"INTEREST_TRAIN_ON": "kubernetes"}, body)
    assert done.returncode == 0, done.stderr[-2000:]
    kind, template, arguments = done.stdout.strip().splitlines()[-1].split(" ", 2)
    assert kind == "KubernetesPodOperator"
    assert arguments == "['train', '--ds', '{{ ds }}']"
    pod = yaml.safe_load(Path(template).read_text())
    assert pod["kind"] == "Pod"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["base"]  # the operator's container


def test_templates_resolve_to_the_installed_jobs(nightly_dag) -> None:
    macros = nightly_dag.user_defined_macros
    assert Path(macros["job_file"]("ingest")) == REPO_ROOT / "jobs" / "ingest.py"
    jars = macros["delta_jars"]().split(",")
    assert jars and all(Path(j).is_file() and j.endswith(".jar") for j in jars)
    assert macros["setting"]("spark_driver_memory")


def test_one_spark_task_for_the_etl_is_configuration(airflow_home: Path) -> None:
    body = (
        "etl = dag.get_task('etl')\n"
        "print(sorted(dag.task_ids) == sorted(['wait_for_raw_data', 'check_day_order', 'etl', "
        "'train', 'evaluate_and_gate', 'publish', 'report']), "
        "etl.upstream_task_ids, sorted(etl.downstream_task_ids), etl.application_args)"
    )
    done = parse_alone({"INTEREST_DAG_ETL_TASKS": "one"}, body)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "True {'check_day_order'} ['report', 'train'] ['--from', '{{ ds }}', '--to', '{{ ds }}']"
    )
