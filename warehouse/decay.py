"""The long-term graph's time decay, written once.

    weight(D) = weight(updated_ds) * 2^(-(D - updated_ds) / half_life_days)

``decay_factor`` is plain arithmetic, so the same expression serves a float, a numpy array (the
model's graph reader) and a Spark Column (the graph job). The SQL views
(sql/ddl/*_current.sql) spell the same formula in SQL; a test ties them.
"""

from __future__ import annotations

from typing import TypeVar

Age = TypeVar("Age")  # float, numpy array or pyspark Column: anything with arithmetic


def decay_factor(age_days: Age, half_life_days: float) -> Age:
    """2^(-age / half_life): what a weight keeps after ``age_days`` days."""
    return 2.0 ** (-age_days / half_life_days)
