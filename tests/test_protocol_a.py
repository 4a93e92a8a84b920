"""Protocol A's pieces on tiny inputs: the held-out file, and what is masked when ranking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.batch import Batch
from models.protocol_a import BadHeldOut, ProtocolA, read_held_out
from models.ranking import SeenItems, rank_targets

USERS = {"u1": 1, "u2": 2}
ITEMS = {"a": 1, "b": 2, "c": 3}


def held_out_file(tmp_path: Path, rows: list[dict | str]) -> Path:
    path = tmp_path / "held.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def row(user: str, item: str, ts: int, role: str) -> dict:
    return {"user_id": user, "item_id": item, "ts": ts, "rating": 4.0, "role": role}


def test_held_out_rows_in_id_space_sorted_by_user(tmp_path: Path) -> None:
    path = held_out_file(tmp_path, [
        row("u2", "c", 20, "test"), row("u2", "a", 10, "valid"), "",
        row("u1", "b", 5, "valid"), row("u1", "zzz", 6, "test"),
    ])  # fmt: skip
    held = read_held_out(path, USERS, ITEMS)
    assert held.user_idx.tolist() == [1, 2]
    assert held.valid_item.tolist() == [2, 1] and held.valid_ts.tolist() == [5, 10]
    assert held.test_item.tolist() == [0, 3]  # an item never seen in training has idx 0
    assert held.test_ts.tolist() == [6, 20]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([row("u9", "a", 1, "valid")], "user u9 has no training interactions"),
        ([row("u1", "a", 1, "valid")], "users without both a valid and a test row, e.g. u1"),
        (["{not json"], "held.jsonl:1: not a held-out record"),
        ([{"user_id": "u1", "role": "valid"}], "held.jsonl:1: not a held-out record"),
        ([row("u1", "a", 1, "train")], "role 'train', expected valid or test"),
        ([row("u1", "a", 1, "valid"), row("u1", "b", 2, "valid")], ":2: a second valid row"),
    ],
)
def test_bad_held_out_files_are_one_line_errors(tmp_path: Path, rows, message: str) -> None:
    with pytest.raises(BadHeldOut, match=message):
        read_held_out(held_out_file(tmp_path, rows), USERS, ITEMS)


def one_step_batch(users: list[int], targets: list[int]) -> Batch:
    """Rows of one context event (item 1) and one target each."""
    one = torch.ones(len(users), dtype=torch.long)
    items = torch.stack([one, torch.tensor(targets)], dim=1)
    return Batch(
        user_idx=torch.tensor(users), item_seq=items, type_seq=torch.ones_like(items),
        ts_seq=torch.zeros_like(items), new_session_seq=torch.ones_like(items),
        num_context=one, num_targets=one,
    )  # fmt: skip


def by_id(batch: Batch) -> torch.Tensor:
    """A scorer over 6 items (0 = padding) preferring higher ids: 5 > 4 > 3 > 2 > 1."""
    return torch.arange(6, dtype=torch.float).repeat(int(batch.num_targets.sum()), 1)


def test_training_items_and_at_test_time_the_validation_item_are_masked() -> None:
    cpu = torch.device("cpu")
    seen = SeenItems(torch.tensor([1]), torch.tensor([5]), num_users=2)  # user 1 trained on 5
    protocol = ProtocolA(
        valid=one_step_batch([1], [4]), test=one_step_batch([1], [3]), seen=seen, num_items=6
    )
    # validation: the training item 5 is masked, so the target 4 ranks first
    assert rank_targets(by_id, protocol.valid, seen, 6, cpu).tolist() == [1]
    # test: 5 (training) and 4 (validation) are masked, so the target 3 ranks first ...
    assert protocol.test_metrics(by_id, cpu)["mrr@10"] == 1.0
    # ... where masking the training items alone would leave it second
    assert rank_targets(by_id, protocol.test, seen, 6, cpu).tolist() == [2]
