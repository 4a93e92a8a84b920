"""The fused interest model and its two ablations, behind one interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from models.adjacency import Graph
from models.batch import Batch
from models.fusion import GatedFusion, LinearFusion
from models.long_term import LongTermEncoder
from models.short_term import ShortTermEncoder

Variant = Literal["fused", "lstm_only", "gcn_only"]
Fusion = Literal["gate", "linear"]


@dataclass
class UserVectors:
    """One row per target of the batch (N = its num_targets.sum(), in row order), each (N, D).
    ``gate`` is how much of ``fused`` comes from ``short_term``."""

    fused: Tensor
    long_term: Tensor
    short_term: Tensor
    gate: Tensor


class InterestModel(nn.Module):
    """User vector u from an LSTM over the recent sequence (short-term) and LightGCN over the
    long-term graph, joined by a learned gate; items are scored by u . v_i. Trained causally: one
    pass over a row gives a user vector for each of its targets.

    Args:
        num_users, num_items: embedding rows (max dense id + 1; row 0 is padding).
        num_types: event type codes (0 = padding).
        dim: embedding size D.
        variant: "fused", or an ablation: "lstm_only" (u = h_s, v = item embeddings) or
            "gcn_only" (u = h_l, v = graph item vectors).
        refresh_steps: LightGCN's propagation in training: 0 exact, N > 0 historical layers
            refreshed every N steps (models.long_term.LongTermEncoder).
        fusion: "gate" (g = sigmoid(W[h_s; h_l; h_s*h_l] + b)) or "linear" (the seed's form).

    Shapes: batch of B rows holding N targets, graph over num_users + num_items nodes -> user
    vectors (N, D), one per target, and item vectors (num_items, D); ``score`` ranks them with the
    padding item 0 at -inf.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_types: int,
        dim: int = 64,
        variant: Variant = "fused",
        fusion: Fusion = "gate",
        num_layers: int = 2,
        dropout: float = 0.2,
        refresh_steps: int = 0,
    ) -> None:
        super().__init__()
        self.variant = variant
        self.item_embedding = nn.Embedding(num_items, dim, padding_idx=0)
        self.short_term = ShortTermEncoder(self.item_embedding, num_types, dropout)
        self.long_term = LongTermEncoder(num_users, self.item_embedding, num_layers, refresh_steps)
        self.fusion = GatedFusion(dim) if fusion == "gate" else LinearFusion(dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item_embedding.weight, std=0.1)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def encode(self, batch: Batch, graph: Graph) -> tuple[UserVectors, Tensor]:
        """User vectors for the batch's targets and the item vectors they are scored against.
        The LSTM runs once per row; the gate is computed per target."""
        targets = batch.target_mask()
        has_recent = targets.nonzero()[:, 1] > 0  # the target has a position before it
        if self.variant == "lstm_only":
            h_s = self._short(batch)[targets]
            return UserVectors(h_s, h_s * 0, h_s, torch.ones_like(h_s)), self.item_embedding.weight
        h_l, items = self._long(batch, graph)
        if self.variant == "gcn_only":
            return UserVectors(h_l, h_l, h_l * 0, h_l * 0), items
        h_s = self._short(batch)[targets]
        fused, gate = self.fusion(h_s, h_l, has_recent)
        return UserVectors(fused, h_l, h_s, gate), items

    def forward(self, batch: Batch, graph: Graph) -> tuple[Tensor, Tensor]:
        """(fused user vectors (N, D), item vectors (I, D)): what the losses and ranking use."""
        vectors, items = self.encode(batch, graph)
        return vectors.fused, items

    def _long(self, batch: Batch, graph: Graph) -> tuple[Tensor, Tensor]:
        if self.training and self.long_term.refresh_steps:
            return self.long_term.historical(graph.adj, batch.target_users())
        users, items = self.long_term(graph.adj)
        return users[batch.target_users()], items

    def _short(self, batch: Batch) -> Tensor:
        return self.short_term(batch.item_seq, batch.type_seq, batch.ts_seq, batch.new_session_seq)


def score(users: Tensor, items: Tensor) -> Tensor:
    """Dot-product scores with the padding item never ranked. Shapes: (B, D), (I, D) -> (B, I)."""
    scores = users @ items.T
    scores[:, 0] = float("-inf")
    return scores
