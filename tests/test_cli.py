"""The CLI as a person uses it: real spark-submit runs, one-line errors for mistakes."""

import json
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
        (["rollback", "--ds", "2026-02-30"], "--ds must be a date like"),
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


def test_import_movielens_holds_out_a_split(tmp_path: Path) -> None:
    ratings = tmp_path / "u.data"
    ratings.write_text("1\t10\t4\t881250949\n1\t11\t3\t881250950\n2\t10\t5\t891717742\n")
    split = tmp_path / "split.tsv"
    split.write_text("user_id\tvalid_item_id\ttest_item_id\n1\t11\t10\n2\t10\t99\n")
    bad = interest(tmp_path, "import-movielens", str(ratings), "--exclude-split", str(split))
    assert bad.returncode != 0
    assert "error: 1 (user, item) pairs of the split are not among the ratings" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout

    split.write_text("user_id\tvalid_item_id\ttest_item_id\n1\t11\t10\n")
    ok = interest(tmp_path, "import-movielens", str(ratings), "--exclude-split", str(split))
    assert ok.returncode == 0, ok.stderr
    assert "held out 1 validation and 1 test ratings" in ok.stdout
    assert json.loads(ok.stdout.splitlines()[-1]) == {
        "ratings": 1,
        "days": ["1998-04-04", "1998-04-04"],
        "held_out": {"valid": 1, "test": 1},
        "held_out_file": str(tmp_path / "heldout" / "split.jsonl"),
    }
    assert len((tmp_path / "heldout" / "split.jsonl").read_text().splitlines()) == 2


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
    bulk = interest(
        tmp_path, "etl", "--from", "2026-01-31", "--to", "2026-02-01", "--steps", "ingest",
        "--bulk",
    )  # fmt: skip
    assert bulk.returncode == 0, bulk.stderr
    assert "2026-01-31 skipped: no raw data" in bulk.stdout
    assert "2026-01-31..2026-02-01 ingest" in bulk.stdout and "(1 days)" in bulk.stdout
    assert "accepted=500" in bulk.stdout
    missing = interest(tmp_path, "etl", "--ds", "2026-02-02", "--steps", "ingest")
    assert missing.returncode == 1
    assert "pipeline failed: NoRawData: no raw data for this day" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
    typo = interest(tmp_path, "sql", "SELECT count FROM ops.job_runs")  # the column is counts
    assert typo.returncode == 1 and typo.stdout == ""
    assert typo.stderr.count("\n") == 1 and "UNRESOLVED_COLUMN" in typo.stderr, typo.stderr
    delete = interest(tmp_path, "sql", "DELETE FROM bronze.events")
    assert delete.returncode == 1 and delete.stderr.count("\n") == 1, delete.stderr
    assert "read-only: DeleteFromTable refused" in delete.stderr  # (the summary: still 500 rows)
    nothing_served = interest(tmp_path, "rollback", "--ds", "2026-02-01")
    assert nothing_served.returncode == 1 and nothing_served.stderr.count("\n") == 1
    assert "RollbackError: no version of serving.user_interest_vectors" in nothing_served.stderr
    report = interest(tmp_path, "sql", "daily_reconciliation")
    assert report.returncode == 0, report.stderr
    assert "2026-02-01" in report.stdout and "True" in report.stdout  # reconciled
    summary = interest(tmp_path, "summary")
    assert summary.returncode == 0, summary.stderr
    lines = [line.split("│")[1:-1] for line in summary.stdout.splitlines() if "│" in line]
    cells = [[c.strip() for c in line] for line in lines]
    assert ["bronze.events", "500", "2", str(tmp_path / "tables/bronze/events")] in cells
    assert ["ingest", "2026-02-01", "accepted", "500"] in cells
