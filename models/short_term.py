"""Short-term interest: an LSTM over the user's most recent L events."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ShortTermEncoder(nn.Module):
    """LSTM over the embeddings of the last L items, their event types, the log-hours between each
    position and the prediction time, and a new-session flag, so the model learns itself how far
    back "now" reaches.

    The sequences are left-padded, so the last position is always the latest event: the LSTM runs
    over all positions with the padded ones zeroed (no packing: on CPU the fused full-length
    kernel is faster, and zero inputs before the first event carry no information).

    Args:
        item_embedding: the shared item embedding table (index 0 = padding).
        num_types: number of event type codes (0 = padding).
        dropout: dropout on the inputs.
        max_length: read only the latest this many positions (cost is linear in it).

    Shapes:
        item_seq, type_seq, new_session_seq (B, L) int, left-padded; gap_seq (B, L) float;
        seq_len (B,) int -> (B, D). A row with no history gets a learned "no history" vector.
    """

    def __init__(
        self,
        item_embedding: nn.Embedding,
        num_types: int,
        dropout: float = 0.2,
        max_length: int | None = None,
    ) -> None:
        super().__init__()
        self.max_length = max_length
        dim = item_embedding.embedding_dim
        self.item_embedding = item_embedding
        self.type_embedding = nn.Embedding(num_types + 1, dim, padding_idx=0)
        self.session_embedding = nn.Embedding(2, dim)
        self.gap_projection = nn.Linear(1, dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.empty = nn.Parameter(torch.zeros(dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.type_embedding.weight, std=0.02)
        nn.init.normal_(self.session_embedding.weight, std=0.02)
        self.gap_projection.reset_parameters()
        self.lstm.reset_parameters()
        nn.init.zeros_(self.empty)
        with torch.no_grad():
            self.type_embedding.weight[0].zero_()

    def forward(
        self,
        item_seq: Tensor,
        type_seq: Tensor,
        gap_seq: Tensor,
        new_session_seq: Tensor,
        seq_len: Tensor,
    ) -> Tensor:
        if self.max_length is not None:
            keep = slice(-self.max_length, None)
            item_seq, type_seq = item_seq[:, keep], type_seq[:, keep]
            gap_seq, new_session_seq = gap_seq[:, keep], new_session_seq[:, keep]
        real = (item_seq > 0).unsqueeze(-1)
        inputs = real * (
            self.item_embedding(item_seq)
            + self.type_embedding(type_seq)
            + self.session_embedding(new_session_seq.clamp(0, 1))
            + self.gap_projection(gap_seq.unsqueeze(-1))
        )
        _, (hidden, _) = self.lstm(self.dropout(inputs))
        return torch.where((seq_len > 0).unsqueeze(1), hidden[-1], self.empty.expand_as(hidden[-1]))
