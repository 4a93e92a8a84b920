"""Protocol A (DESIGN.md): leave-one-out, full ranking, comparable with RecBole.

The ETL ran on the training interactions only (the importer held the validation and test
interactions out, see ``interest import-movielens --exclude-split``). Each user's input sequence is
the last L training events from silver.user_recent on the last day; for test it ends with the
validation item. Every item is ranked; the user's training items are masked, and at test time the
validation item too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from jobs.config import Settings
from jobs.examples import event_type_codes
from jobs.tables import GOLD_EXAMPLES, SILVER_ITEM_IDS, SILVER_USER_IDS, SILVER_USER_RECENT
from models.batch import Batch
from models.graph import Graph
from models.interest_model import InterestModel, score
from models.lake import TableNotReady, open_table, read_arrow
from models.ranking import Scorer, SeenItems, evaluate

STATE_COLUMNS = ["user_idx", "item_seq", "type_seq", "ts_seq", "new_session_seq"]


class BadHeldOut(ValueError):
    """The held-out file does not match the warehouse."""


@dataclass
class HeldOut:
    """One row per user: validation and test item idx (0 when the item never occurs in training)
    and their times (epoch seconds). Shapes: each (N,)."""

    user_idx: np.ndarray
    valid_item: np.ndarray
    valid_ts: np.ndarray
    test_item: np.ndarray
    test_ts: np.ndarray


@dataclass
class ProtocolA:
    """Validation and test inputs, and what to mask, for one warehouse."""

    valid: Batch
    test: Batch
    seen: SeenItems
    num_items: int
    train_targets: Tensor  # every training interaction's item, for popularity

    def validate(
        self, model: InterestModel, graph: Graph, device: torch.device
    ) -> dict[str, float]:
        """Validation metrics of a model (the early-stopping and tuning signal)."""
        return evaluate(model_scorer(model, graph), self.valid, self.seen, self.num_items, device)

    def test_metrics(self, scorer: Scorer, device: torch.device) -> dict[str, float]:
        """Test metrics, with the validation item masked too."""
        return evaluate(
            scorer, self.test, self.seen, self.num_items, device, also_mask=self.valid.target
        )


def model_scorer(model: InterestModel, graph: Graph) -> Scorer:
    def scores(batch: Batch) -> Tensor:
        with torch.no_grad():
            return score(*model(batch, graph))

    return scores


def parse_ts(value: str | int | float) -> int:
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(value).timestamp())


def read_held_out(path: Path, user_ids: dict[str, int], item_ids: dict[str, int]) -> HeldOut:
    """A held-out JSONL (lines with user_id, item_id, ts, role = valid | test) in idx space."""
    rows: dict[str, dict[str, tuple[int, int]]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        user = str(record["user_id"])
        if user not in user_ids:
            raise BadHeldOut(f"{path}:{number}: user {user} has no training interactions")
        rows.setdefault(user, {})[record["role"]] = (
            item_ids.get(str(record["item_id"]), 0),
            parse_ts(record["ts"]),
        )
    missing = [u for u, r in rows.items() if set(r) != {"valid", "test"}]
    if missing:
        raise BadHeldOut(f"{path}: users without both a valid and a test row, e.g. {missing[0]}")
    users = sorted(rows, key=lambda u: user_ids[u])
    pick = lambda role, k: np.array([rows[u][role][k] for u in users], dtype=np.int64)  # noqa: E731
    return HeldOut(
        np.array([user_ids[u] for u in users], dtype=np.int64),
        pick("valid", 0), pick("valid", 1), pick("test", 0), pick("test", 1),
    )  # fmt: skip


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


def last_state_day(settings: Settings) -> str:
    days = [p["ds"] for p in open_table(settings, SILVER_USER_RECENT).partitions()]
    if not days:
        raise TableNotReady(f"{SILVER_USER_RECENT} is empty: run the ETL first")
    return max(days)


def load_histories(settings: Settings, users: np.ndarray) -> list[dict[str, np.ndarray]]:
    ds = np.datetime64(last_state_day(settings)).astype(object)
    state = read_arrow(settings, SILVER_USER_RECENT, STATE_COLUMNS, days=(ds, ds)).to_pylist()
    by_user = {r["user_idx"]: r for r in state}
    empty = {k: np.zeros(0, dtype=np.int64) for k in ("item", "type", "ts", "new_session")}
    out = []
    for user in users.tolist():
        r = by_user.get(user)
        out.append(
            empty if r is None else {
                "item": np.array(r["item_seq"], dtype=np.int64),
                "type": np.array(r["type_seq"], dtype=np.int64),
                "ts": np.array(r["ts_seq"], dtype=np.int64),
                "new_session": np.array(r["new_session_seq"], dtype=np.int64),
            }
        )  # fmt: skip
    return out


def id_map(settings: Settings, table: str, key: str, idx: str) -> dict[str, int]:
    ids = read_arrow(settings, table, [key, idx])
    return dict(zip(ids[key].to_pylist(), ids[idx].to_pylist(), strict=True))


def build_protocol_a(
    settings: Settings, held_out_path: Path, num_users: int, num_items: int
) -> ProtocolA:
    user_ids = id_map(settings, SILVER_USER_IDS, "user_id", "user_idx")
    item_ids = id_map(settings, SILVER_ITEM_IDS, "item_id", "item_idx")
    held = read_held_out(held_out_path, user_ids, item_ids)
    length = settings.sequence_length
    histories = load_histories(settings, held.user_idx)
    rating = event_type_codes(settings.event_weights)["rating"]
    gap = settings.session_gap_minutes * 60
    with_valid = [
        append_event(h, item, ts, rating, gap)
        for h, item, ts in zip(histories, held.valid_item, held.valid_ts, strict=True)
    ]
    examples = read_arrow(settings, GOLD_EXAMPLES, ["user_idx", "target_item_idx"])
    users = torch.tensor(examples["user_idx"].to_numpy(), dtype=torch.long)
    items = torch.tensor(examples["target_item_idx"].to_numpy(), dtype=torch.long)
    return ProtocolA(
        valid=sequence_inputs(histories, held.valid_item, held.valid_ts, held.user_idx, length),
        test=sequence_inputs(with_valid, held.test_item, held.test_ts, held.user_idx, length),
        seen=SeenItems(users, items, num_users),
        num_items=num_items,
        train_targets=items,
    )
