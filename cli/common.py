"""What every command shares: consoles, one-line errors, day parsing, settings, progress bars,
and running a Spark job through spark-submit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from warehouse.progress import progress_bar
from warehouse.settings import Settings

console = Console()
err = Console(stderr=True)

DayOpt = Annotated[str | None, typer.Option("--ds", help="One logical day, YYYY-MM-DD.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day of a range, YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day of a range (inclusive).")]
USER_MISTAKE = 2  # exit code of a bad argument or configuration (as click's usage errors)
JOB_FAILED = 1


def fail(message: str, code: int = USER_MISTAKE) -> typer.Exit:
    """One line on stderr and the exit code; ``raise fail(...)``."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
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


def counted_progress() -> Progress:
    return progress_bar(MofNCompleteColumn(), console=console)


def submit(settings: Settings, job: str, args: list[str], on_line: Callable[[str], None]) -> None:
    """Run jobs/<job>.py through spark-submit; its failure is one line and exit 1."""
    from jobs.submit import SubmitError, run_submit

    try:
        run_submit(settings, job, args, on_line)
    except SubmitError as exc:
        raise fail(str(exc), code=JOB_FAILED) from None


def echo_records(line: str) -> None:
    """A job's JSON records (its counts), as the job printed them; Spark's own log lines, which
    spark-submit mixes into the same output, are left out."""
    if line.startswith("{"):
        print(line, flush=True)
