"""Logical days (``ds``): the unit of every run, backfill and table partition."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last``, both included."""
    if last < first:
        raise ValueError(f"empty range: {first} is after {last}")
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)
