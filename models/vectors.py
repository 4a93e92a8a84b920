"""The vectors published for serving: per user the fused vector, its long-term and short-term
parts and the gate; per item the vector users are scored against.

Fallbacks (documented in the README):
- a user whose last event is more than ``short_term_days`` before the end of the day has no recent
  session: gate 0, and the fused vector is the long-term vector;
- a user with no history at all is not in the tables: serving uses the cold-start row
  (user_idx 0), the popularity-weighted mean of the item vectors, which ranks items much as
  popularity does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from models.adjacency import Graph
from models.batch import Batch
from models.history import query_rows, read_histories
from models.interest_model import InterestModel
from warehouse.settings import Settings

COLD_START_USER = 0
USER_PARTS = ("fused", "long_term", "short_term", "gate")


@dataclass
class PublishedVectors:
    users: pa.Table  # user_idx int32, and USER_PARTS as list<float>
    items: pa.Table  # item_idx int32, vector list<float>


def end_of_day(ds: date) -> int:
    return int(datetime.combine(ds + timedelta(days=1), time(), UTC).timestamp())


def user_inputs(settings: Settings, ds: date, short_term_days: float) -> Batch:
    """Every known user's last L events as of the end of ``ds``, then a target at the end of the
    day; users whose last event is older than ``short_term_days`` get no context (no recent
    session: long-term only)."""
    histories = read_histories(settings, ds)
    users = np.array(sorted(histories), dtype=np.int64)
    rows = [histories[u] for u in users.tolist()]
    now = end_of_day(ds)
    stale = [len(h["ts"]) == 0 or now - h["ts"][-1] > short_term_days * 86400 for h in rows]
    rows = [{k: v[:0] for k, v in h.items()} if s else h for h, s in zip(rows, stale, strict=True)]
    no_target = np.zeros(len(users), dtype=np.int64)
    return query_rows(rows, no_target, np.full(len(users), now), users, settings.sequence_length)


def list_column(matrix: np.ndarray) -> pa.Array:
    """(N, D) floats -> a list<float> column of N rows."""
    flat = pa.array(matrix.astype(np.float32).ravel())
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1]).cast(pa.list_(pa.float32()))


@torch.no_grad()
def compute_vectors(
    model: InterestModel, graph: Graph, inputs: Batch, log_q: Tensor, chunk: int = 4096
) -> PublishedVectors:
    """User and item vectors, plus the cold-start row user_idx 0 = sum_i q(i) v_i."""
    model.eval()
    parts: dict[str, list[Tensor]] = {k: [] for k in USER_PARTS}
    items = None
    for start in range(0, len(inputs), chunk):
        vectors, items = model.encode(inputs.slice(start, start + chunk), graph)
        for k in USER_PARTS:
            parts[k].append(getattr(vectors, k).float().cpu())
    items = items.float().cpu()
    cold = torch.softmax(log_q.cpu(), 0) @ items
    first_row = {"fused": cold, "long_term": cold, "short_term": cold * 0, "gate": cold * 0}
    users = {"user_idx": pa.array([COLD_START_USER, *inputs.user_idx.tolist()], pa.int32())}
    for k in USER_PARTS:
        users[k] = list_column(torch.cat([first_row[k][None], *parts[k]]).numpy())
    item_idx = pa.array(range(1, len(items)), pa.int32())
    return PublishedVectors(
        pa.table(users), pa.table({"item_idx": item_idx, "vector": list_column(items[1:].numpy())})
    )
