"""Where an ETL run's time goes, from Spark's own event log: seconds per step and phase.

    .venv/bin/python benchmarks/spark_phases.py EVENT_LOG (a file, or the folder of a rolled log)

Run the pipeline with ``INTEREST_EXTRA_SPARK_CONF='{"spark.eventLog.enabled": "true",
"spark.eventLog.dir": "file:///DIR", "spark.eventLog.compress": "false"}'``; the pipeline names
each step's Spark jobs by their job group (``jobs/pipeline.py``). Each top-level SQL execution
(nested ones, such as a MERGE's scans, are inside their parent's time) is put in one phase by
what started it: a table write, a MERGE, the materialisation of an intermediate result, a count
or collect read back by the driver, or catalog SQL.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

PHASES = [  # (phase, what the execution's description starts with or contains)
    ("merge", ("DeltaMergeBuilder", "MERGE")),
    ("write", ("save at",)),
    ("materialise", ("localCheckpoint at", "checkpoint at")),
    ("count/collect", ("collect at", "count at", "first at", "head at", "toPandas at")),
    ("catalog sql", ("sql at",)),
]


def phase_of(description: str) -> str:
    for phase, marks in PHASES:
        if any(description.startswith(m) or m in description for m in marks):
            return phase
    return "other"


def log_files(path: Path) -> list[Path]:
    """An event log's files in order: the file itself, or a rolled log's events_N_* files."""
    if path.is_file():
        return [path]
    return sorted(path.glob("events_*"), key=lambda f: int(f.name.split("_")[1]))


def events(path: Path) -> Iterable[dict]:
    for file in log_files(path):
        with file.open() as lines:
            for line in lines:
                yield json.loads(line)


def step_phases(path: Path) -> dict[str, dict[str, float]]:
    """{step (job group): {phase: seconds}} over the top-level SQL executions of an event log;
    "total" per step sums its phases."""
    started, ended, group = {}, {}, {}
    for event in events(path):
        kind = event["Event"]
        if kind.endswith("SQLExecutionStart"):
            root = event.get("rootExecutionId", event["executionId"])
            if root == event["executionId"]:
                started[root] = (event["time"], event.get("description", ""))
        elif kind.endswith("SQLExecutionEnd"):
            ended[event["executionId"]] = event["time"]
        elif kind == "SparkListenerJobStart":
            properties = event.get("Properties", {})
            execution = properties.get("spark.sql.execution.root.id") or properties.get(
                "spark.sql.execution.id"
            )
            if execution is not None and "spark.jobGroup.id" in properties:
                group.setdefault(int(execution), properties["spark.jobGroup.id"])
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for execution, (start, description) in started.items():
        seconds = (ended.get(execution, start) - start) / 1000
        phases = out[group.get(execution, "(no job)")]
        phases[phase_of(description)] += seconds
        phases["total"] += seconds
    return {s: {p: round(v, 2) for p, v in sorted(ph.items())} for s, ph in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("event_log", type=Path)
    args = parser.parse_args()
    for step, phases in step_phases(args.event_log).items():
        print(step, json.dumps(phases))


if __name__ == "__main__":
    main()
