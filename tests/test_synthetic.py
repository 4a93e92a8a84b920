import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.synthetic import BAD_KINDS, MANIFEST, SyntheticSpec, generate


def _lines(day_dir: Path) -> list[str]:
    return [ln for p in sorted(day_dir.glob("part-*.jsonl")) for ln in p.read_text().splitlines()]


def test_deterministic_and_days_independent(tmp_path: Path) -> None:
    spec = SyntheticSpec(start=date(2026, 1, 1), days=2, events_per_day=300, chunk_events=120)
    list(generate(spec, tmp_path / "a"))
    single = SyntheticSpec(start=date(2026, 1, 1), days=1, events_per_day=300, chunk_events=120)
    list(generate(single, tmp_path / "b"))
    day1 = "ds=2026-01-01"
    assert _lines(tmp_path / "a" / day1) == _lines(tmp_path / "b" / day1)
    assert _lines(tmp_path / "a" / day1) != _lines(tmp_path / "a" / "ds=2026-01-02")
    assert len(_lines(tmp_path / "a" / day1)) == 300


def test_bad_records_are_counted_in_the_manifest(tmp_path: Path) -> None:
    spec = SyntheticSpec(start=date(2026, 1, 1), days=1, events_per_day=800, bad_fraction=0.05)
    manifest = next(generate(spec, tmp_path))
    assert set(manifest["bad"]) == set(BAD_KINDS)
    assert manifest["read"] == 800 + 40
    on_disk = json.loads((tmp_path / "ds=2026-01-01" / MANIFEST).read_text())
    assert on_disk == manifest
    assert len(_lines(tmp_path / "ds=2026-01-01")) == manifest["read"]


def test_long_term_taste_is_visible(tmp_path: Path) -> None:
    """Most of a heavy user's events fall in few clusters: the structure the model should find."""
    spec = SyntheticSpec(start=date(2026, 1, 1), days=1, events_per_day=5000, users=50, items=200,
                         clusters=20, explore_p=0.0)  # fmt: skip
    list(generate(spec, tmp_path))
    from jobs.synthetic import World

    world = World.build(spec)
    cluster_of = {int(i): c for c, row in enumerate(world.item_of_cluster_rank) for i in row}
    events = [json.loads(ln) for ln in _lines(tmp_path / "ds=2026-01-01")]
    user = max({e["user_id"] for e in events}, key=lambda u: sum(e["user_id"] == u for e in events))
    clusters = [cluster_of[int(e["item_id"][1:])] for e in events if e["user_id"] == user]
    assert len(set(clusters)) <= 3  # the user's three favourite clusters and nothing else


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    spec = SyntheticSpec(
        start=date(2026, 1, 1), days=1, events_per_day=100, fmt=fmt, bad_fraction=0.1
    )
    manifest = next(generate(spec, tmp_path))
    assert "unparseable" not in manifest["bad"]
    part = tmp_path / "ds=2026-01-01" / f"part-00000.{fmt}"
    rows = (
        pq.read_table(part).num_rows if fmt == "parquet" else len(part.read_text().splitlines()) - 1
    )
    assert rows == manifest["read"] == 110


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        SyntheticSpec(start=date(2026, 1, 1), days=1, events_per_day=1, fmt="xml")
