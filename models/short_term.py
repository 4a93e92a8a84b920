"""Short-term interest: an LSTM over the user's recent events, run once per sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def log_gap_hours(ts_seq: Tensor) -> Tensor:
    """log1p(hours since the previous position), 0 at the first and never negative (the night's
    order puts the carried context first, even when a day's event is older).
    Shapes: (B, T) epoch seconds -> (B, T) float."""
    gaps = torch.zeros_like(ts_seq, dtype=torch.float32)
    gaps[:, 1:] = (ts_seq[:, 1:] - ts_seq[:, :-1]).clamp_min(0).float() / 3600.0
    return torch.log1p(gaps)


class ShortTermEncoder(nn.Module):
    """An LSTM over the embeddings of each position's item and event type, its new-session flag
    and the log-hours since the position before it. The vector that predicts position j is the
    LSTM's state after position j - 1 plus a projection of the time elapsed since then, so one pass
    over a row predicts every position (causally: j never sees itself or later positions) and the
    model learns itself how much an old session still tells about "now".

    Sequences are right-padded: the LSTM is causal, so padding after a row's end never reaches
    its positions (no packing needed).

    Args:
        item_embedding: the shared item embedding table (index 0 = padding).
        num_types: number of event type codes (0 = padding).
        dropout: dropout on the inputs.

    Shapes:
        item_seq, type_seq, new_session_seq, ts_seq (B, T) -> (B, T, D): the short-term vector
        that predicts each position. Position 0 has nothing before it: a learned "no history"
        vector.
    """

    def __init__(self, item_embedding: nn.Embedding, num_types: int, dropout: float = 0.2) -> None:
        super().__init__()
        dim = item_embedding.embedding_dim
        self.item_embedding = item_embedding
        self.type_embedding = nn.Embedding(num_types + 1, dim, padding_idx=0)
        self.session_embedding = nn.Embedding(2, dim)
        self.gap_projection = nn.Linear(1, dim)
        self.elapsed_projection = nn.Linear(1, dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.empty = nn.Parameter(torch.zeros(dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.type_embedding.weight, std=0.02)
        nn.init.normal_(self.session_embedding.weight, std=0.02)
        self.gap_projection.reset_parameters()
        self.elapsed_projection.reset_parameters()
        self.lstm.reset_parameters()
        nn.init.zeros_(self.empty)
        with torch.no_grad():
            self.type_embedding.weight[0].zero_()

    def forward(
        self, item_seq: Tensor, type_seq: Tensor, ts_seq: Tensor, new_session_seq: Tensor
    ) -> Tensor:
        gaps = log_gap_hours(ts_seq).unsqueeze(-1)
        inputs = (
            self.item_embedding(item_seq)
            + self.type_embedding(type_seq)
            + self.session_embedding(new_session_seq.clamp(0, 1))
            + self.gap_projection(gaps)
        ) * (item_seq > 0).unsqueeze(-1)  # an unknown item (0) tells nothing
        states, _ = self.lstm(self.dropout(inputs))
        before = torch.cat([self.empty.expand(len(states), 1, -1), states[:, :-1]], dim=1)
        return before + self.elapsed_projection(gaps)
