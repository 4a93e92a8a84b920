"""The CLI's one table renderer: every table the CLI prints goes through ``render``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table

from warehouse.publication import METRICS

QUERY_CELL = 60  # characters of a query result's cell (vectors, raw records fill the screen)


def wide_console() -> Console:
    """A console as wide as COLUMNS says, 160 by default: table paths stay on one line, also
    when the output is a pipe or a log (rich would assume 80)."""
    return Console(width=int(os.environ.get("COLUMNS", 160)))


def cell(value: object, width: int | None = None) -> str:
    text = "-" if value is None else str(value)
    return text if width is None or len(text) <= width else text[: width - 3] + "..."


def render(
    title: str, columns: Sequence[str], rows: Iterable[Sequence], cell_width: int | None = None
) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[cell(v, cell_width) for v in row])
    return table


def metrics_table(title: str, rows: Mapping[str, Mapping[str, float]]) -> Table:
    """model -> metric -> value, one row per model, the metrics in report order."""
    return render(
        title,
        ["model", *METRICS],
        [[name, *(f"{v[m]:.4f}" for m in METRICS)] for name, v in rows.items()],
    )
