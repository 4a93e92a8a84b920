"""Reading the published vectors back: top-K items for a user (the `recommend` sanity check)."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from warehouse.lake import latest_day, read_arrow
from warehouse.publication import COLD_START_ID
from warehouse.settings import Settings
from warehouse.tables import SERVING_ITEMS, SERVING_USERS


def recommend(settings: Settings, user_id: str, k: int) -> tuple[str, str, list[tuple[str, float]]]:
    """(ds, model_version, [(item_id, score)]) from the latest publication for the raw
    ``user_id``; a user without history gets the cold-start row."""
    user_id = settings.stored_user_ids()(user_id)
    published = latest_day(settings, SERVING_USERS, "nothing published yet (interest publish)")
    ds = np.datetime64(published).astype(object)
    users = read_arrow(settings, SERVING_USERS, ["user_id", "model_version", "fused"], (ds, ds))
    row = users.filter(pc.equal(users["user_id"], user_id))
    if row.num_rows == 0:
        row = users.filter(pc.equal(users["user_id"], COLD_START_ID))
    version = row["model_version"][0].as_py()
    vector = np.array(row["fused"][0].as_py(), dtype=np.float32)
    items = read_arrow(settings, SERVING_ITEMS, ["item_id", "model_version", "vector"], (ds, ds))
    items = items.filter(pc.equal(items["model_version"], version))
    scores = np.stack(items["vector"].to_numpy(zero_copy_only=False)) @ vector
    top = np.argsort(-scores)[:k]
    ids = items["item_id"].to_pylist()
    return str(ds), version, [(ids[i], float(scores[i])) for i in top]
