"""Short-term interest: an LSTM over the user's most recent L events."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence


def right_align(seq: Tensor, lengths: Tensor) -> Tensor:
    """Moves the real positions of left-padded rows to the front (what packing expects).

    Shapes: seq (B, L, ...) left-padded, lengths (B,) -> (B, L, ...) right-padded.
    """
    positions = torch.arange(seq.size(1), device=seq.device)
    source = (positions + (seq.size(1) - lengths).unsqueeze(1)) % seq.size(1)
    index = source.view(*source.shape, *([1] * (seq.dim() - 2))).expand_as(seq)
    return seq.gather(1, index)


class ShortTermEncoder(nn.Module):
    """LSTM over the embeddings of the last L items, their event types, the log-hours between each
    position and the prediction time, and a new-session flag, so the model learns itself how far
    back "now" reaches.

    Args:
        item_embedding: the shared item embedding table (index 0 = padding).
        num_types: number of event type codes (0 = padding).
        dropout: dropout on the inputs.

    Shapes:
        item_seq, type_seq, new_session_seq (B, L) int, left-padded; gap_seq (B, L) float;
        seq_len (B,) int -> (B, D). A row with no history gets a learned "no history" vector.
    """

    def __init__(self, item_embedding: nn.Embedding, num_types: int, dropout: float = 0.2) -> None:
        super().__init__()
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
        inputs = (
            self.item_embedding(item_seq)
            + self.type_embedding(type_seq)
            + self.session_embedding(new_session_seq.clamp(0, 1))
            + self.gap_projection(gap_seq.unsqueeze(-1)) * (item_seq > 0).unsqueeze(-1)
        )
        lengths = seq_len.clamp(1, item_seq.size(1))
        packed = pack_padded_sequence(
            self.dropout(right_align(inputs, lengths)),
            lengths.cpu(),
            batch_first=True,
            enforce_sorted=False,
        )
        _, (hidden, _) = self.lstm(packed)
        return torch.where((seq_len > 0).unsqueeze(1), hidden[-1], self.empty.expand_as(hidden[-1]))
