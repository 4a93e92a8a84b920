"""The warehouse on object storage: one night end to end with INTEREST_HOME=s3a://... against a
local S3-compatible server (moto's server mode stands in for S3 or MinIO: no cloud is reachable
from here). Spark goes through Hadoop's S3A connector, the model side through delta-rs, fsspec
and Petastorm; credentials and the endpoint come only from the standard AWS variables."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from upath import UPath

from jobs.synthetic import SyntheticSpec, generate
from warehouse import REPO_ROOT
from warehouse.settings import Settings
from warehouse.tables import TABLES

pytestmark = [pytest.mark.spark, pytest.mark.slow]
INTEREST = str(Path(sys.executable).parent / "interest")
BUCKET = "lake"
SPEC = SyntheticSpec(start=date(2026, 5, 1), days=3, events_per_day=600, users=60, items=50,
                     clusters=4, bad_fraction=0.02, seed=11)  # fmt: skip
NIGHT = SPEC.day_list[-1]  # trained on the days before it, evaluated on it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto's S3 server on a free local port, with a bucket; the AWS variables that reach it
    (set here too, for the test's own reads)."""
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",  # delta-rs: a plain-HTTP endpoint
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                boto3.client("s3").create_bucket(Bucket=BUCKET)
                break
            except Exception:  # not listening yet
                assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.3)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def interest(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([INTEREST, *args], env=env, capture_output=True, text=True,
                            timeout=900, cwd=REPO_ROOT)  # fmt: skip
    assert result.returncode == 0, f"interest {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result.stdout


def test_one_night_runs_end_to_end_with_the_warehouse_on_object_storage(
    s3_server: dict[str, str], tmp_path: Path
) -> None:
    home = f"s3a://{BUCKET}/warehouse"
    env = {**os.environ, **s3_server, "INTEREST_HOME": home,
           "INTEREST_WORK_DIR": str(tmp_path / "work"), "COLUMNS": "200"}  # fmt: skip
    settings = Settings(home=home, work_dir=tmp_path / "work")
    list(generate(SPEC, tmp_path / "raw"))  # the team's logs, landed in the bucket
    settings.raw_dir.fs.put(str(tmp_path / "raw"), settings.raw_dir.path, recursive=True)
    before = set(REPO_ROOT.iterdir())

    interest(env, "etl", "--from", SPEC.day_list[0].isoformat(), "--to", NIGHT.isoformat())
    interest(env, "train", "--ds", NIGHT.isoformat(), "--epochs", "1")
    published = interest(env, "publish", "--ds", NIGHT.isoformat())
    counted = interest(env, "sql", "SELECT (SELECT count(*) FROM silver.user_ids) AS known, "
                       "(SELECT count(*) FROM serving.user_interest_vectors_current) AS served")  # fmt: skip

    assert "published" in published.lower(), published
    known, served = (int(n) for n in re.findall(r"\b\d+\b", counted)[-2:])  # the table's row
    assert known > 0 and served == known + 1  # + the cold-start row
    # Every table lives in the bucket; only the work folder (models, MLflow) is local.
    for name in TABLES:
        assert (settings.table_path(name) / "_delta_log").is_dir(), name
    staged = settings.publish_stage_dir(NIGHT.isoformat())
    assert (staged / "users.parquet").is_file() and (staged / "items.parquet").is_file()
    assert list(settings.models_dir.glob("*/best.pt"))
    assert set(REPO_ROOT.iterdir()) == before  # no s3a:/... folder made by a path mistake
    assert isinstance(settings.home, UPath) and not isinstance(settings.home, Path)
