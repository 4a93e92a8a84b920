"""The long-term graph's commit tags: which days each graph commit absorbed.

Each update of gold.user_item_affinity / gold.item_cooccurrence is one Delta commit whose
userMetadata is ``graph ds=<last day>`` (plus `` from=<first day>`` for a bulk range), so the
table's own history says which days it holds. The graph job writes the tags; the day-order check
and the model's graph reader read them.
"""

from __future__ import annotations

from datetime import date

COMMIT_MARK = "graph ds="
RANGE_MARK = " from="
# Commits of `interest forget-user` (jobs/forget.py): restoring a graph version from before one
# would bring the forgotten user back.
FORGET_MARK = "forget "


def commit_tag(first: date, last: date) -> str:
    tag = f"{COMMIT_MARK}{last.isoformat()}"
    return tag if first == last else f"{tag}{RANGE_MARK}{first.isoformat()}"


def is_graph_commit(user_metadata: str | None) -> bool:
    return (user_metadata or "").startswith(COMMIT_MARK)


def parse_tag(tag: str) -> tuple[date, date]:
    """(first, last) days of a commit tag made by ``commit_tag``."""
    last, _, first = tag[len(COMMIT_MARK) :].partition(RANGE_MARK)
    return date.fromisoformat(first or last), date.fromisoformat(last)


def span(first: date, last: date) -> str:
    return str(last) if first == last else f"{first}..{last}"
