"""Next-day evaluation (Protocol B, what production sees): a model trained on ds <= D ranks, for
every event of day D + 1, the event's item given the events before it. Nothing is masked, since
users do come back to items they know."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import pyarrow.compute as pc
import torch

from models.adjacency import Graph
from models.batch import SEQUENCE_COLUMNS, Batch, batch_from_table
from models.interest_model import InterestModel
from models.ranking import Scorer, SeenItems, evaluate, model_scorer
from warehouse.lake import read_arrow
from warehouse.settings import Settings
from warehouse.tables import GOLD_SEQUENCES

Part = Literal["all", "valid", "test"]


@dataclass
class NextDay:
    rows: Batch
    num_users: int
    num_items: int

    @classmethod
    def of(
        cls, settings: Settings, day: date, num_users: int, num_items: int, part: Part = "all"
    ) -> NextDay:
        """The day's events; ``part`` keeps the users of one half (even user_idx: "valid", for
        early stopping; odd: "test", reported and gated on), so no figure is earned on the data
        that chose the epoch."""
        table = read_arrow(settings, GOLD_SEQUENCES, SEQUENCE_COLUMNS, (day, day))
        if part != "all":
            parity = pc.bit_wise_and(table["user_idx"], 1)
            table = table.filter(pc.equal(parity, 0 if part == "valid" else 1))
        return cls(batch_from_table(table), num_users, num_items)

    def metrics(self, scorer: Scorer, device: torch.device) -> dict[str, float]:
        nothing = SeenItems(
            torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), self.num_users
        )
        return evaluate(scorer, self.rows, nothing, self.num_items, device)

    def validate(
        self, model: InterestModel, graph: Graph, device: torch.device
    ) -> dict[str, float]:
        return self.metrics(model_scorer(model, graph), device)
