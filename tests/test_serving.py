"""Reading published vectors back (models/serving.py) from Delta tables written by delta-rs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from models.serving import recommend
from warehouse.lake import TableNotReady
from warehouse.publication import COLD_START_ID
from warehouse.settings import Settings
from warehouse.tables import SERVING_ITEMS, SERVING_USERS

OLD, NEW = date(2026, 3, 1), date(2026, 3, 2)


def publish(settings: Settings, ds: date, version: str, users: dict, items: dict) -> None:
    """One night's rows, as the publish job writes them (the columns recommend reads)."""
    vectors = pa.list_(pa.float32())
    write_deltalake(
        str(settings.table_path(SERVING_USERS)),
        pa.table({
            "user_id": list(users), "model_version": [version] * len(users),
            "fused": pa.array(list(users.values()), vectors), "ds": [ds] * len(users),
        }),
        mode="append", partition_by=["ds"],
    )  # fmt: skip
    write_deltalake(
        str(settings.table_path(SERVING_ITEMS)),
        pa.table({
            "item_id": list(items), "model_version": [version] * len(items),
            "vector": pa.array(list(items.values()), vectors), "ds": [ds] * len(items),
        }),
        mode="append", partition_by=["ds"],
    )  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path)
    items = {"i1": [1.0, 0.0], "i2": [0.0, 1.0], "i3": [0.5, 0.5]}
    u1 = settings.stored_user_ids()("u1")  # the tables hold pseudonyms; recommend takes raw ids
    publish(settings, OLD, "v-old", {u1: [0.0, 1.0], COLD_START_ID: [1.0, 0.0]}, items)
    publish(settings, NEW, "v-new", {u1: [1.0, 0.2], COLD_START_ID: [0.0, 1.0]}, items)
    return settings


def test_a_known_user_is_ranked_with_the_latest_publication(settings) -> None:
    ds, version, top = recommend(settings, "u1", k=2)
    assert (ds, version) == ("2026-03-02", "v-new")
    assert [item for item, _ in top] == ["i1", "i3"]
    assert [round(score, 4) for _, score in top] == [1.0, 0.6]


def test_an_unknown_user_gets_the_cold_start_row(settings) -> None:
    _, _, top = recommend(settings, "never-seen", k=3)
    assert [item for item, _ in top] == ["i2", "i3", "i1"]


def test_nothing_published_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TableNotReady, match="does not exist"):
        recommend(Settings(home=tmp_path), "u1", k=1)
