"""Everything a training run reads from the warehouse, as of one day."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc
import torch

from models.adjacency import load_graph
from models.batch import TARGET_COLUMNS, target_pairs
from models.examples_reader import SequenceFiles
from models.train import TrainData
from warehouse.lake import read_arrow
from warehouse.settings import Settings
from warehouse.tables import GOLD_SEQUENCES, SILVER_ITEM_IDS, SILVER_USER_IDS


def table_sizes(settings: Settings) -> tuple[int, int, int]:
    """(num_users, num_items, num_types): embedding rows are max dense id + 1 (0 = padding)."""
    users = read_arrow(settings, SILVER_USER_IDS, ["user_idx"])["user_idx"]
    items = read_arrow(settings, SILVER_ITEM_IDS, ["item_idx"])["item_idx"]
    return pc.max(users).as_py() + 1, pc.max(items).as_py() + 1, len(settings.event_weights)


def item_log_q(target_items: np.ndarray, num_items: int) -> torch.Tensor:
    """log of the items' share of training targets (add-one smoothed): q for sampled softmax."""
    counts = np.bincount(target_items, minlength=num_items).astype(np.float64) + 1.0
    counts[0] = 0.0
    with np.errstate(divide="ignore"):  # the padding item: log 0 = -inf, never sampled
        return torch.as_tensor(np.log(counts / counts.sum()), dtype=torch.float32)


def load_train_data(settings: Settings, as_of: date, first: date | None = None) -> TrainData:
    """Sequences with ds in [first, as_of] and the long-term graph decayed to ``as_of``."""
    num_users, num_items, num_types = table_sizes(settings)
    files = SequenceFiles.of(settings, first, as_of)
    rows = read_arrow(settings, GOLD_SEQUENCES, TARGET_COLUMNS, (first, as_of))
    return TrainData(
        files=files,
        graph=load_graph(settings, as_of, num_users, num_items),
        num_users=num_users,
        num_items=num_items,
        num_types=num_types,
        log_q=item_log_q(target_pairs(rows)[1], num_items),
    )
