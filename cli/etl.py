"""ETL commands: demo data, MovieLens import, the ETL steps for a day or a range (Spark jobs run
through spark-submit with the configured master, jobs/submit.py, so the same commands drive a
laptop or a cluster), and the effective configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    DayOpt,
    FromOpt,
    ToOpt,
    console,
    counted_progress,
    day_range,
    echo_records,
    fail,
    parse_day,
    settings_or_fail,
    submit,
)
from warehouse.days import days
from warehouse.settings import Settings
from warehouse.steps import etl_step_names, parse_steps
from warehouse.storage import is_local

app = typer.Typer()
STEPS = etl_step_names()


@app.command("demo-data")
def demo_data(
    start: Annotated[str, typer.Option(help="First day.")] = "2026-01-01",
    days_: Annotated[int, typer.Option("--days", min=1, help="Number of days.")] = 7,
    events_per_day: Annotated[int, typer.Option(min=1, help="Good events per day.")] = 20_000,
    users: Annotated[int, typer.Option(min=1)] = 2_000,
    items: Annotated[int, typer.Option(min=1)] = 1_000,
    clusters: Annotated[int, typer.Option(min=1)] = 20,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet.")] = "jsonl",
    bad_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Bad records injected, per good event.")
    ] = 0.01,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Write synthetic raw event logs (known structure, deterministic by seed) under RAW/."""
    from jobs import synthetic

    settings = settings_or_fail()
    try:
        spec = synthetic.SyntheticSpec(
            start=parse_day(start, "--start"), days=days_, events_per_day=events_per_day,
            users=users, items=items, clusters=clusters, seed=seed, fmt=fmt,
            bad_fraction=bad_fraction,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from None
    with counted_progress() as progress:
        task = progress.add_task("generating days", total=days_)
        for manifest in synthetic.generate(spec, local_raw_dir(settings)):
            progress.advance(task)
            progress.console.print(
                f"{manifest['ds']}: {manifest['events']} events, "
                f"{sum(manifest['bad'].values())} bad records"
            )


def local_raw_dir(settings: Settings) -> Path:
    """The raw folder the generators write (each day atomically, by a local rename)."""
    if not is_local(settings.raw_dir):
        raise fail(
            f"this command writes a local warehouse, and INTEREST_HOME is {settings.home}: write "
            "to a local INTEREST_HOME, then copy its raw/ folder into the bucket"
        )
    return settings.raw_dir


@app.command("import-movielens")
def import_movielens(
    path: Annotated[
        Path, typer.Argument(help="u.data, ratings.dat, ratings.csv or RecBole .inter")
    ],
    exclude_split: Annotated[
        Path | None,
        typer.Option(
            "--exclude-split",
            help="Leave-one-out split file (tab-separated: user_id, valid_item_id, "
            "test_item_id): those ratings are held out of the raw days (no leakage into the "
            "ETL) and written to the held-out file instead.",
        ),
    ] = None,
    held_out: Annotated[
        Path | None,
        typer.Option(
            "--held-out",
            help="Held-out JSONL to write (default: HOME/heldout/<split name>.jsonl).",
        ),
    ] = None,
) -> None:
    """Import MovieLens ratings into RAW/ds=.../ as 'rating' events at their own timestamps.
    The last line printed is a JSON summary (for scripts)."""
    from jobs import movielens

    settings = settings_or_fail()
    if held_out and not exclude_split:
        raise fail("--held-out needs --exclude-split")
    try:
        with console.status(f"importing {path}"):
            imported = movielens.import_file(path, local_raw_dir(settings), exclude_split, held_out)
    except (FileNotFoundError, movielens.UnknownFormat, ValueError) as exc:
        raise fail(str(exc)) from None
    counts = imported.days
    if not counts:
        raise fail(f"{path}: no ratings to import")
    first, last = min(counts), max(counts)
    console.print(
        f"{sum(counts.values())} ratings over {len(counts)} days ({first} .. {last}) "
        f"-> {settings.raw_dir}",
        highlight=False,
    )
    if imported.held_out_file:
        console.print(
            f"held out {imported.held_out['valid']} validation and "
            f"{imported.held_out['test']} test ratings -> {imported.held_out_file}",
            highlight=False,
        )
    console.print(f"next: interest etl --from {first} --to {last} --bulk", highlight=False)
    summary = {
        "ratings": sum(counts.values()),
        "days": [first, last],
        "held_out": imported.held_out,
        "held_out_file": str(imported.held_out_file) if imported.held_out_file else None,
    }
    print(json.dumps(summary), flush=True)


@app.command()
def etl(
    ds: DayOpt = None,
    first: FromOpt = None,
    last: ToOpt = None,
    steps: Annotated[
        str | None, typer.Option(help=f"Comma-separated subset of: {', '.join(STEPS)}.")
    ] = None,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk",
            help="Run each step once over the whole range (initial load of history) instead "
            "of day by day; same tables, much less fixed cost per day.",
        ),
    ] = False,
) -> None:
    """Run the ETL steps for a day or a range, in order, in one spark-submit. Days without raw
    data inside a range are skipped."""
    settings = settings_or_fail()
    start, end = day_range(ds, first, last)
    try:
        names = parse_steps(steps)
    except ValueError as exc:
        raise fail(str(exc)) from None
    args = ["--from", start.isoformat(), "--to", end.isoformat(), "--steps", ",".join(names)]
    args += ["--bulk"] if bulk else []
    total = len(names) if bulk else len(list(days(start, end))) * len(names)
    with counted_progress() as progress:
        task = progress.add_task(f"ETL {start} .. {end}{' (bulk)' if bulk else ''}", total=total)

        def on_line(line: str) -> None:
            if not line.startswith("{"):
                return
            record = json.loads(line)
            if "skipped" in record:
                progress.advance(task, 0 if bulk else len(names))
                progress.console.print(f"{record['ds']} skipped: {record['skipped']}")
                return
            progress.advance(task)
            in_days = f" ({record['days']} days)" if "days" in record else ""
            progress.console.print(
                f"{record['ds']} {record['step']:<10} {record['seconds']:>7.1f}s{in_days}  "
                + ", ".join(f"{k}={v}" for k, v in record["counts"].items())
            )

        submit(settings, "pipeline", args, on_line)


@app.command()
def job(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(STEPS)}.")],
    ds: Annotated[str, typer.Option("--ds", help="Logical day, YYYY-MM-DD.")],
) -> None:
    """Run one Spark job for one day (its own spark-submit, as the Airflow task does)."""
    if name not in STEPS:
        raise fail(f"unknown job {name!r}; jobs are {', '.join(STEPS)}")
    settings = settings_or_fail()
    day = parse_day(ds, "--ds")
    submit(settings, name, ["--ds", day.isoformat()], echo_records)


@app.command()
def config() -> None:
    """Show the effective configuration (environment overrides applied)."""
    console.print_json(settings_or_fail().model_dump_json())


@app.command("spark-submit-command")
def show_submit(name: Annotated[str, typer.Argument(help="Job module name.")] = "pipeline") -> None:
    """Print the spark-submit command line a job runs with (for schedulers and debugging)."""
    from jobs.submit import spark_submit_command

    settings = settings_or_fail()
    try:
        command = spark_submit_command(settings, name, [])
    except RuntimeError as exc:  # e.g. setup has not resolved the jars
        raise fail(str(exc)) from None
    console.print(" ".join(command), soft_wrap=True)
