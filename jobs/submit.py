"""spark-submit command lines for the jobs: the one place that knows how a job is launched.

The CLI runs them; the Airflow DAG passes the same master, jars and conf to SparkSubmitOperator.
Nothing here imports Spark: a launcher (the CLI, an Airflow worker) only needs the paths.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from warehouse import REPO_ROOT
from warehouse.settings import Settings
from warehouse.storage import is_local

JOBS_DIR = REPO_ROOT / "jobs"
# spark-submit merges the Python driver's stdout and stderr into its own stdout: a job prints its
# error as one line after this mark (jobs/jobmain.py), so the launcher finds it among Spark's logs.
ERROR_MARK = "interest-error:"


class SubmitError(RuntimeError):
    """A spark-submit run failed; the message is the job's own last error line."""


def delta_jars(settings: Settings) -> list[str]:
    """The Delta jars resolved by scripts/setup.sh, plus Hadoop's S3A connector when the
    warehouse is on object storage; a clear error when setup has not run."""
    folders = [settings.jars_dir] + ([] if is_local(settings.home) else [s3a_jars(settings)])
    jars = []
    for folder in folders:
        found = sorted(str(p) for p in folder.glob("*.jar"))
        if not found:
            raise RuntimeError(f"no jars in {folder}: run scripts/setup.sh (resolves them once)")
        jars += found
    return jars


def s3a_jars(settings: Settings) -> Path:
    return settings.jars_dir / "s3a"


def spark_home() -> str:
    """The installed pyspark package folder (found without importing it)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyspark is not installed: run scripts/setup.sh")
    return spec.submodule_search_locations[0]


def job_file(name: str) -> Path:
    return JOBS_DIR / f"{name}.py"


# What a job imports and reads: shipped to a cluster (its driver and executors) with --py-files.
JOB_FILES = ("jobs/**/*.py", "warehouse/**/*.py", "sql/**/*.sql")


def is_local_master(master: str) -> bool:
    return master.startswith("local")


def job_package() -> Path:
    """A zip of the job packages' sources and the SQL they read, for --py-files, named by its
    content (built once per change, in the temp folder): the job's Python processes import its
    code from it, not from a checkout the driver happens to have."""
    files = sorted(p for pattern in JOB_FILES for p in REPO_ROOT.glob(pattern) if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    target = Path(tempfile.gettempdir()) / f"interest-jobs-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        with (
            tempfile.NamedTemporaryFile(dir=target.parent, suffix=".zip", delete=False) as tmp,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            for path in files:
                archive.write(path, path.relative_to(REPO_ROOT))
        os.chmod(tmp.name, 0o644)  # a cluster's daemons may run as another user
        os.replace(tmp.name, target)  # atomic: concurrent launchers build the same bytes
    return target


def shipped_package(settings: Settings) -> Path | None:
    """What --py-files ships: the job packages on a cluster, nothing on local[...]."""
    return None if is_local_master(settings.spark_master) else job_package()


def java_options(settings: Settings) -> list[str]:
    options = settings.driver_java_options
    return ["--conf", f"spark.driver.extraJavaOptions={options}"] if options else []


def spark_submit_command(settings: Settings, name: str, args: list[str]) -> list[str]:
    return [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master", settings.spark_master,
        "--driver-memory", settings.spark_driver_memory,
        *java_options(settings),
        "--jars", ",".join(delta_jars(settings)),
        *(["--py-files", str(package)] if (package := shipped_package(settings)) else []),
        str(job_file(name)),
        *args,
    ]  # fmt: skip


def submit_env(settings: Settings) -> dict[str, str]:
    """The launcher's environment plus its effective settings, so the job sees the same config."""
    env = dict(os.environ)
    for key, value in settings.model_dump(mode="json").items():
        name = f"INTEREST_{key.upper()}"
        secret = getattr(settings, key)
        if value is None:
            env.pop(name, None)
        elif isinstance(secret, SecretStr):  # dumped masked
            env[name] = secret.get_secret_value()
        else:
            env[name] = value if isinstance(value, str) else json.dumps(value)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.setdefault("SPARK_HOME", spark_home())
    return env


def run_submit(
    settings: Settings, name: str, args: list[str], on_line: Callable[[str], None]
) -> None:
    """Run a job, passing its stdout lines to ``on_line`` up to an error line; raise SubmitError
    with that one line when the job fails."""
    try:
        command = spark_submit_command(settings, name, args)
    except RuntimeError as exc:
        raise SubmitError(str(exc)) from None
    error: str | None = None
    stderr_tail: collections.deque[str] = collections.deque(maxlen=50)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=submit_env(settings)
    ) as proc:
        reader = threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True)
        reader.start()
        for line in proc.stdout:
            if line.startswith(ERROR_MARK):
                error = error or line[len(ERROR_MARK) :].strip()
            elif error is None:
                on_line(line.rstrip("\n"))
        proc.wait()
        reader.join()
    if proc.returncode != 0:
        last = next((ln.strip() for ln in reversed(stderr_tail) if ln.strip()), "no output")
        raise SubmitError(error or f"{name} failed (exit {proc.returncode}): {last}")
