"""Users' recent histories (silver.user_recent) turned into model inputs, exactly as the ETL
builds gold.training_sequences: the last L events as context, then the target to predict."""

from __future__ import annotations

from datetime import date

import numpy as np

from models.batch import Batch, batch_from_columns, pad_rows
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


def query_rows(
    histories: list[History], target_item: np.ndarray, target_ts: np.ndarray,
    user_idx: np.ndarray, length: int,
) -> Batch:  # fmt: skip
    """One row per history: its last ``length`` events as context, then one target: the item to
    rank (0 when unknown) at the prediction time. Shapes: (N,) arrays -> N rows, N targets."""
    context = [{k: v[-length:] for k, v in h.items()} for h in histories]
    lengths = np.array([len(h["item"]) + 1 for h in context], dtype=np.int64)
    width = int(lengths.max(initial=1))

    def column(key: str, target: np.ndarray) -> np.ndarray:
        cells = [np.append(h[key], t) for h, t in zip(context, target, strict=True)]
        return pad_rows(np.concatenate([*cells, none[:0]]), lengths, width, np.int64)

    none = np.zeros(len(histories), dtype=np.int64)  # a target's type and session are not known
    return batch_from_columns({
        "user_idx": user_idx,
        "item_seq": column("item", target_item),
        "type_seq": column("type", none),
        "ts_seq": column("ts", target_ts),
        "new_session_seq": column("new_session", none),
        "num_context": lengths - 1,
        "num_targets": np.ones(len(histories), dtype=np.int64),
    })  # fmt: skip


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
