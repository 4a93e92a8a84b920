"""Protocol A (docs/evaluation.md): leave-one-out, full ranking, comparable with RecBole.

The ETL ran on the training interactions only (the importer held the validation and test
interactions out, see ``interest import-movielens --exclude-split``). Each user's input sequence is
the last L training events from silver.user_recent on the last day; for test it ends with the
validation item. Every item is ranked; the user's training items are masked, and at test time the
validation item too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import torch

from models.adjacency import Graph
from models.batch import TARGET_COLUMNS, Batch, target_pairs
from models.history import EMPTY_HISTORY, append_event, query_rows, read_histories
from models.interest_model import InterestModel
from models.ranking import Scorer, SeenItems, evaluate, model_scorer
from warehouse.events import event_type_codes
from warehouse.lake import latest_day, read_arrow
from warehouse.settings import Settings
from warehouse.tables import GOLD_SEQUENCES, SILVER_ITEM_IDS, SILVER_USER_IDS, SILVER_USER_RECENT


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

    def validate(
        self, model: InterestModel, graph: Graph, device: torch.device
    ) -> dict[str, float]:
        """Validation metrics of a model (the early-stopping and tuning signal)."""
        return evaluate(model_scorer(model, graph), self.valid, self.seen, self.num_items, device)

    def test_metrics(self, scorer: Scorer, device: torch.device) -> dict[str, float]:
        """Test metrics, with the validation item masked too."""
        return evaluate(
            scorer, self.test, self.seen, self.num_items, device, also_mask=self.valid.targets()
        )


def read_held_out(
    path: Path,
    user_ids: dict[str, int],
    item_ids: dict[str, int],
    stored_user_id: Callable[[str], str] = str,
) -> HeldOut:
    """A held-out JSONL (lines with user_id, item_id, ts, role = valid | test) in idx space;
    ``user_ids`` is keyed by the ids as the tables hold them (``stored_user_id`` of the raw)."""
    rows: dict[str, dict[str, tuple[int, int]]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            user, item, role = str(record["user_id"]), str(record["item_id"]), record["role"]
            ts = int(record["ts"])  # epoch seconds (jobs.movielens.write_held_out)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadHeldOut(f"{path}:{number}: not a held-out record ({exc!r})") from None
        if role not in ("valid", "test"):
            raise BadHeldOut(f"{path}:{number}: role {role!r}, expected valid or test")
        stored = stored_user_id(user)
        if stored not in user_ids:
            raise BadHeldOut(f"{path}:{number}: user {user} has no training interactions")
        if role in rows.get(stored, {}):
            raise BadHeldOut(f"{path}:{number}: a second {role} row for user {user}")
        rows.setdefault(stored, {})[role] = (item_ids.get(item, 0), ts)
    missing = [u for u, r in rows.items() if set(r) != {"valid", "test"}]
    if missing:
        raise BadHeldOut(f"{path}: users without both a valid and a test row, e.g. {missing[0]}")
    users = sorted(rows, key=lambda u: user_ids[u])
    pick = lambda role, k: np.array([rows[u][role][k] for u in users], dtype=np.int64)  # noqa: E731
    return HeldOut(
        np.array([user_ids[u] for u in users], dtype=np.int64),
        pick("valid", 0), pick("valid", 1), pick("test", 0), pick("test", 1),
    )  # fmt: skip


def last_state_day(settings: Settings) -> str:
    return latest_day(settings, SILVER_USER_RECENT, "run the ETL first")


def id_map(settings: Settings, table: str, key: str, idx: str) -> dict[str, int]:
    ids = read_arrow(settings, table, [key, idx])
    return dict(zip(ids[key].to_pylist(), ids[idx].to_pylist(), strict=True))


def build_protocol_a(
    settings: Settings, held_out_path: Path, num_users: int, num_items: int
) -> ProtocolA:
    user_ids = id_map(settings, SILVER_USER_IDS, "user_id", "user_idx")
    item_ids = id_map(settings, SILVER_ITEM_IDS, "item_id", "item_idx")
    held = read_held_out(held_out_path, user_ids, item_ids, settings.stored_user_ids())
    length = settings.sequence_length
    state = read_histories(settings, date.fromisoformat(last_state_day(settings)))
    histories = [state.get(user, EMPTY_HISTORY) for user in held.user_idx.tolist()]
    rating = event_type_codes(settings.event_weights)["rating"]
    gap = settings.session_gap_minutes * 60
    with_valid = [
        append_event(h, item, ts, rating, gap)
        for h, item, ts in zip(histories, held.valid_item, held.valid_ts, strict=True)
    ]
    users, items = target_pairs(read_arrow(settings, GOLD_SEQUENCES, TARGET_COLUMNS))
    return ProtocolA(
        valid=query_rows(histories, held.valid_item, held.valid_ts, held.user_idx, length),
        test=query_rows(with_valid, held.test_item, held.test_ts, held.user_idx, length),
        seen=SeenItems(torch.as_tensor(users), torch.as_tensor(items), num_users),
        num_items=num_items,
    )
