"""A batch of (recent sequence -> target) rows, as the model consumes it."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

# gold.training_examples columns the model reads (all inside the data files).
SEQUENCE_COLUMNS = ["user_idx", "item_seq", "type_seq", "gap_seq", "new_session_seq", "seq_len"]
EXAMPLE_COLUMNS = [*SEQUENCE_COLUMNS, "target_item_idx"]


@dataclass
class Batch:
    """Shapes: user_idx (B,); item_seq, type_seq, new_session_seq (B, L) long, left-padded;
    gap_seq (B, L) float; seq_len (B,); target (B,) item idx, or None at inference."""

    user_idx: Tensor
    item_seq: Tensor
    type_seq: Tensor
    gap_seq: Tensor
    new_session_seq: Tensor
    seq_len: Tensor
    target: Tensor | None = None

    def __len__(self) -> int:
        return self.user_idx.size(0)

    def to(self, device: torch.device) -> Batch:
        """Copies to the device; non-blocking (overlaps the next batch) when memory is pinned."""
        moved = {
            f.name: None
            if (t := getattr(self, f.name)) is None
            else t.to(device, non_blocking=True)
            for f in fields(self)
        }
        return Batch(**moved)

    def pin_memory(self) -> Batch:
        return Batch(**{f.name: _pin(getattr(self, f.name)) for f in fields(self)})

    def slice(self, start: int, stop: int) -> Batch:
        return Batch(**{f.name: _slice(getattr(self, f.name), start, stop) for f in fields(self)})


def _pin(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.pin_memory()


def _slice(t: Tensor | None, start: int, stop: int) -> Tensor | None:
    return None if t is None else t[start:stop]


def batch_from_columns(columns: dict[str, np.ndarray | Tensor]) -> Batch:
    """A Batch from named columns (a Petastorm batch or numpy arrays), with the model's dtypes."""

    def tensor(name: str, dtype: torch.dtype) -> Tensor:
        column = columns[name]  # arrays from Arrow are read-only: copy them, keep tensors
        return (torch.tensor(column) if isinstance(column, np.ndarray) else column).to(dtype)

    return Batch(
        user_idx=tensor("user_idx", torch.long),
        item_seq=tensor("item_seq", torch.long),
        type_seq=tensor("type_seq", torch.long),
        gap_seq=tensor("gap_seq", torch.float32),
        new_session_seq=tensor("new_session_seq", torch.long),
        seq_len=tensor("seq_len", torch.long),
        target=tensor("target_item_idx", torch.long) if "target_item_idx" in columns else None,
    )
