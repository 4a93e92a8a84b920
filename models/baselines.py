"""Baselines reported beside the fused model on the same split: popularity and item-KNN over the
long-term co-occurrence graph (gold.item_cooccurrence)."""

from __future__ import annotations

from datetime import date

import torch
from torch import Tensor

from models.adjacency import decayed_edges
from models.batch import Batch
from warehouse.settings import Settings
from warehouse.tables import GOLD_COOCCURRENCE


class Popularity:
    """Scores every item by how often it was a training target (any increasing function of the
    counts ranks the same, e.g. the log q of sampled softmax)."""

    def __init__(self, item_counts: Tensor) -> None:
        self.counts = item_counts.float().clone()
        self.counts[0] = float("-inf")

    @classmethod
    def of_targets(cls, target_items: Tensor, num_items: int) -> Popularity:
        return cls(torch.bincount(target_items, minlength=num_items))

    def __call__(self, batch: Batch) -> Tensor:
        return self.counts.to(batch.item_seq.device).expand(int(batch.num_targets.sum()), -1)


class ItemKNN:
    """score(u, i) = sum over the items j of the ``history`` events before the target of
    sim(j, i), with the cosine normalisation sim(j, i) = w(j, i) / sqrt(d_j d_i) of the decayed
    co-occurrence weights.

    Shapes: item (E,), neighbour (E,), weight (E,) -> scores (N, num_items) per batch of N
    targets."""

    def __init__(
        self, item: Tensor, neighbour: Tensor, weight: Tensor, num_items: int, history: int = 50
    ) -> None:
        degree = torch.zeros(num_items, dtype=torch.float64).index_add_(0, item, weight.double())
        sim = weight.double() / torch.sqrt(degree[item] * degree[neighbour]).clamp_min(1e-12)
        self.sim = torch.sparse_coo_tensor(
            torch.stack([item, neighbour]),
            sim.float(),
            (num_items, num_items),
            check_invariants=True,
        ).coalesce()
        self.num_items, self.history = num_items, history

    @classmethod
    def from_table(cls, settings: Settings, as_of: date, num_items: int) -> ItemKNN:
        """The graph as of ``as_of``; each target's last L (``sequence_length``) events."""
        keys = ["item_idx", "neighbour_idx"]
        edges, weight = decayed_edges(settings, GOLD_COOCCURRENCE, keys, as_of)
        return cls(
            torch.tensor(edges["item_idx"].to_numpy(), dtype=torch.long),
            torch.tensor(edges["neighbour_idx"].to_numpy(), dtype=torch.long),
            torch.as_tensor(weight),
            num_items,
            settings.sequence_length,
        )

    def __call__(self, batch: Batch) -> Tensor:
        seq = batch.windows(self.history).cpu()
        counts = torch.zeros(len(seq), self.num_items).scatter_add_(1, seq, (seq > 0).float())
        scores = torch.sparse.mm(self.sim.t(), counts.T).T  # (B, I): sum_j count(j) sim(j, i)
        scores[:, 0] = float("-inf")
        return scores.to(batch.item_seq.device)
