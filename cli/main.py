"""The ``interest`` console script: one app, the commands of cli/etl.py, cli/query.py,
cli/model.py, cli/privacy.py; and ``interest cluster ...`` (cli/cluster.py)."""

from __future__ import annotations

import typer

from cli import cluster, etl, model, privacy, query

app = typer.Typer(
    help="Nightly user interest vectors: demo data, ETL, training, publishing, tables and SQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for commands in (etl.app, query.app, model.app, privacy.app):
    app.add_typer(commands)  # no name: the commands join the top level
app.add_typer(cluster.app, name="cluster")

if __name__ == "__main__":
    app()
