"""A batch of training sequences (context, then targets), as the model consumes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

# gold.training_sequences columns the model reads (all inside the data files).
LIST_COLUMNS = ["item_seq", "type_seq", "ts_seq", "new_session_seq"]
SEQUENCE_COLUMNS = ["user_idx", *LIST_COLUMNS, "num_context", "num_targets"]
TARGET_COLUMNS = ["user_idx", "item_seq", "num_context"]  # what target_pairs reads


@dataclass
class Batch:
    """Rows of a user's events in order. Position j of row b is a target when num_context[b] <=
    j < num_context[b] + num_targets[b]; it is predicted from the positions before it.

    Shapes: user_idx, num_context, num_targets (B,); item_seq, type_seq, ts_seq (epoch seconds),
    new_session_seq (B, T) long, right-padded with 0. A row asking for one prediction after its
    history (serving, leave-one-out) ends with the one target: its item (0 if unknown) at the
    prediction time."""

    user_idx: Tensor
    item_seq: Tensor
    type_seq: Tensor
    ts_seq: Tensor
    new_session_seq: Tensor
    num_context: Tensor
    num_targets: Tensor

    def __len__(self) -> int:
        return self.user_idx.size(0)

    def target_mask(self) -> Tensor:
        """(B, T) bool: the target positions."""
        position = torch.arange(self.item_seq.size(1), device=self.item_seq.device)
        start = self.num_context.unsqueeze(1)
        return (position >= start) & (position < start + self.num_targets.unsqueeze(1))

    def targets(self) -> Tensor:
        """(N,) the target items, row by row, in order (N = num_targets.sum())."""
        return self.item_seq[self.target_mask()]

    def target_users(self) -> Tensor:
        """(N,) the user of each target."""
        return self.user_idx.unsqueeze(1).expand_as(self.item_seq)[self.target_mask()]

    def windows(self, length: int) -> Tensor:
        """(N, length): the items of the ``length`` positions before each target, 0 where the
        row has fewer."""
        rows, position = self.target_mask().nonzero(as_tuple=True)
        before = position.unsqueeze(1) - length + torch.arange(length, device=position.device)
        items = self.item_seq[rows.unsqueeze(1), before.clamp_min(0)]
        return items * (before >= 0)

    def to(self, device: torch.device) -> Batch:
        """Copies to the device; non-blocking (overlaps the next batch) when memory is pinned."""
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=True)
                        for f in fields(self)})  # fmt: skip

    def pin_memory(self) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).pin_memory() for f in fields(self)})

    def slice(self, start: int, stop: int) -> Batch:
        return Batch(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    def trimmed(self) -> Batch:
        """The same rows without the padding columns no row reaches."""
        width = int((self.num_context + self.num_targets).max()) if len(self) else 0
        return Batch(**{f.name: t[:, :width] if (t := getattr(self, f.name)).dim() == 2 else t
                        for f in fields(self)})  # fmt: skip


def row_chunks(num_targets: Tensor, max_targets: int) -> list[tuple[int, int]]:
    """Consecutive row ranges [start, stop) holding at most ``max_targets`` targets each (and at
    least one row), so a chunk's scores (targets x items) stay bounded."""
    chunks, start, total = [], 0, 0
    for row, n in enumerate(num_targets.tolist()):
        if row > start and total + n > max_targets:
            chunks.append((start, row))
            start, total = row, 0
        total += n
    if start < len(num_targets):
        chunks.append((start, len(num_targets)))
    return chunks


def pad_rows(values: np.ndarray, lengths: np.ndarray, width: int, dtype: type) -> np.ndarray:
    """Flat ``values`` of consecutive rows of ``lengths`` -> (rows, width), right-padded with 0."""
    out = np.zeros((len(lengths), width), dtype=dtype)
    row = np.repeat(np.arange(len(lengths)), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[row, np.arange(len(values)) - first] = values
    return out


def pad_object_column(cells: Sequence[np.ndarray], width: int, dtype: type) -> np.ndarray:
    """A column of per-row arrays (pandas/Petastorm) -> (rows, width), right-padded with 0."""
    lengths = np.fromiter((len(c) for c in cells), dtype=np.int64, count=len(cells))
    values = np.concatenate(cells) if lengths.sum() else np.zeros(0, dtype=dtype)
    return pad_rows(values, lengths, width, dtype)


def pad_list_column(column: pa.Array | pa.ChunkedArray, width: int | None = None) -> np.ndarray:
    """An Arrow list column -> (rows, width) int64, right-padded with 0 (width: the longest)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    width = int(lengths.max(initial=0)) if width is None else width
    return pad_rows(values, lengths, width, np.int64)


def batch_from_columns(columns: dict[str, np.ndarray | Tensor]) -> Batch:
    """A Batch from named columns with the lists already padded to (rows, width) (a Petastorm
    batch or numpy arrays), with the model's dtypes."""

    def tensor(name: str) -> Tensor:
        column = columns[name]  # arrays from Arrow are read-only: copy them, keep tensors
        return (torch.tensor(column) if isinstance(column, np.ndarray) else column).long()

    return Batch(**{name: tensor(name) for name in SEQUENCE_COLUMNS}).trimmed()


def batch_from_table(table: pa.Table) -> Batch:
    """A Batch from gold.training_sequences rows read with Arrow."""
    columns = {c: table[c].to_numpy() for c in SEQUENCE_COLUMNS if c not in LIST_COLUMNS}
    columns |= {c: pad_list_column(table[c]) for c in LIST_COLUMNS}
    return batch_from_columns(columns)


def target_pairs(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(user_idx, item_idx) of every target of gold.training_sequences rows, as (N,) arrays."""
    items = table["item_seq"].combine_chunks()
    lengths = pc.list_value_length(items).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(items).to_numpy(zero_copy_only=False).astype(np.int64)
    row = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    is_target = position >= table["num_context"].to_numpy()[row]
    users = table["user_idx"].to_numpy().astype(np.int64)
    return users[row[is_target]], values[is_target]
