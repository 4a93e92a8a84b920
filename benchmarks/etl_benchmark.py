"""ETL benchmark: ingest + sessionize + ids + graph + examples over synthetic days on local[2].

    .venv/bin/python benchmarks/etl_benchmark.py [--events-per-day 100000 1000000] [--days 10]
    .venv/bin/python benchmarks/etl_benchmark.py --events-per-day 10000000 --days 3

For each size it generates the raw days (not timed), runs the pipeline through spark-submit
exactly as `interest etl` does, and records per-day seconds, throughput and the peak RSS of the
whole process tree (spark-submit JVM + Python driver), and the seconds per step and phase over all
days from Spark's event log (benchmarks/spark_phases.py). Results: benchmarks/results/etl.json.
Day 1 includes the JVM's warm-up, so throughput is taken over the days after it, and the last day
costing about what day 2 costs shows the nightly work is incremental.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import psutil
from spark_phases import step_phases  # this folder's

from jobs.submit import run_submit
from jobs.synthetic import SyntheticSpec, generate
from warehouse import REPO_ROOT
from warehouse.settings import Settings

# A throwaway warehouse's pseudonym key (ingest pseudonymises user ids), unless one is given.
os.environ.setdefault("INTEREST_PSEUDONYM_KEY", secrets.token_hex(32))

RESULTS = REPO_ROOT / "benchmarks" / "results" / "etl.json"


class PeakRss:
    """Samples the summed RSS of a process's descendants (the pipeline: spark-submit's JVM and its
    Python driver), not the process itself (this benchmark, which holds what it generated)."""

    def __init__(self, root: psutil.Process, every_s: float = 0.5) -> None:
        self.root, self.every_s, self.peak_mb = root, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in self.root.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a child that just ended
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def machine() -> str:
    mem_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def bench(events_per_day: int, days: int, work: Path, master: str) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    users, items = max(1000, events_per_day // 10), max(1000, events_per_day // 100)
    spec = SyntheticSpec(
        start=date(2026, 1, 1), days=days, events_per_day=events_per_day, users=users,
        items=items, clusters=50, bad_fraction=0.001, seed=11,
    )  # fmt: skip
    event_logs = work / "event-log"
    event_logs.mkdir(parents=True)
    log_conf = {"spark.eventLog.enabled": "true", "spark.eventLog.compress": "false",
                "spark.eventLog.dir": event_logs.as_uri()}  # fmt: skip
    settings = Settings(home=work, spark_master=master, extra_spark_conf=log_conf)
    load_at_start = os.getloadavg()[0]  # near 0: nothing else was running
    started = time.perf_counter()
    for manifest in generate(spec, settings.raw_dir):
        print(f"generated {manifest['ds']}: {manifest['read']} records", flush=True)
    generate_s = time.perf_counter() - started

    per_day: dict[str, float] = {}
    steps: list[dict] = []

    def on_line(line: str) -> None:
        if line.startswith("{"):
            record = json.loads(line)
            steps.append(record)
            per_day[record["ds"]] = per_day.get(record["ds"], 0.0) + record["seconds"]
            print(f"  {record['ds']} {record['step']:<10} {record['seconds']:8.1f}s", flush=True)

    last = spec.day_list[-1].isoformat()
    args = ["--from", spec.day_list[0].isoformat(), "--to", last]
    started = time.perf_counter()
    with PeakRss(psutil.Process()) as rss:
        run_submit(settings, "pipeline", args, on_line)
    total_s = time.perf_counter() - started
    day_s = [round(per_day[d.isoformat()], 2) for d in spec.day_list]
    warm = day_s[1:] or day_s  # the days after the JVM's warm-up
    return {
        "events_per_day": events_per_day,
        "days": days,
        "users": users,
        "items": items,
        "events_per_s_after_day1": round(events_per_day * len(warm) / sum(warm), 1),
        "events_per_s_all": round(events_per_day * days / total_s, 1),
        "total_s": round(total_s, 1),
        "day1_s": day_s[0],
        "day2_s": warm[0],
        "last_day_s": day_s[-1],
        "last_vs_day2": round(day_s[-1] / warm[0], 3),
        "day_s": day_s,
        "step_s_last_day": {r["step"]: r["seconds"] for r in steps if r["ds"] == last},
        "step_phase_s_all_days": step_phases(next(event_logs.iterdir())),
        "peak_rss_mb": round(rss.peak_mb),
        "generate_s": round(generate_s, 1),
        "master": master,
        "measured": date.today().isoformat(),
        "load_avg_1m_at_start": round(load_at_start, 2),
    }


def save_run(out: Path, run: dict) -> None:
    """Adds a run to the results file, replacing an earlier run of the same size and days."""
    key = ("events_per_day", "days")
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    runs = [r for r in runs if "events_per_day" in r]  # older runs counted all days' events
    runs = [r for r in runs if [r[k] for k in key] != [run[k] for k in key]]
    runs = sorted([*runs, run], key=lambda r: [r[k] for k in key])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "runs": runs}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events-per-day", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "var" / "bench-etl")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--conditions",
        required=True,
        help="What else ran on the machine, written beside the figures (e.g. 'idle: nothing "
        "else running').",
    )
    args = parser.parse_args()
    for events_per_day in args.events_per_day:
        print(f"== {events_per_day} events a day for {args.days} days", flush=True)
        run = {**bench(events_per_day, args.days, args.work, args.master),
               "conditions": args.conditions}  # fmt: skip
        print(json.dumps(run), flush=True)
        save_run(args.out, run)
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
