"""The CLI as a person uses it: real spark-submit runs, one-line errors for mistakes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

INTEREST = str(Path(sys.executable).parent / "interest")


def interest(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "INTEREST_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([INTEREST, *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["etl", "--ds", "2026-02-30"], "--ds must be a date like"),
        (["etl", "--from", "2026-01-03", "--to", "2026-01-01"], "is before --from"),
        (["etl", "--ds", "2026-01-01", "--steps", "ingest,train"], "unknown step(s) train"),
        (["job", "publish", "--ds", "2026-01-01"], "unknown job 'publish'"),
        (["sql", "no_such_query"], "no saved query named"),
        (["sql", "item_neighbours"], "needs --param item_id=..."),
        (["import-movielens", "missing/u.data"], "no such file"),
        (["demo-data", "--format", "xml"], "unknown format 'xml'"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = interest(tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.spark
@pytest.mark.slow
def test_demo_data_etl_and_sql_through_spark_submit(tmp_path: Path) -> None:
    made = interest(
        tmp_path, "demo-data", "--days", "1", "--events-per-day", "500", "--start", "2026-02-01"
    )
    assert made.returncode == 0, made.stderr
    etl = interest(tmp_path, "etl", "--ds", "2026-02-01", "--steps", "ingest")
    assert etl.returncode == 0, etl.stderr
    assert "accepted=500" in etl.stdout
    missing = interest(tmp_path, "etl", "--ds", "2026-02-02", "--steps", "ingest")
    assert missing.returncode == 1
    assert "pipeline failed: NoRawData: no raw data for this day" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
    report = interest(tmp_path, "sql", "daily_reconciliation")
    assert report.returncode == 0, report.stderr
    assert "2026-02-01" in report.stdout and "True" in report.stdout  # reconciled
