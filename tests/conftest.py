"""One session-scoped Spark (local[2], Delta, shuffle partitions 1); each test that writes tables
gets its own warehouse (``make_warehouse``), registered in that same session."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # pyspark.testing imports pyspark.pandas
# User ids are pseudonymised under a key from the environment: a fresh random one per test run,
# inherited by every process the tests start (spark-submit, Airflow tasks).
os.environ.setdefault("INTEREST_PSEUDONYM_KEY", secrets.token_hex(32))
# The jobs the tests launch (spark-submit from the CLI, the DAG's tasks, the fault scenarios) run
# with the local demo's JVM options: short jobs on tiny data, where compiling costs more than it
# saves (settings.spark_driver_java_options: a step job 24 -> 18 s here). The tests' own session
# keeps the default JVM: it runs for the whole suite, and the Spark tests took 422 s with it, 491 s
# with these options (measured back to back, 2026-12-03).
DEMO_JVM = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
os.environ.setdefault("INTEREST_SPARK_DRIVER_JAVA_OPTIONS", DEMO_JVM)


def record_scenario(scenario: str, expected: str, happened: str, held: bool) -> None:
    """One line of the reliability report (benchmarks/reliability.py sets where they go): a
    fault scenario or bad-input kind, what was expected and what happened."""
    if out := os.environ.get("INTEREST_RELIABILITY_RECORDS"):
        line = {"scenario": scenario, "expected": expected, "happened": happened, "held": held}
        with open(out, "a") as records:
            records.write(json.dumps(line) + "\n")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from jobs.spark import build_session
    from warehouse.settings import Settings

    home = tmp_path_factory.mktemp("spark-home")
    settings = Settings(home=home, spark_shuffle_partitions=1, spark_driver_java_options="")
    session = build_session("interest-tests", settings, "local[2]")
    yield session
    session.stop()


def register(spark, settings, sync_comments: bool = False) -> None:
    """Points the session's catalog at ``settings``' warehouse (tables are path-based: cheap), as
    a new job's session does."""
    from jobs.catalog import register_tables
    from warehouse.tables import LAYERS

    for layer in LAYERS:
        spark.sql(f"DROP DATABASE IF EXISTS {layer} CASCADE")
    register_tables(spark, settings, sync_comments)


def _plain(value):
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return tuple(value) if isinstance(value, list) else value


def snapshot(spark) -> dict[str, list]:
    """Every table's rows, sorted, without when/which-version columns; raw paths relative to
    the warehouse (the two runs have their own)."""
    from pyspark.sql import functions as F

    from warehouse.tables import TABLES

    out = {}
    for name in TABLES:
        df = spark.table(name).drop("finished_at", "version_before", "version_after")
        if "source_file" in df.columns:
            df = df.withColumn("source_file", F.regexp_extract("source_file", r"/raw/(.*)$", 1))
        out[name] = sorted(tuple(_plain(v) for v in row) for row in df.collect())
    return out


GRAPH_KEYS = {"gold.user_item_affinity": 2, "gold.item_cooccurrence": 2}  # key columns first


def assert_same_rows(expected: dict[str, list], got: dict[str, list]) -> None:
    """Two snapshots hold the same rows; the graph's weights are sums of floats, equal up to the
    order they were added in (which partitioning decides)."""
    for name, rows in expected.items():
        if name not in GRAPH_KEYS:
            assert got[name] == rows, name
            continue
        n = GRAPH_KEYS[name]
        want = {r[:n]: r for r in rows}
        have = {r[:n]: r for r in got[name]}
        assert have.keys() == want.keys(), name
        for key, row in want.items():
            assert have[key][n] == pytest.approx(row[n], rel=1e-9), (name, key)
            assert have[key][n + 1 :] == row[n + 1 :], (name, key)


@pytest.fixture(scope="session")
def model_warehouse(spark, tmp_path_factory: pytest.TempPathFactory):
    """Four synthetic days through the real ETL, built once for every model test: training reads
    2026-05-01..03, the next-day evaluation 2026-05-04."""
    from datetime import date

    from jobs.pipeline import run_days
    from jobs.synthetic import SyntheticSpec, generate
    from warehouse.settings import Settings
    from warehouse.steps import parse_steps

    home = tmp_path_factory.mktemp("model-home")
    settings = Settings(home=home, spark_shuffle_partitions=1)
    register(spark, settings)
    spec = SyntheticSpec(
        start=date(2026, 5, 1), days=4, events_per_day=1500, users=150, items=120, clusters=6,
        bad_fraction=0.0, seed=5,
    )  # fmt: skip
    list(generate(spec, settings.raw_dir))
    list(run_days(spark, settings, spec.day_list[0], spec.day_list[-1], parse_steps(None)))
    return settings


@pytest.fixture
def model_tables(spark, model_warehouse):
    """The model warehouse, registered in the session (other tests switch the catalog)."""
    register(spark, model_warehouse)
    return model_warehouse


@pytest.fixture
def make_warehouse(spark, tmp_path: Path) -> Callable:
    """Returns settings over a fresh warehouse under tmp_path (or ``home``), with the tables
    registered (a second call switches the session's tables to the new warehouse)."""
    from warehouse.settings import Settings

    def make(home: Path | None = None, **overrides):
        home = home or tmp_path / "home"
        settings = Settings(home=home, spark_shuffle_partitions=1, **overrides)
        register(spark, settings)
        return settings

    return make


# The days the end-to-end DAG tests run with dag.test(), then two more with raw data: the UI
# backfill runs the first through the scheduler, the CLI's dry run plans the second (the DAG's
# own schedule ends at DAG_DAYS[-1]).
DAG_DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(3)]
BACKFILL_DAYS = [DAG_DAYS[-1] + timedelta(days=n) for n in (1, 2)]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the tests' Airflow metadata (scripts/postgres.sh, as the demo
    uses): the URL of its database "airflow". Its folder is outside pytest's (owner-only) temp
    folder: as root, the server runs as the "postgres" user, which must reach it."""
    import shutil
    import tempfile

    from warehouse import REPO_ROOT

    folder = Path(tempfile.mkdtemp(prefix="interest-test-postgres-"))
    folder.chmod(0o755)
    script = str(REPO_ROOT / "scripts" / "postgres.sh")
    started = subprocess.run([script, "start", str(folder / "data")],
                             check=True, capture_output=True, text=True)  # fmt: skip
    yield started.stdout.strip()
    subprocess.run([script, "stop", str(folder / "data")], check=True)
    shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh database on the tests' PostgreSQL server (an Airflow home of its own)."""
    import psycopg2

    base, _, _ = server_url.rpartition("/")
    db = psycopg2.connect(base.replace("postgresql+psycopg2", "postgresql") + "/postgres")
    db.autocommit = True  # CREATE DATABASE runs outside a transaction
    try:
        with db.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        db.close()
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory, postgres: str) -> Path:
    """A local Airflow (PostgreSQL metadata, as the demo's) over dags/, migrated once. Airflow
    reads its configuration when first imported, so nothing may import it before this fixture."""
    if "airflow" in sys.modules:
        raise RuntimeError("airflow was imported before the test Airflow home was set")
    home = tmp_path_factory.mktemp("airflow-home")
    os.environ.update(airflow_env(home, postgres))
    migrate_airflow(os.environ)
    return home


def airflow_env(home: Path, database_url: str) -> dict[str, str]:
    """The environment of a local Airflow (metadata in ``database_url``) over dags/."""
    from warehouse import REPO_ROOT

    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "INTEREST_DAG_START_DATE": DAG_DAYS[0].isoformat(),
        "INTEREST_DAG_END_DATE": DAG_DAYS[-1].isoformat(),
        # The DAG's tasks call `interest` and `spark-submit` from the product's venv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


def migrate_airflow(env) -> None:
    airflow = Path(sys.executable).parent / "airflow"
    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


@pytest.fixture(scope="session")
def nightly_dag(airflow_home: Path):
    """The nightly DAG as the scheduler parses it (import errors fail the fixture)."""
    from airflow.dag_processing.dagbag import DagBag

    from warehouse import REPO_ROOT

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("user_interest_nightly")


def table_versions(settings) -> dict[str, int]:
    """Every product table's Delta version: unchanged versions mean nothing was written."""
    from deltalake import DeltaTable

    from warehouse.tables import TABLES

    return {name: DeltaTable(str(settings.table_path(name))).version() for name in TABLES}


@dataclass
class DagNights:
    dag: object
    settings: object  # jobs.config.Settings of the warehouse the DAG wrote
    days: list[date]
    runs: list[tuple[str, dict[str, str]]]  # per day: the run's state, each task's state

    def run(self, day: date) -> tuple[str, dict[str, str]]:
        return run_night(self.dag, day)


def run_night(dag, day: date):
    """One real DAG run for ``day``, as the demo runs it (scripts/run_nights.py: ``dag.test()``):
    its state and each task's state."""
    from warehouse import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import run_nights
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    run = run_nights.run_night(dag, day)
    return run.state, {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.fixture(scope="session")
def dag_nights(nightly_dag, tmp_path_factory: pytest.TempPathFactory):
    """Three synthetic days run through the DAG in order (the warehouse is INTEREST_HOME); the
    raw data of BACKFILL_DAYS is there too, not run."""
    import os

    from jobs.synthetic import SyntheticSpec, generate
    from warehouse.settings import Settings

    home = tmp_path_factory.mktemp("dag-home")
    os.environ["INTEREST_HOME"] = str(home)  # read by every task and the processes they start
    settings = Settings()
    spec = SyntheticSpec(
        start=DAG_DAYS[0], days=len(DAG_DAYS + BACKFILL_DAYS), events_per_day=1500, users=150, items=120, clusters=6,
        bad_fraction=0.01, seed=11,
    )  # fmt: skip
    list(generate(spec, settings.raw_dir))
    try:
        yield DagNights(
            nightly_dag, settings, DAG_DAYS, [run_night(nightly_dag, day) for day in DAG_DAYS]
        )
    finally:
        del os.environ["INTEREST_HOME"]
