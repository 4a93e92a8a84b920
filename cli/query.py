"""Warehouse commands for analysts: tables and the last day's reconciliation (read from the Delta
logs, no Spark), saved queries, and SQL over the tables by name (through Spark)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import (
    DayOpt,
    console,
    echo_records,
    fail,
    parse_day,
    settings_or_fail,
    submit,
)
from cli.render import QUERY_CELL, render, wide_console
from warehouse.lake import TableNotReady
from warehouse.overview import RunCount, TableSize, reconciliation, table_sizes
from warehouse.queries import (
    QUERIES_DIR,
    QueryError,
    query_names,
    query_params,
    render_query,
    settings_params,
)
from warehouse.settings import Settings
from warehouse.tables import VIEWS

app = typer.Typer()


def sizes_or_fail(settings: Settings) -> list[TableSize]:
    try:
        return table_sizes(settings)
    except TableNotReady as exc:  # e.g. a table someone turned deletion vectors on for
        raise fail(str(exc)) from None


@app.command()
def tables() -> None:
    """List every table with its row count, Delta version and location, and the views."""
    out = wide_console()
    out.print(render("Delta tables", TableSize._fields, sizes_or_fail(settings_or_fail())))
    out.print(render("Views", ["view"], [(v,) for v in VIEWS]))


@app.command()
def vacuum() -> None:
    """Delete the files no table version of the last `retention_days` uses (Delta VACUUM);
    rollback and time travel keep reaching that far back."""
    settings = settings_or_fail()
    submit(settings, "vacuum", [], echo_records)


@app.command()
def summary(ds: DayOpt = None) -> None:
    """Tables with row counts, and the reconciliation (row counts per job) of the last day."""
    settings = settings_or_fail()
    day = parse_day(ds, "--ds") if ds else None
    out = wide_console()
    out.print(render("Delta tables", TableSize._fields, sizes_or_fail(settings)))
    runs = reconciliation(settings, day)
    out.print(render("Reconciliation of the last day", RunCount._fields, runs))
    out.print(f"warehouse: {settings.home}", highlight=False)


def show_result(line: str) -> None:
    """Renders the query job's result line (jobs/query.py); Spark's own output is dropped."""
    if line.startswith('{"title"'):
        result = json.loads(line)
        wide_console().print(render(result["title"], result["columns"], result["rows"], QUERY_CELL))


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
    submit(settings, "query", ["--limit", str(limit), *args], show_result)


@app.command()
def queries() -> None:
    """List the saved analyst queries (sql/queries) and their parameters."""
    configured = settings_params(settings_or_fail())
    for name in query_names():
        text = (QUERIES_DIR / f"{name}.sql").read_text()
        doc = next((ln[3:] for ln in text.splitlines() if ln.startswith("-- ")), "")
        params = " ".join(f"-p {p}=..." for p in query_params(text) if p not in configured)
        console.print(f"[bold]{name}[/bold] {params}\n    {doc}")
