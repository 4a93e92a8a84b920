"""Whether a night may run now, decided before it writes anything.

The long-term graph absorbs days in order (jobs/graph.py; its commit tags:
warehouse/graph_tags.py): a night at or before the graph's latest absorbed day would count days
twice or before earlier ones. The graph job refuses such a day too, but only after ingest,
sessionize and ids have rewritten their partitions; the nightly DAG asks first, so that:

- a new day (after the graph's latest) runs;
- a finished night (its vectors published, or the warehouse's first night once later nights
  ran: it trains nothing) is skipped: rerunning a finished range changes no table;
- the graph's latest day, unfinished (a failed or refused night, or the first night), runs
  again: the graph job restores the version before it, the other jobs rewrite their partitions;
- any other day at or before the graph's latest is refused, with what to do instead.

Reads the Delta logs with delta-rs (no Spark), so it is quick enough for an Airflow task.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from deltalake import DeltaTable

from warehouse.graph_tags import is_graph_commit, parse_tag, span
from warehouse.lake import TableNotReady, read_arrow
from warehouse.publication import Decision
from warehouse.settings import Settings
from warehouse.tables import GOLD_AFFINITY, GOLD_COOCCURRENCE, OPS_PUBLICATIONS


class DayOrderError(RuntimeError):
    """The night would apply a day out of order to the long-term graph."""


class NightPlan(NamedTuple):
    runs: bool  # False: the night already finished; running it again would change nothing
    reason: str


def graph_spans(settings: Settings, table: str) -> list[tuple[date, date]]:
    """(first, last) days of each tagged graph commit of the table, newest first."""
    path = settings.table_path(table)
    if not (path / "_delta_log").is_dir():
        return []
    tags = (commit.get("userMetadata") or "" for commit in DeltaTable(str(path)).history())
    return [parse_tag(tag) for tag in tags if is_graph_commit(tag)]


def published(settings: Settings, ds: date) -> bool:
    try:
        rows = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "decision"], (ds, ds)).to_pylist()
    except TableNotReady:
        return False
    # a rolled-back night is finished too: rerunning it would publish what was taken back
    finished = (Decision.PUBLISHED, Decision.ROLLED_BACK)
    return any(row["ds"] == ds and row["decision"] in finished for row in rows)


def plan_night(settings: Settings, ds: date) -> NightPlan:
    """Whether night ``ds`` runs; raises DayOrderError (with what to do) when it may not."""
    spans = max(
        (graph_spans(settings, t) for t in (GOLD_AFFINITY, GOLD_COOCCURRENCE)),
        key=lambda s: s[0][1] if s else date.min,
    )
    if not spans:
        return NightPlan(True, f"{ds}: the long-term graph is empty, any first day may start it")
    first, last = spans[0]
    if ds > last:
        return NightPlan(True, f"{ds} comes after {last}, the graph's latest day")
    if published(settings, ds):
        return NightPlan(False, f"{ds} already published its vectors: nothing to redo")
    if (first, last) == (ds, ds):
        return NightPlan(True, f"{ds} reruns the graph's latest day (its previous version first)")
    if spans[-1] == (ds, ds):  # later nights ran, so this one's ETL finished; it trains nothing
        return NightPlan(False, f"{ds} was the warehouse's first night, finished: nothing to redo")
    raise DayOrderError(
        f"{ds} is at or before {span(first, last)}, which the long-term graph has already "
        f"absorbed: days are applied in order, so a backfill must start after {last} (or rerun "
        f"exactly {span(first, last)}). To redo earlier days, restore {GOLD_AFFINITY} and "
        f"{GOLD_COOCCURRENCE} to their versions before {ds} (ops.graph_log lists them), then "
        "backfill from there."
    )
