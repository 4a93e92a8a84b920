"""# user_interest_nightly

One run per logical day `ds`: the day's raw logs in, user interest vectors for `ds` published.

**Steps**: wait for `RAW/ds=<ds>/` → check the day's order → Spark jobs `ingest` → `sessionize` →
`ids` → `graph` → `examples` (Delta tables, one commit per table and ds) → `train` (skipped
on a warehouse's first night: no sequences before it) → `evaluate_and_gate` → `publish` (Spark: all
user vectors of ds in ONE Delta commit) → `report` (fails the run if the gate refused the model;
the previous vectors stay served).

**Order**: the long-term graph and the id tables take days in order: the ETL steps have
`depends_on_past`, the DAG `max_active_runs=1`. `check_day_order`, before any table is written,
runs a new day (or the graph's latest day again if it did not publish), skips a finished night
(rerunning a finished range changes no table) and refuses any other day the graph has gone past.

**Backfill** (the DAG must be unpaused; Airflow requires reprocess *failed* or *completed* with
`depends_on_past`): `airflow backfill create --dag-id user_interest_nightly --from-date A
--to-date B --reprocess-behavior failed`, or *Run Backfill* in the UI. See dags/README.md.

(This file is configuration: of the product, only the step registry (`warehouse/steps.py`: the
steps, the tables each writes, their docs) is imported while it is parsed; the callables and
macros import the rest when a task runs.)
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, TriggerRule, chain, task

from warehouse.steps import ETL_STEPS, NOTHING_TO_TRAIN, PUBLISH, Step

DAG_ID = "user_interest_nightly"
# Where the training task runs: "local" (this worker, CPU or its GPU) or "kubernetes" (a GPU pod
# from infra/k8s/train-pod.yaml).
TRAIN_ON = os.environ.get("INTEREST_TRAIN_ON", "local")
# "per_step": one spark-submit per ETL step (retry one step, see each in the grid); "one": the
# night's five ETL steps in ONE spark-submit (jobs/pipeline.py), for small data where a JVM start
# per step costs more than the step (the demo on 2 cores).
ETL_TASKS = os.environ.get("INTEREST_DAG_ETL_TASKS", "per_step")
# The days the scheduler runs by itself: from the start day (catching up on missed days) to the
# end day if one is set. A local Airflow sets the end to its last day of raw data, so that
# unpausing the DAG (backfills only run while it is unpaused) starts no run that would wait for
# data that never comes. Backfills may run any day.
START_DAY = os.environ.get("INTEREST_DAG_START_DATE", "2026-01-01")
END_DAY = os.environ.get("INTEREST_DAG_END_DATE") or None


def utc_day(variable: str, value: str) -> pendulum.DateTime:
    try:
        return pendulum.datetime(*map(int, value.split("-")), tz="UTC")
    except (TypeError, ValueError):
        raise ValueError(f"{variable}={value!r}: expected a day, YYYY-MM-DD") from None


def table_asset(name: str) -> Asset:
    layer, table = name.split(".")
    return Asset(name=name, uri=f"delta://interest/{layer}/{table}", group="delta")


def job_file(name: str) -> str:
    """Macro: the job's file in the installed product (resolved when the task runs)."""
    from jobs.submit import job_file as path

    return str(path(name))


def delta_jars() -> str:
    """Macro: the Delta jars resolved by scripts/setup.sh, for spark-submit --jars."""
    from jobs.submit import delta_jars as jars
    from warehouse.settings import Settings

    return ",".join(jars(Settings()))


def job_package() -> str:
    """Macro: the job packages' zip for spark-submit --py-files on a cluster ("" on local)."""
    from jobs.submit import shipped_package
    from warehouse.settings import Settings

    return str(shipped_package(Settings()) or "")


def setting(name: str) -> str:
    """Macro: one of the product's settings (warehouse/settings.py), read when the task runs."""
    from warehouse.settings import Settings

    return str(getattr(Settings(), name))


def spark_step(
    step: Step, job: str | None = None, args: list[str] | None = None, in_day_order: bool = True
) -> SparkSubmitOperator:
    """One Spark job for ds; the master is the `spark_default` connection's. An ETL step waits
    for the same step of the day before (the graph and the id tables take days in order)."""
    name = step.name
    return SparkSubmitOperator(
        task_id=name,
        application=f"{{{{ job_file('{job or name}') }}}}",
        application_args=args or ["--ds", "{{ ds }}"],
        jars="{{ delta_jars() }}",
        py_files="{{ job_package() }}",
        conf={  # driver_memory= is not a templated argument; conf is
            "spark.driver.memory": "{{ setting('spark_driver_memory') }}",
            "spark.driver.extraJavaOptions": "{{ setting('driver_java_options') }}",
        },
        name=f"interest-{name}-{{{{ ds }}}}",
        conn_id="spark_default",
        outlets=[table_asset(t) for t in step.writes],
        depends_on_past=in_day_order,
        execution_timeout=timedelta(hours=2),
        doc_md=step.doc,
    )


def train_step() -> BashOperator:
    command = ["train", "--ds", "{{ ds }}"]
    doc = (
        "Trains the fused LSTM + GCN model on the sequences of the last `train_days` days up to "
        "ds - 1, early stopping on ds's events; warm-starts from the last published model. "
        "Skipped (exit 99) on a warehouse's first night, which has nothing to train on."
    )
    if TRAIN_ON == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        return KubernetesPodOperator(
            task_id="train",
            pod_template_file=os.environ.get(
                "INTEREST_TRAIN_POD_TEMPLATE",
                os.path.join(os.path.dirname(__file__), "..", "infra", "k8s", "train-pod.yaml"),
            ),
            arguments=command,
            skip_on_exit_code=NOTHING_TO_TRAIN,
            execution_timeout=timedelta(hours=4),
            doc_md=doc + " Runs in a GPU pod (infra/k8s/train-pod.yaml).",
        )
    return BashOperator(
        task_id="train",
        bash_command="interest " + " ".join(command),
        skip_on_exit_code=NOTHING_TO_TRAIN,
        execution_timeout=timedelta(hours=4),
        doc_md=doc,
    )


@task.sensor(poke_interval=600, timeout=12 * 3600, mode="reschedule")
def wait_for_raw_data(ds: str | None = None) -> bool:
    """Waits until the day's raw folder RAW/ds=<ds>/ holds a file (12 h at most). Names starting
    with '.' or '_' do not count, as ingest skips them; any other file does, whatever its name,
    so that one ingest cannot read stops the night loudly instead of keeping it waiting."""
    from warehouse.settings import Settings

    folder = Settings().raw_day_dir(ds)
    return folder.is_dir() and any(
        p.is_file() and not p.name.startswith((".", "_")) for p in folder.iterdir()
    )


@task
def check_day_order(ds: str | None = None) -> str:
    """Before any table is written: runs a new day (or the graph's unfinished latest day), skips
    a finished night (a rerun would change nothing), refuses a day the graph has gone past."""
    from datetime import date

    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from warehouse.day_order import DayOrderError, plan_night
    from warehouse.settings import Settings

    try:
        night = plan_night(Settings(), date.fromisoformat(ds))
    except DayOrderError as exc:
        raise AirflowFailException(str(exc)) from None  # no retry: it would be refused again
    if not night.runs:
        raise AirflowSkipException(night.reason)  # skips the whole night
    return night.reason


# After the publish job, or after the ETL when nothing was trained (a warehouse's first night):
# every night that ran gets its report; a skipped night (already done) does not.
@task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
def report(ds: str | None = None) -> str:
    """Logs the night's decision and next-day metrics beside the baselines and writes the night's
    HTML report (<home>/reports/ds=D.html, and the index); fails the run when the gate refused
    the model (the previous vectors stay served)."""
    from datetime import date

    from airflow.sdk.exceptions import AirflowFailException

    from reports.page import write_report
    from warehouse.lake import TableNotReady
    from warehouse.night_report import night_report
    from warehouse.settings import Settings

    settings, day = Settings(), date.fromisoformat(ds)
    written = f"report: {write_report(settings, day)}"
    try:
        night = night_report(settings, day)
    except TableNotReady:  # nothing was trained (a warehouse's first night): the ETL's report
        return written
    text = "\n".join([*night.lines(), written])
    logging.getLogger(__name__).info("%s", text)
    if not night.published:
        raise AirflowFailException(f"vectors not published for {ds}: {night.reason}")
    return text


with DAG(
    dag_id=DAG_ID,
    description="Raw events → Delta tables → fused LSTM + GCN model → published interest vectors",
    # The run for ds starts when ds is over (at midnight UTC after it), not at its start.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=utc_day("INTEREST_DAG_START_DATE", START_DAY),
    end_date=END_DAY and utc_day("INTEREST_DAG_END_DATE", END_DAY),
    catchup=True,
    max_active_runs=1,  # the graph and the id tables take days in order
    default_args={
        "owner": "recsys",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    },
    user_defined_macros={
        "job_file": job_file,
        "delta_jars": delta_jars,
        "job_package": job_package,
        "setting": setting,
    },
    tags=["interest-vectors", "spark", "delta", "pytorch"],
    doc_md=__doc__,
) as dag:
    if ETL_TASKS == "one":
        etl = Step(
            "etl",
            tuple(table for step in ETL_STEPS for table in step.writes),
            "The night's ETL steps in one spark-submit (`jobs/pipeline.py`): "
            + " ".join(step.doc for step in ETL_STEPS),
        )
        spark_steps = [
            spark_step(etl, job="pipeline", args=["--from", "{{ ds }}", "--to", "{{ ds }}"])
        ]
    else:
        spark_steps = [spark_step(step) for step in ETL_STEPS]
    evaluate_and_gate = BashOperator(
        task_id="evaluate_and_gate",
        bash_command="interest stage --ds {{ ds }}",
        execution_timeout=timedelta(hours=1),
        doc_md="Next-day metrics of the candidate, the last published model, popularity and "
        "item-KNN on ds's test users; the gate's decision; stages the vectors only if it passes.",
    )
    # a night whose model was refused or failed holds no later night
    publish = spark_step(PUBLISH, in_day_order=False)
    night_report = report()
    chain(
        wait_for_raw_data(),
        check_day_order(),
        *spark_steps,
        train_step(),
        evaluate_and_gate,
        publish,
        night_report,
    )
    spark_steps[-1] >> night_report
