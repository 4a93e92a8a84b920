"""Serving-time features equal training features: the model's numpy rebuild of a user's inputs
(models/history.py, models/vectors.py) gives exactly the gold.training_examples rows the Spark
ETL (jobs/examples.py) wrote, from the same silver.user_recent state."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from models.history import EMPTY_HISTORY, read_histories, sequence_inputs
from models.vectors import user_inputs
from warehouse.lake import read_arrow
from warehouse.tables import GOLD_EXAMPLES

pytestmark = [pytest.mark.spark, pytest.mark.slow]
DAY = date(2026, 5, 3)  # conftest.model_warehouse: ETL of 05-01 .. 05-04
SEQUENCES = ["item_seq", "type_seq", "new_session_seq"]


def first_examples_of_the_day(settings, day: date, state: dict) -> dict[str, np.ndarray]:
    """Each user's first example of ``day`` whose history is exactly the carried state: its time
    is unique among the user's events of the day and not before the state's last event."""
    rows = read_arrow(settings, GOLD_EXAMPLES, None, (day, day)).to_pylist()
    by_user: dict[int, list[dict]] = {}
    for row in rows:
        by_user.setdefault(row["user_idx"], []).append(row)
    first = []
    for user, events in sorted(by_user.items()):
        times = sorted(e["target_ts"] for e in events)
        last_carried = state.get(user, EMPTY_HISTORY)["ts"][-1:]
        if (len(times) > 1 and times[0] == times[1]) or any(last_carried > times[0]):
            continue
        first.append(min(events, key=lambda e: e["target_ts"]))
    assert len(first) > 20, "too few users to compare"
    out = {k: np.array([r[k] for r in first]) for k in ("user_idx", "target_item_idx", "target_ts")}
    out |= {k: np.stack([np.array(r[k]) for r in first]) for k in [*SEQUENCES, "gap_seq"]}
    out["seq_len"] = np.array([r["seq_len"] for r in first])
    return out


def test_serving_inputs_rebuild_the_etl_examples(model_tables) -> None:
    settings = model_tables
    state = read_histories(settings, DAY - timedelta(days=1))
    etl = first_examples_of_the_day(settings, DAY, state)
    users = etl["user_idx"]
    rebuilt = sequence_inputs(
        [state.get(u, EMPTY_HISTORY) for u in users.tolist()],
        etl["target_item_idx"], etl["target_ts"], users, settings.sequence_length,
    )  # fmt: skip
    for name in [*SEQUENCES, "gap_seq", "seq_len"]:
        np.testing.assert_array_equal(getattr(rebuilt, name).numpy(), etl[name], err_msg=name)
    np.testing.assert_array_equal(rebuilt.target.numpy(), etl["target_item_idx"])

    # The published vectors read the same state (as of the end of the day before): the same
    # sequences; only the gaps differ, measured to the end of that day instead of each target.
    served = user_inputs(settings, DAY - timedelta(days=1), short_term_days=1e6)
    row = {u: i for i, u in enumerate(served.user_idx.tolist())}
    known = [i for i, u in enumerate(users.tolist()) if u in row]  # new users have no state
    assert len(known) > 20
    picked = [row[u] for u in users[known].tolist()]
    for name in [*SEQUENCES, "seq_len"]:
        served_rows = getattr(served, name).numpy()[picked]
        np.testing.assert_array_equal(served_rows, etl[name][known], err_msg=name)
