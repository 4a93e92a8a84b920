"""``interest``: the command line for every step a person runs by hand.

Spark work always goes through ``spark-submit`` with the configured master (jobs/submit.py), so
the same commands drive a laptop (local[*]) or a cluster (INTEREST_SPARK_MASTER=spark://...).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jobs import movielens, synthetic
from jobs.config import Settings
from jobs.pipeline import STEPS, days, parse_steps
from jobs.submit import SubmitError, run_submit, spark_submit_command

app = typer.Typer(
    help="Nightly user interest vectors: demo data, ETL, tables and SQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

DayOpt = Annotated[str | None, typer.Option("--ds", help="One logical day, YYYY-MM-DD.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day of a range, YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day of a range (inclusive).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{what} must be a date like 2026-01-31, got {text!r}") from None


def day_range(ds: str | None, first: str | None, last: str | None) -> tuple[date, date]:
    if ds and (first or last):
        raise fail("give either --ds or --from/--to, not both")
    if ds:
        day = parse_day(ds, "--ds")
        return day, day
    if not first:
        raise fail("give --ds DAY or --from DAY [--to DAY]")
    start = parse_day(first, "--from")
    end = parse_day(last, "--to") if last else start
    if end < start:
        raise fail(f"--to {end} is before --from {start}")
    return start, end


def settings_or_fail() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        raise fail(f"bad configuration: {exc}".replace("\n", " ")) from None


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
    settings = settings_or_fail()
    try:
        spec = synthetic.SyntheticSpec(
            start=parse_day(start, "--start"), days=days_, events_per_day=events_per_day,
            users=users, items=items, clusters=clusters, seed=seed, fmt=fmt,
            bad_fraction=bad_fraction,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from None
    with _progress() as progress:
        task = progress.add_task("generating days", total=days_)
        for manifest in synthetic.generate(spec, settings.raw_dir):
            progress.advance(task)
            progress.console.print(
                f"{manifest['ds']}: {manifest['events']} events, "
                f"{sum(manifest['bad'].values())} bad records"
            )


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
    settings = settings_or_fail()
    if held_out and not exclude_split:
        raise fail("--held-out needs --exclude-split")
    try:
        with console.status(f"importing {path}"):
            imported = movielens.import_file(path, settings.raw_dir, exclude_split, held_out)
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
    with _progress() as progress:
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

        _submit(settings, "pipeline", args, on_line)


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
    _submit(settings, name, ["--ds", day.isoformat()], echo)


def sizes_or_fail(settings: Settings) -> list:
    from jobs.overview import table_sizes
    from models.lake import TableNotReady

    try:
        return table_sizes(settings)
    except TableNotReady as exc:  # e.g. a table someone turned deletion vectors on for
        raise fail(str(exc)) from None


@app.command()
def tables() -> None:
    """List every table with its row count, Delta version and location, and the views."""
    from jobs.overview import TableSize, render, wide_console
    from jobs.tables import VIEWS

    out = wide_console()
    out.print(render("Delta tables", TableSize._fields, sizes_or_fail(settings_or_fail())))
    out.print(render("Views", ["view"], [(v,) for v in VIEWS]))


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="A saved query name (see `interest queries`) or SQL text.")
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value for ${key}.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Run SQL over the tables by name (e.g. SELECT * FROM gold.item_cooccurrence_current)."""
    from jobs.query import QueryError, query_names, render_query, settings_params

    settings = settings_or_fail()
    params = param or []
    if any("=" not in p for p in params):
        raise fail("--param takes key=value")
    if query in query_names():
        try:
            render_query(
                query, {**settings_params(settings), **dict(p.split("=", 1) for p in params)}
            )
        except QueryError as exc:
            raise fail(str(exc)) from None
        args = ["query", query, *[a for p in params for a in ("-p", p)]]
    elif " " in query.strip():
        args = ["sql", query]
    else:
        raise fail(f"no saved query named {query!r}; run `interest queries` to list them")
    _submit(settings, "query", ["--limit", str(limit), *args], echo)


@app.command()
def queries() -> None:
    """List the saved analyst queries (sql/queries) and their parameters."""
    from jobs.query import QUERIES_DIR, query_names, query_params, settings_params

    configured = settings_params(settings_or_fail())
    for name in query_names():
        text = (QUERIES_DIR / f"{name}.sql").read_text()
        doc = next((ln[3:] for ln in text.splitlines() if ln.startswith("-- ")), "")
        params = " ".join(f"-p {p}=..." for p in query_params(text) if p not in configured)
        console.print(f"[bold]{name}[/bold] {params}\n    {doc}")


@app.command()
def summary(ds: DayOpt = None) -> None:
    """Tables with row counts, and the reconciliation (row counts per job) of the last day."""
    from jobs.overview import RunCount, TableSize, reconciliation, render, wide_console

    settings = settings_or_fail()
    day = parse_day(ds, "--ds") if ds else None
    out = wide_console()
    out.print(render("Delta tables", TableSize._fields, sizes_or_fail(settings)))
    runs = reconciliation(settings, day)
    out.print(render("Reconciliation of the last day", RunCount._fields, runs))
    out.print(f"warehouse: {settings.home}", highlight=False)


@app.command()
def config() -> None:
    """Show the effective configuration (environment overrides applied)."""
    console.print_json(settings_or_fail().model_dump_json())


@app.command("spark-submit-command")
def show_submit(name: Annotated[str, typer.Argument(help="Job module name.")] = "pipeline") -> None:
    """Print the spark-submit command line a job runs with (for schedulers and debugging)."""
    console.print(" ".join(spark_submit_command(settings_or_fail(), name, [])), soft_wrap=True)


def echo(line: str) -> None:
    """A job's own output, passed through as printed (already laid out by the job)."""
    print(line, flush=True)


def _submit(settings: Settings, module: str, args: list[str], on_line) -> None:
    try:
        run_submit(settings, module, args, on_line)
    except SubmitError as exc:
        raise fail(str(exc), code=1) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    )  # fmt: skip


if __name__ == "__main__":
    app()
