"""Serving-time features equal training features: the model's numpy rebuild of a user's inputs
(models/history.py, models/vectors.py) gives exactly the context of the gold.training_sequences
rows the Spark ETL (jobs/examples.py) wrote, from the same silver.user_recent state."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.compute as pc
import pytest
import torch

from models.batch import LIST_COLUMNS, SEQUENCE_COLUMNS, batch_from_table
from models.vectors import user_inputs
from warehouse.lake import read_arrow
from warehouse.tables import GOLD_SEQUENCES

pytestmark = [pytest.mark.spark, pytest.mark.slow]
DAY = date(2026, 5, 3)  # conftest.model_warehouse: ETL of 05-01 .. 05-04


def test_serving_inputs_are_the_context_the_etl_gave_the_next_day(model_tables) -> None:
    settings = model_tables
    rows = read_arrow(settings, GOLD_SEQUENCES, [*SEQUENCE_COLUMNS, "chunk"], (DAY, DAY))
    etl = batch_from_table(rows.filter(pc.equal(rows["chunk"], 0)))
    # The published vectors of the day before read the state the ETL read for DAY's rows
    served = user_inputs(settings, DAY - timedelta(days=1), short_term_days=1e6)
    row_of = {u: i for i, u in enumerate(served.user_idx.tolist())}
    known = [i for i, u in enumerate(etl.user_idx.tolist()) if u in row_of]
    assert len(known) > 20, "too few users to compare"
    assert (etl.num_context[[i for i in range(len(etl)) if i not in set(known)]] == 0).all()
    picked = torch.tensor([row_of[u] for u in etl.user_idx[known].tolist()])
    torch.testing.assert_close(served.num_context[picked], etl.num_context[known])
    assert (etl.num_context[known] > 0).all() and (served.num_targets == 1).all()
    for name in LIST_COLUMNS:
        for etl_row, served_row in zip(known, picked.tolist(), strict=True):
            n = int(etl.num_context[etl_row])
            torch.testing.assert_close(
                getattr(served, name)[served_row, :n], getattr(etl, name)[etl_row, :n], msg=name
            )
