"""A forgotten user's traces in model files (the tables are jobs/forget.py's): their embedding row
in every model's weights (and the copies tracked runs keep in the warehouse's MLflow store) is
zeroed, every resume checkpoint (which holds it again, with the
optimiser's moments of it) is deleted, and their row leaves every publish stage."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from models.train import save_atomic
from warehouse.settings import Settings

USER_EMBEDDING = "user_embedding.weight"


def zero_user_row(weights: dict[str, torch.Tensor], user_idx: int) -> bool:
    """Zeroes row ``user_idx`` of the user embedding in a state dict; True if it had one."""
    found = False
    for name, tensor in weights.items():
        if name.endswith(USER_EMBEDDING) and user_idx < tensor.size(0):
            tensor[user_idx] = 0
            found = True
    return found


def forget_in_models(settings: Settings, user_idx: int) -> dict[str, int]:
    """Counts of the model files changed: weights zeroed, checkpoints deleted, stages cut."""
    counts = {"weights": 0, "checkpoints_deleted": 0, "stages": 0}
    # The models' weights, and their copies in the warehouse's MLflow store (models/tracking.py)
    copies = settings.mlflow_dir.glob("artifacts/**/model/best.pt")
    for best in sorted([*settings.models_dir.glob("*/best.pt"), *copies]):
        weights = torch.load(best, map_location="cpu")
        if zero_user_row(weights, user_idx):
            save_atomic(weights, best)
            counts["weights"] += 1
    for last in sorted(settings.models_dir.glob("*/last.pt")):
        last.unlink()
        counts["checkpoints_deleted"] += 1
    for users in sorted(settings.publish_stage_dir("*").parent.glob("ds=*/users.parquet")):
        counts["stages"] += drop_user_row(users, user_idx)
    return counts


def drop_user_row(path: Path, user_idx: int) -> int:
    with path.open("rb") as f:
        table = pq.read_table(f)
    keep = pc.not_equal(table["user_idx"], user_idx)
    if pc.all(keep).as_py():
        return 0
    with path.open("wb") as f:
        pq.write_table(table.filter(keep), f)
    return 1
