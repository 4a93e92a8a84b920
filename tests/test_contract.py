"""The contract package and the light entry points load no engine; the step registry is the one
list of steps (the README's table and the DAG derive from it)."""

from __future__ import annotations

import json
import os
import pkgutil
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import warehouse
from warehouse import REPO_ROOT
from warehouse.decay import decay_factor
from warehouse.graph_tags import commit_tag, is_graph_commit, parse_tag
from warehouse.steps import (
    COMMAND_WRITERS,
    ETL_STEPS,
    PUBLISH,
    RECORDED_IN,
    SPARK_STEPS,
    parse_steps,
    writer_of,
)
from warehouse.tables import TABLES

ENGINES = ("pyspark", "torch", "delta", "torch_geometric", "petastorm")


def run_python(code: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "INTEREST_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def loaded_engines_after(statements: str, home: Path) -> list[str]:
    """The engines in sys.modules after running ``statements`` in a fresh interpreter."""
    loaded = f"sorted(m for m in {ENGINES!r} if m in sys.modules)"
    done = run_python(f"import json, sys\n{statements}\nprint(json.dumps({loaded}))", home)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_contract_package_imports_neither_spark_nor_torch(tmp_path: Path) -> None:
    modules = [f"warehouse.{m.name}" for m in pkgutil.iter_modules(warehouse.__path__)]
    assert "warehouse.lake" in modules and "warehouse.steps" in modules
    assert loaded_engines_after("\n".join(f"import {m}" for m in modules), tmp_path) == []


def test_interest_help_and_tables_start_without_spark(tmp_path: Path) -> None:
    statements = (
        "from cli.main import app\n"
        "for args in (['--help'], ['tables']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code in (0, None), (args, exit.code)\n"
    )
    assert loaded_engines_after(statements, tmp_path) == []


def test_the_light_airflow_tasks_load_no_engine(tmp_path: Path) -> None:
    """What the DAG's check_day_order and report tasks call, on an empty warehouse."""
    statements = (
        "from datetime import date\n"
        "from warehouse.day_order import plan_night\n"
        "from warehouse.lake import TableNotReady\n"
        "from warehouse.night_report import night_report\n"
        "from warehouse.settings import Settings\n"
        "assert plan_night(Settings(), date(2026, 1, 1)).runs\n"
        "try:\n"
        "    night_report(Settings(), date(2026, 1, 1))\n"
        "except TableNotReady:\n"
        "    pass\n"
    )
    assert loaded_engines_after(statements, tmp_path) == []


def test_no_side_imports_between_the_engine_sides() -> None:
    def imports(folder: str, pattern: str) -> list[str]:
        return [
            f"{path.name}: {line.strip()}"
            for path in (REPO_ROOT / folder).glob("*.py")
            for line in path.read_text().splitlines()
            if re.match(pattern, line.strip())
        ]

    assert imports("jobs", r"(from|import) models\b") == []
    assert imports("models", r"(from|import) jobs\b") == []
    assert imports("warehouse", r"(from|import) (jobs|models|cli)\b") == []


def test_commit_tags_name_a_day_or_a_range() -> None:
    d1, d3 = date(2026, 1, 1), date(2026, 1, 3)
    assert commit_tag(d3, d3) == "graph ds=2026-01-03"
    assert commit_tag(d1, d3) == "graph ds=2026-01-03 from=2026-01-01"
    assert parse_tag(commit_tag(d1, d3)) == (d1, d3)
    assert parse_tag("graph ds=2026-01-03") == (d3, d3)
    assert is_graph_commit(commit_tag(d1, d3)) and not is_graph_commit(None)
    assert not is_graph_commit("OPTIMIZE")


def test_decay_halves_a_weight_every_half_life() -> None:
    assert decay_factor(0.0, 30.0) == 1.0
    assert decay_factor(30.0, 30.0) == 0.5
    assert decay_factor(90.0, 30.0) == pytest.approx(0.125)
    ages = np.array([0.0, 15.0, 30.0])
    np.testing.assert_allclose(decay_factor(ages, 15.0), [1.0, 0.5, 0.25])


def test_every_table_has_one_writer() -> None:
    written = [table for step in SPARK_STEPS for table in step.writes]
    assert len(written) == len(set(written)), "a table written by two steps"
    assert sorted([*written, RECORDED_IN, *COMMAND_WRITERS]) == sorted(TABLES)
    assert [s.name for s in ETL_STEPS] == ["ingest", "sessionize", "ids", "graph", "examples"]
    assert PUBLISH.name == "publish" and all(step.doc for step in SPARK_STEPS)


def test_steps_parse_in_pipeline_order() -> None:
    assert parse_steps(None) == [s.name for s in ETL_STEPS]
    assert parse_steps("graph, ingest") == ["ingest", "graph"]
    with pytest.raises(ValueError, match="unknown step"):
        parse_steps("ingest,train")


def readme_writers() -> dict[str, str]:
    """table -> its "written by" cell in the README's Tables table."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in (REPO_ROOT / "README.md").read_text().splitlines()
        if line.startswith("| `")
    ]
    return {
        name: row[2]
        for row in rows
        if len(row) == 4
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", row[0])
        if name in TABLES
    }


def test_the_readme_table_lists_each_table_with_its_writer() -> None:
    expected = {
        table: writer_of(table) or COMMAND_WRITERS.get(table) or "every job" for table in TABLES
    }
    assert readme_writers() == expected
