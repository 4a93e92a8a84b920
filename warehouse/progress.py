"""The product's one progress bar (rich): what is running, a bar, the caller's own columns (a
count, a loss), the time elapsed. Used by the CLI's long commands and by training epochs."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn


def progress_bar(*columns: ProgressColumn, console: Console | None = None) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), *columns, TimeElapsedColumn(),
        console=console,
    )  # fmt: skip
