"""Faults, as an operator meets them: a job SIGKILLed at points inside each ETL step, inside
publish and inside training, then run again; two runs at once; a full disk; a damaged data file.

The promise: after the rerun, every table equals a clean run's, row for row (checksums of every
column but when-written timestamps and Delta version numbers), nothing counted twice, nothing
half-published.

One reference warehouse is built once in the tests' Spark session: day D0, then D1 with the
model trained, staged and published. Each scenario starts from a copy of it as it was before the
part under test, runs the real job (spark-submit, `interest train`) in a process group of its
own, and kills the group (SIGKILL: no handler runs) the moment a given file appears on disk: a
table's first uncommitted data file, or a table's next Delta commit.

Each scenario is recorded (what was expected, what happened) for benchmarks/reliability.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch
from conftest import record_scenario as record
from deltalake import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import ingest, publish, sessionize
from jobs.delta_io import record_runs
from jobs.jobmain import one_line_errors
from jobs.pipeline import run_days
from jobs.submit import ERROR_MARK, spark_submit_command, submit_env
from jobs.synthetic import SyntheticSpec, generate
from models import nightly
from warehouse.settings import Settings
from warehouse.steps import ETL_STEPS, PUBLISH, RECORDED_IN, Step, parse_steps
from warehouse.tables import (
    BRONZE_EVENTS,
    BRONZE_REJECTED,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    GOLD_SEQUENCES,
    OPS_GRAPH_LOG,
    SERVING_ITEMS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_USER_RECENT,
    TABLES,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]
D0, D1, D2 = (date(2026, 8, 1) + timedelta(days=n) for n in range(3))
ETL_TABLES = [t for step in ETL_STEPS for t in step.writes]
INTEREST_CLI = Path(sys.executable).parent / "interest"
# What a rerun changes by design: when a row was written, and the Delta versions ops.graph_log
# records (a rerun's restore and commit land at new versions, of the same content). Every other
# column must be equal.
RUN_DEPENDENT = {"finished_at", "decided_at", "recorded_at", "updated_at", "forgotten_at",
                 "version_before", "version_after"}  # fmt: skip


# --- what a table holds ---------------------------------------------------------------------


def comparable(field: T.StructField):
    """A column as compared across runs: doubles to 9 decimals (sums in another order), maps as
    sorted entries, raw file paths relative to the raw folder."""
    column, kind = F.col(field.name), field.dataType
    if isinstance(kind, T.DoubleType | T.FloatType):
        return F.round(column, 9)
    if isinstance(kind, T.ArrayType) and isinstance(kind.elementType, T.DoubleType | T.FloatType):
        return F.transform(column, lambda x: F.round(x, 6))
    if isinstance(kind, T.MapType):
        return F.array_sort(F.map_entries(column))
    if field.name == "source_file":
        return F.regexp_replace(column, r"^.*/raw/", "")
    return column


def checksums(spark, settings: Settings, tables: list[str]) -> dict[str, list[int]]:
    """Per table, the sorted row hashes of its current version."""
    out = {}
    for name in tables:
        df = spark.read.format("delta").load(settings.table_path(name).as_posix())
        columns = [comparable(f) for f in df.schema.fields if f.name not in RUN_DEPENDENT]
        out[name] = sorted(r[0] for r in df.select(F.xxhash64(*columns)).collect())
    return out


def differences(spark, settings: Settings, reference: dict[str, list[int]]) -> dict[str, str]:
    """Tables whose rows differ from the reference's: 'N rows, reference M'."""
    now = checksums(spark, settings, list(reference))
    return {
        t: f"{len(now[t])} rows, reference {len(reference[t])}, {len(set(now[t]) ^ set(ref))} differ"
        for t, ref in reference.items()
        if now[t] != ref
    }


def version(settings: Settings, table: str) -> int:
    return DeltaTable(str(settings.table_path(table))).version()


def uncommitted_files(settings: Settings, table: str) -> int:
    """Data files on disk that no version of the table added (left by a killed write)."""
    root = settings.table_path(table)
    added = {
        root / unquote(action["add"]["path"])
        for commit in (root / "_delta_log").glob("*.json")
        for action in map(json.loads, commit.read_text().splitlines())
        if "add" in action
    }
    return len(data_files(root) - added)


def data_files(root: Path) -> set[Path]:
    return {f for f in root.rglob("*.parquet") if "_delta_log" not in f.parts}


# --- when to kill -----------------------------------------------------------------------------

Trigger = Callable[[], str | None]


def data_file_in(settings: Settings, table: str) -> Trigger:
    """Fires when a new data file of ``table`` appears (written, not yet committed)."""
    root = settings.table_path(table)
    before = data_files(root)

    def seen() -> str | None:
        return f"{table}: a data file written" if data_files(root) - before else None

    return seen


def commit_of(settings: Settings, table: str) -> Trigger:
    """Fires when ``table``'s next Delta commit lands."""
    log = settings.table_path(table) / "_delta_log"
    after = log / f"{version(settings, table) + 1:020d}.json"

    def seen() -> str | None:
        return f"{table}: committed" if after.exists() else None

    return seen


def file_appears(path: Path) -> Trigger:
    return lambda: f"{path.name} written" if path.exists() else None


def killed_when(command: list[str], env: dict, trigger: Trigger, log: Path) -> str:
    """Run ``command`` in a process group of its own; SIGKILL the group when ``trigger`` fires.
    Returns what the trigger saw; fails if the command ends first."""
    with log.open("w") as out:
        job = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 600
            while (seen := trigger()) is None:
                if job.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-2000:]
                    raise AssertionError(
                        f"{command[-3:]} ended (rc {job.returncode}) first:\n{tail}"
                    )
                time.sleep(0.01)
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
            return seen
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()


def run_to_end(command: list[str], env: dict, log: Path) -> subprocess.CompletedProcess:
    with log.open("w") as out:
        return subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900)


def pipeline(settings: Settings, ds: date, steps: list[str]) -> list[str]:
    args = ["--from", ds.isoformat(), "--steps", ",".join(steps)]
    return spark_submit_command(settings, "pipeline", args)


def step_job(settings: Settings, name: str, ds: date) -> list[str]:
    return spark_submit_command(settings, name, ["--ds", ds.isoformat()])


def train_command(ds: date) -> list[str]:
    return [str(INTEREST_CLI), "train", "--ds", ds.isoformat(), "--epochs", "2"]


# --- the reference ------------------------------------------------------------------------------


class Reference:
    """The clean run, and copies of its warehouse as it was at each stage."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root, self.settings = root, settings
        self.snapshots: dict[str, Path] = {}
        self.sums: dict[str, list[int]] = {}  # every table, once published
        self.etl_sums: dict[str, list[int]] = {}  # the ETL's tables after D1
        self.version = ""

    def snapshot(self, stage: str) -> None:
        self.snapshots[stage] = self.root / f"at-{stage}"
        shutil.copytree(self.settings.home, self.snapshots[stage])

    def copy(self, stage: str, home: Path, make_warehouse) -> Settings:
        """A warehouse as the reference's was at ``stage`` (registered in the session)."""
        shutil.copytree(self.snapshots[stage], home)
        return make_warehouse(home=home)


@pytest.fixture(scope="module")
def reference(spark, tmp_path_factory) -> Reference:
    from conftest import register

    root = tmp_path_factory.mktemp("faults")
    settings = Settings(home=root / "reference", spark_shuffle_partitions=1)
    register(spark, settings)
    spec = SyntheticSpec(start=D0, days=3, events_per_day=400, users=40, items=50, clusters=4,
                         bad_fraction=0.02, seed=17)  # fmt: skip
    list(generate(spec, settings.raw_dir))
    ref = Reference(root, settings)
    list(run_days(spark, settings, D0, D0, parse_steps(None)))
    ref.snapshot("D0")
    list(run_days(spark, settings, D1, D1, parse_steps(None)))
    ref.etl_sums = checksums(spark, settings, [*ETL_TABLES, RECORDED_IN])
    trained = run_to_end(train_command(D1), submit_env(settings), root / "train.log")
    assert trained.returncode == 0, (root / "train.log").read_text()[-3000:]
    ref.version = nightly.latest_trained(settings, D1)
    nightly.stage(settings, D1, ref.version, nightly.evaluate(settings, D1, ref.version))
    ref.snapshot("staged")
    counts = publish.run(spark, settings, D1)
    record_runs(spark, settings, {"publish": {D1: counts}})  # as the publish job records it
    ref.sums = checksums(spark, settings, TABLES)
    return ref


# --- the scenarios ----------------------------------------------------------------------------

# Where a day's run is killed, in the order the run reaches them: (when, table). CI kills at
# one point per step; INTEREST_FAULT_POINTS=all (benchmarks/reliability.py) at every data file
# and commit of every table, 13 kills (not the id tables' data files, nor silver.item_ids' commit:
# a day with no new items writes neither).
KILL_POINTS = [
    ("data", BRONZE_EVENTS), ("data", SILVER_SESSIONS), ("commit", SILVER_USER_IDS),
    ("commit", GOLD_AFFINITY), ("commit", SILVER_USER_RECENT),
]  # fmt: skip
ALL_KILL_POINTS = [
    ("data", BRONZE_EVENTS), ("commit", BRONZE_EVENTS), ("commit", BRONZE_REJECTED),
    ("data", SILVER_SESSIONS), ("commit", SILVER_SESSIONS),
    ("commit", SILVER_USER_IDS),
    ("data", GOLD_AFFINITY), ("commit", GOLD_AFFINITY), ("commit", GOLD_COOCCURRENCE),
    ("commit", OPS_GRAPH_LOG),
    ("data", GOLD_SEQUENCES), ("commit", GOLD_SEQUENCES), ("commit", SILVER_USER_RECENT),
]  # fmt: skip
TRIGGERS = {"data": data_file_in, "commit": commit_of}
STEP_NAMES = [step.name for step in ETL_STEPS]


def steps_from(first: str) -> list[str]:
    return STEP_NAMES[STEP_NAMES.index(first) :]


def writer(table: str) -> Step:
    return next(step for step in ETL_STEPS if table in step.writes)


@dataclass
class Kill:
    scenario: str
    left: str  # what the kill left behind
    step: Step


def test_a_kill_anywhere_in_the_etl_then_a_rerun_equals_a_clean_run(
    spark, reference, make_warehouse, tmp_path
) -> None:
    """SIGKILLs in turn, each in a run that starts at the step the previous one killed, as the
    DAG's retry of the killed task does: mid-write of bronze.events; mid-write of
    silver.sessions; between the two id tables' commits; between the graph tables' commits (the
    day half absorbed); after the examples' commits, before ops.job_runs. Once a run has
    completed a killed step, that step's tables equal the clean run's; after a last full rerun,
    every table does."""
    settings = reference.copy("D0", tmp_path / "home", make_warehouse)
    env = submit_env(settings)
    expected = reference.etl_sums
    points = ALL_KILL_POINTS if os.environ.get("INTEREST_FAULT_POINTS") == "all" else KILL_POINTS
    pending: list[Kill] = []  # kills whose step no run has completed since
    start = ETL_STEPS[0]
    for n, (when, table) in enumerate(points):
        fire = TRIGGERS[when](settings, table)
        log = tmp_path / f"{n}.log"
        orphans = {t: uncommitted_files(settings, t) for t in ETL_TABLES}
        seen = killed_when(pipeline(settings, D1, steps_from(start.name)), env, fire, log)
        killed_in = writer(table)
        done = [
            k for k in pending if STEP_NAMES.index(k.step.name) < STEP_NAMES.index(killed_in.name)
        ]
        for step in {k.step for k in done}:  # this run completed it: repaired?
            wrong = differences(spark, settings, {t: expected[t] for t in step.writes})
            for kill in (k for k in done if k.step == step):
                record(kill.scenario, "after a rerun of the step, its tables equal a clean run's",
                       f"{kill.left}; rerun: " + (f"{', '.join(step.writes)} equal" if not wrong
                       else f"differs: {wrong}"), not wrong)  # fmt: skip
            assert not wrong, (step.name, wrong)
        left = f"{uncommitted_files(settings, table) - orphans[table]} uncommitted data files left"
        pending = [k for k in pending if k not in done]
        pending.append(Kill(f"SIGKILL in {killed_in.name} ({seen})", left, killed_in))
        start = killed_in

    rerun = run_to_end(pipeline(settings, D1, STEP_NAMES), env, tmp_path / "last.log")
    assert rerun.returncode == 0, (tmp_path / "last.log").read_text()[-3000:]
    wrong = differences(spark, settings, expected)
    for kill in pending:
        record(kill.scenario, "after a full rerun, every ETL table and ops.job_runs equal a "
               "clean run's", kill.left + ("; full rerun: all equal" if not wrong
               else f"; differ: {wrong}"), not wrong)  # fmt: skip
    assert not wrong


def test_a_kill_while_publishing_never_half_publishes_and_a_rerun_equals_a_clean_run(
    spark, reference, make_warehouse, tmp_path
) -> None:
    settings = reference.copy("staged", tmp_path / "home", make_warehouse)
    env = submit_env(settings)
    publish_tables = [*PUBLISH.writes, RECORDED_IN]

    def served_day() -> int:
        return spark.sql("SELECT count(*) FROM serving.user_interest_vectors_current").first()[0]

    for n, table in enumerate((SERVING_ITEMS, SERVING_USERS)):
        seen = killed_when(step_job(settings, "publish", D1), env, commit_of(settings, table),
                           tmp_path / f"{n}.log")  # fmt: skip
        served, decided = served_day(), version(settings, "ops.publications")
        if table == SERVING_ITEMS:  # before the publish point: nothing of D1 is served
            held = served == 0 and version(settings, SERVING_USERS) == 0
            happened = f"users served: {served}"
        else:  # after it: all of D1's vectors, the decision not yet recorded
            held = not differences(spark, settings, {SERVING_USERS: reference.sums[SERVING_USERS]})
            happened = f"users served: {served}, all equal a clean run's: {held}"
        record(f"SIGKILL in publish ({seen})",
               "readers see all of a night's vectors or none of them",
               f"{happened}; ops.publications at version {decided}", held)  # fmt: skip
        assert held, happened

    rerun = run_to_end(step_job(settings, "publish", D1), env, tmp_path / "last.log")
    assert rerun.returncode == 0, (tmp_path / "last.log").read_text()[-3000:]
    wrong = differences(spark, settings, {t: reference.sums[t] for t in publish_tables})
    record("publish rerun after the kills", "serving and ops tables equal a clean run's",
           "all equal" if not wrong else f"differ: {wrong}", not wrong)  # fmt: skip
    assert not wrong


def test_a_kill_during_training_resumes_to_the_uninterrupted_model(reference, tmp_path) -> None:
    home = tmp_path / "home"
    shutil.copytree(reference.snapshots["staged"], home)
    shutil.rmtree(home / "models")
    settings = Settings(home=home, spark_shuffle_partitions=1)
    env = submit_env(settings)
    checkpoint = nightly.model_dir(settings, reference.version) / "last.pt"
    seen = killed_when(train_command(D1), env, file_appears(checkpoint), tmp_path / "kill.log")
    epochs_done = torch.load(checkpoint, weights_only=False)["state"]["epoch"]
    resumed = run_to_end(train_command(D1), env, tmp_path / "resume.log")
    assert resumed.returncode == 0, (tmp_path / "resume.log").read_text()[-3000:]

    def weights(settings: Settings) -> dict:
        return torch.load(nightly.model_dir(settings, reference.version) / "best.pt")

    trained_epochs = re.findall(r"^epoch (\d+) ", (tmp_path / "resume.log").read_text(), re.M)
    ours, clean = weights(settings), weights(reference.settings)
    equal = ours.keys() == clean.keys() and all(
        torch.allclose(ours[k], clean[k], rtol=1e-5, atol=1e-7) for k in clean
    )
    history = json.loads(
        (nightly.model_dir(settings, reference.version) / "train.json").read_text()
    )
    record("SIGKILL in training (after an epoch's checkpoint)",
           "the rerun resumes after the checkpoint's epoch; best.pt equals an uninterrupted run's",
           f"killed with {epochs_done} epoch(s) done ({seen}); the rerun trained epochs "
           f"{trained_epochs}, best epoch {history['best_epoch']}; weights equal: {equal}",
           equal and trained_epochs == ["2"])  # fmt: skip
    assert epochs_done == 1 and trained_epochs == ["2"] and equal


def test_two_runs_of_different_days_at_once_never_give_an_id_twice(
    spark, reference, make_warehouse, tmp_path
) -> None:
    """Two operators backfill D1 and D2 at the same moment: both ids jobs read the id tables'
    maximum and insert after it. Delta's optimistic concurrency must make one of them fail
    clearly (or see the other's ids); a retry of the loser completes; no id is given twice."""
    settings = reference.copy("D0", tmp_path / "home", make_warehouse)
    for day in (D1, D2):
        ingest.run(spark, settings, day)
    env = submit_env(settings)
    jobs = {
        day: subprocess.Popen(
            step_job(settings, "ids", day),
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for day in (D1, D2)
    }
    outputs = {day: job.communicate(timeout=600)[0] for day, job in jobs.items()}
    failed = {day: out for day, out in outputs.items() if jobs[day].returncode != 0}
    errors = [ln for out in failed.values() for ln in out.splitlines() if ERROR_MARK in ln]
    for day in failed:  # the operator retries
        retry = run_to_end(step_job(settings, "ids", day), env, tmp_path / f"retry-{day}.log")
        assert retry.returncode == 0, (tmp_path / f"retry-{day}.log").read_text()[-3000:]

    problems = []
    for table, key, idx in ((SILVER_USER_IDS, "user_id", "user_idx"),
                            (SILVER_ITEM_IDS, "item_id", "item_idx")):  # fmt: skip
        ids = spark.read.format("delta").load(settings.table_path(table).as_posix())
        events = spark.read.format("delta").load(settings.table_path(BRONZE_EVENTS).as_posix())
        rows, keys, idxs = (
            ids.count(),
            ids.select(key).distinct().count(),
            ids.select(idx).distinct().count(),
        )
        seen_keys = events.select(key).distinct().count()
        dense = ids.agg(F.max(idx)).first()[0] == rows
        if not (rows == keys == idxs == seen_keys and dense):
            problems.append(f"{table}: {rows} rows, {keys} keys, {idxs} ids, {seen_keys} in events")
    clear = len(errors) == len(failed)
    happened = (
        f"{len(failed)} of 2 failed ({'; '.join(e.split('failed: ')[-1][:90] for e in errors)})"
        f", retried; " + ("ids unique and dense" if not problems else "; ".join(problems))
    )
    record("two ids jobs (D1, D2) at once", "the loser fails with one line and a retry succeeds; "
           "no id given twice", happened, clear and not problems)  # fmt: skip
    assert clear and not problems, happened


def as_reported(line: str, tmp_path: Path) -> str:
    """A job's error line for the report: without its marker and the test's folder."""
    return line.split(ERROR_MARK)[-1].strip().replace(f"file:{tmp_path}", "<test dir>")


@contextmanager
def full_disk_under(folder: Path) -> Iterator[Path]:
    """``folder``'s files moved onto a 1 MiB tmpfs mounted over it, filled up: the next write
    fails with ENOSPC. Yields the filler (delete it to free the space)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    saved = folder.with_name(folder.name + ".saved")
    folder.rename(saved)
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        filler = folder / ".filler"
        with filler.open("wb", buffering=0) as out, pytest.raises(OSError):
            while True:
                out.write(b"\0" * 65536)
        yield filler
        shutil.copytree(folder, saved, dirs_exist_ok=True, ignore=lambda *_: [".filler"])
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()
        saved.rename(folder)


def test_a_full_disk_fails_the_step_with_one_line_and_a_rerun_completes(
    spark, reference, make_warehouse, tmp_path, capsys
) -> None:
    settings = reference.copy("D0", tmp_path / "home", make_warehouse)
    ingest.run(spark, settings, D1)
    sessions = settings.table_path(SILVER_SESSIONS)
    with full_disk_under(sessions) as filler:
        before = version(settings, SILVER_SESSIONS)
        with pytest.raises(Py4JJavaError), one_line_errors(f"sessionize {D1}"):
            sessionize.run(spark, settings, D1)
        (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "failed" in ln]
        unchanged = version(settings, SILVER_SESSIONS) == before
        filler.unlink()
        sessionize.run(spark, settings, D1)
    wrong = differences(spark, settings, {SILVER_SESSIONS: reference.sums[SILVER_SESSIONS]})
    says_so = "No space left on device" in line
    record("disk full while sessionize writes (1 MiB tmpfs under silver.sessions)",
           "one line saying so, no commit; after space is freed a rerun equals a clean run",
           f"{as_reported(line, tmp_path)}; table unchanged: {unchanged}; rerun "
           + ("equal" if not wrong else f"differs: {wrong}"),
           says_so and unchanged and not wrong)  # fmt: skip
    assert says_so and unchanged and not wrong, line


def test_a_truncated_data_file_stops_the_step_with_one_line_naming_it(
    spark, make_warehouse, tmp_path, capsys
) -> None:
    settings = make_warehouse()
    folder = settings.raw_day_dir(D0.isoformat())
    folder.mkdir(parents=True)
    events = [{"user_id": f"u{n}", "item_id": "i1", "event_type": "view",
               "ts": f"{D0}T10:0{n}:00Z"} for n in range(3)]  # fmt: skip
    (folder / "a.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest.run(spark, settings, D0)
    (damaged,) = settings.table_path(BRONZE_EVENTS).rglob("*.parquet")
    damaged.write_bytes(damaged.read_bytes()[:-20])  # a write cut short: no footer

    with pytest.raises(Py4JJavaError), one_line_errors(f"sessionize {D0}"):
        sessionize.run(spark, settings, D0)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "failed" in ln]
    held = f"sessionize {D0} failed: SparkException: [FAILED_READ_FILE" in line
    held = held and damaged.name in line and "(cause: " in line
    record("a truncated Parquet file in bronze.events", "one line naming the file",
           as_reported(line, tmp_path), held)  # fmt: skip
    assert held, line
