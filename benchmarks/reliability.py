"""The reliability report: each fault scenario and bad-input kind, what was expected and what
happened.

    .venv/bin/python benchmarks/reliability.py [--out FILE] [--conditions TEXT] [-- PYTEST ARGS]

(default pytest args: the two test modules below; default out: benchmarks/results/).

Runs tests/test_faults.py (SIGKILLs inside each ETL step, publish and training, then reruns; two
runs at once; a full disk; a damaged data file) and tests/test_bad_inputs.py (the bad-input
corpus) under pytest; each scenario records one line as it ends. The ETL is killed at every
data file and commit of every table (INTEREST_FAULT_POINTS=all; CI kills at one point a step).
Prints them as a table and writes benchmarks/results/reliability.json with the conditions of the
run. Needs root for the full-disk scenario (it mounts a 1 MiB tmpfs), as CI has.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from warehouse import REPO_ROOT

RESULTS = REPO_ROOT / "benchmarks" / "results" / "reliability.json"
MODULES = ["tests/test_faults.py", "tests/test_bad_inputs.py"]


def run_scenarios(pytest_args: list[str]) -> tuple[int, float, list[dict]]:
    """pytest's exit status, its seconds, and the scenarios' records."""
    with tempfile.TemporaryDirectory() as scratch:
        records = Path(scratch) / "records.jsonl"
        env = {**os.environ, "INTEREST_RELIABILITY_RECORDS": str(records)}
        env.setdefault("INTEREST_FAULT_POINTS", "all")  # CI kills at fewer points
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        started = time.perf_counter()
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
        status = subprocess.run(command, cwd=REPO_ROOT, env=env).returncode
        seconds = time.perf_counter() - started
        lines = records.read_text().splitlines() if records.exists() else []
    return status, seconds, [json.loads(line) for line in lines]


def render(scenarios: list[dict]) -> Table:
    table = Table(title="reliability scenarios", show_lines=True)
    for column in ("scenario", "expected", "happened", "held"):
        table.add_column(column, overflow="fold")
    for s in scenarios:
        table.add_row(s["scenario"], s["expected"], s["happened"], "yes" if s["held"] else "NO")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--conditions", default="idle machine: nothing else running",
                        help="what else ran on the machine")  # fmt: skip
    parser.add_argument("pytest_args", nargs="*", default=MODULES)
    args = parser.parse_args()
    pytest_args = args.pytest_args
    status, seconds, scenarios = run_scenarios(pytest_args)
    Console(width=160).print(render(scenarios))
    held = sum(s["held"] for s in scenarios)
    report = {
        "conditions": {
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "load": args.conditions,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            "command": f"benchmarks/reliability.py {' '.join(pytest_args)}",
            "kill_points": os.environ.get("INTEREST_FAULT_POINTS", "all"),
            "pytest_exit_status": status,
            "seconds": round(seconds, 1),
        },
        "summary": {"scenarios": len(scenarios), "held": held},
        "scenarios": scenarios,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{held} of {len(scenarios)} scenarios held; pytest exit {status}; wrote {args.out}")
    sys.exit(status or (held != len(scenarios)))


if __name__ == "__main__":
    main()
