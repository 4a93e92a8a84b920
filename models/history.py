"""Users' recent histories (silver.user_recent) turned into model inputs, exactly as the ETL
builds gold.training_examples: the last L events, left-padded, with log1p(hours before the
prediction time) as the gap feature."""

from __future__ import annotations

from datetime import date

import numpy as np
import torch

from models.batch import Batch
from warehouse.lake import read_arrow
from warehouse.settings import Settings
from warehouse.tables import SILVER_USER_RECENT

# A history: arrays "item", "type", "ts", "new_session", oldest first.
History = dict[str, np.ndarray]
EMPTY_HISTORY: History = {
    k: np.zeros(0, dtype=np.int64) for k in ("item", "type", "ts", "new_session")
}
STATE_COLUMNS = ["user_idx", "item_seq", "type_seq", "ts_seq", "new_session_seq"]


def read_histories(settings: Settings, ds: date) -> dict[int, History]:
    """user_idx -> last L events as of day ``ds``."""
    rows = read_arrow(settings, SILVER_USER_RECENT, STATE_COLUMNS, (ds, ds)).to_pylist()
    return {
        r["user_idx"]: {
            "item": np.array(r["item_seq"], dtype=np.int64),
            "type": np.array(r["type_seq"], dtype=np.int64),
            "ts": np.array(r["ts_seq"], dtype=np.int64),
            "new_session": np.array(r["new_session_seq"], dtype=np.int64),
        }
        for r in rows
    }


def left_pad(rows: list[np.ndarray], length: int, dtype: type) -> np.ndarray:
    out = np.zeros((len(rows), length), dtype=dtype)
    for i, row in enumerate(rows):
        row = row[-length:]
        if len(row):
            out[i, length - len(row) :] = row
    return out


def sequence_inputs(
    histories: list[dict[str, np.ndarray]], target_item: np.ndarray, target_ts: np.ndarray,
    user_idx: np.ndarray, length: int,
) -> Batch:  # fmt: skip
    """Inputs as gold.training_examples builds them: last ``length`` events, left-padded, with
    gaps log1p(hours before the target time) (clamped at 0, as the ETL does)."""
    gaps = [
        np.log1p(np.maximum(t - h["ts"][-length:], 0) / 3600.0).astype(np.float32)
        for h, t in zip(histories, target_ts, strict=True)
    ]
    columns = {
        "user_idx": user_idx,
        "item_seq": left_pad([h["item"] for h in histories], length, np.int64),
        "type_seq": left_pad([h["type"] for h in histories], length, np.int64),
        "gap_seq": left_pad(gaps, length, np.float32),
        "new_session_seq": left_pad([h["new_session"] for h in histories], length, np.int64),
        "seq_len": np.array([min(len(h["item"]), length) for h in histories], dtype=np.int64),
        "target_item_idx": target_item,
    }
    return Batch(**{k: torch.as_tensor(v) for k, v in columns.items() if k != "target_item_idx"},
                 target=torch.as_tensor(target_item))  # fmt: skip


def append_event(
    history: dict[str, np.ndarray], item: int, ts: int, type_code: int, gap_seconds: int
) -> dict[str, np.ndarray]:
    """The history with one more event at the end (a new session after the inactivity gap)."""
    new_session = int(len(history["ts"]) == 0 or ts - history["ts"][-1] > gap_seconds)
    return {
        "item": np.append(history["item"], item),
        "type": np.append(history["type"], type_code),
        "ts": np.append(history["ts"], ts),
        "new_session": np.append(history["new_session"], new_session),
    }
