"""Which nights may run now, checked before a night writes anything.

The long-term graph absorbs days in order (jobs/graph.py): a night at or before the graph's latest
absorbed day would count days twice or before earlier ones. The graph job refuses such a day too,
but only after ingest, sessionize and ids have rewritten their partitions; the nightly DAG checks
first, so a refused night (a backfill that starts in the middle of history, or before its first
day; a finished range rerun) changes no table. Rerunning exactly the latest absorbed day is
allowed: the graph job restores the version before it.

Reads the Delta logs with delta-rs (no Spark), so it is quick enough for an Airflow task.
"""

from __future__ import annotations

from datetime import date

from deltalake import DeltaTable

from jobs.config import Settings
from jobs.graph import COMMIT_MARK, parse_tag, span
from jobs.tables import GOLD_AFFINITY, GOLD_COOCCURRENCE


class DayOrderError(RuntimeError):
    """The night would apply a day out of order to the long-term graph."""


def absorbed_span(settings: Settings, table: str) -> tuple[date, date] | None:
    """(first, last) days of the table's latest tagged graph commit; None before the first."""
    path = settings.table_path(table)
    if not (path / "_delta_log").is_dir():
        return None
    for commit in DeltaTable(str(path)).history():  # newest first
        tag = commit.get("userMetadata") or ""
        if tag.startswith(COMMIT_MARK):
            return parse_tag(tag)
    return None


def check_day_order(settings: Settings, ds: date) -> str:
    """Why night ``ds`` may run; raises DayOrderError (with what to do) when it may not."""
    spans = [s for t in (GOLD_AFFINITY, GOLD_COOCCURRENCE) if (s := absorbed_span(settings, t))]
    if not spans:
        return f"{ds}: the long-term graph is empty, any first day may start it"
    first, last = max(spans, key=lambda s: s[1])
    if ds > last:
        return f"{ds} comes after {last}, the graph's latest day"
    if (first, last) == (ds, ds):
        return f"{ds} reruns the graph's latest day (its previous version is restored first)"
    raise DayOrderError(
        f"{ds} is at or before {span(first, last)}, which the long-term graph has already "
        f"absorbed: days are applied in order, so a backfill must start after {last} (or rerun "
        f"exactly {span(first, last)}). To redo earlier days, restore {GOLD_AFFINITY} and "
        f"{GOLD_COOCCURRENCE} to their versions before {ds} (ops.graph_log lists them), then "
        "backfill from there."
    )
