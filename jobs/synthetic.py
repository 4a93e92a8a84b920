"""Synthetic raw event logs with known structure, as RAW/ds=YYYY-MM-DD/part-*.{jsonl,csv,parquet}.

Structure: items fall into clusters; every user has a stable long-term taste (three favourite
clusters); each session follows one intent cluster drawn from that taste (or, rarely, explores a
random one) and drifts to another intent at each event with a small probability; within a
cluster, items are Zipf-popular. Event types follow a view > click > cart > purchase funnel.

Each day is generated on its own from (seed, day, chunk), in chunks of bounded size, so a range
of days of any size fits in memory and a day is the same whether generated alone or in a range.
Bad records (one defect each) can be injected; ``_manifest.json`` per day says how many of each.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS = ("jsonl", "csv", "parquet")
EVENT_TYPES = np.array(["view", "click", "cart", "purchase"])
EVENT_TYPE_P = np.array([0.70, 0.20, 0.07, 0.03])
BAD_KINDS = (
    "unparseable",
    "missing_user_id",
    "missing_item_id",
    "bad_timestamp",
    "ts_out_of_day",
    "unknown_event_type",
    "bad_value",
    "duplicate",
)
MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate. ``events_per_day`` counts good events; bad ones come on top."""

    start: date
    days: int
    events_per_day: int
    users: int = 1000
    items: int = 500
    clusters: int = 20
    seed: int = 7
    fmt: str = "jsonl"
    bad_fraction: float = 0.0
    drift_p: float = 0.1
    explore_p: float = 0.05
    mean_session_events: float = 8.0
    chunk_events: int = 500_000
    extra_fields: bool = True
    no_event_id_fraction: float = 0.1
    day_list: list[date] = field(init=False)

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt!r}; use one of {', '.join(FORMATS)}")
        if self.items < self.clusters:
            raise ValueError("need at least one item per cluster")
        object.__setattr__(
            self, "day_list", [self.start + timedelta(days=i) for i in range(self.days)]
        )


@dataclass(frozen=True)
class World:
    """The hidden structure shared by all days: item clusters and user tastes."""

    item_of_cluster_rank: np.ndarray  # (clusters, items_per_cluster) -> item number
    rank_cdf: np.ndarray  # Zipf CDF over ranks inside a cluster
    user_tastes: np.ndarray  # (users, 3) favourite clusters
    user_cdf: np.ndarray  # activity CDF over users

    @staticmethod
    def build(spec: SyntheticSpec) -> World:
        rng = np.random.default_rng([spec.seed, 0])
        per_cluster = spec.items // spec.clusters
        items = rng.permutation(spec.items)[: per_cluster * spec.clusters]
        ranks = 1.0 / np.arange(1, per_cluster + 1) ** 1.1
        tastes = np.stack(
            [rng.choice(spec.clusters, size=3, replace=False) for _ in range(spec.users)]
        )
        activity = rng.permutation(1.0 / (np.arange(spec.users) + 10.0) ** 0.8)
        return World(
            item_of_cluster_rank=items.reshape(spec.clusters, per_cluster),
            rank_cdf=np.cumsum(ranks) / ranks.sum(),
            user_tastes=tastes,
            user_cdf=np.cumsum(activity) / activity.sum(),
        )


def _sample_cdf(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size)), len(cdf) - 1)


def generate_chunk(
    spec: SyntheticSpec, world: World, day_index: int, chunk: int, n_events: int
) -> dict[str, np.ndarray]:
    """Good events of one chunk of one day as columns (user, item, type, ts in epoch seconds)."""
    rng = np.random.default_rng([spec.seed, 1 + day_index, chunk])
    day_start = datetime.combine(spec.day_list[day_index], datetime.min.time(), UTC)
    lengths = np.maximum(1, rng.geometric(1.0 / spec.mean_session_events, size=n_events))
    ends = np.cumsum(lengths)
    n_sessions = int(np.searchsorted(ends, n_events)) + 1
    lengths = lengths[:n_sessions]
    lengths[-1] -= int(lengths.sum() - n_events)
    session = np.repeat(np.arange(n_sessions), lengths)
    first = np.r_[True, session[1:] != session[:-1]]

    users = _sample_cdf(rng, world.user_cdf, n_sessions)
    # Intent segments: a new one at each session start and at each drift.
    new_segment = first | (rng.random(n_events) < spec.drift_p)
    segment = np.cumsum(new_segment) - 1
    seg_user = users[session[new_segment]]
    favourite = world.user_tastes[seg_user, rng.choice(3, size=len(seg_user), p=[0.6, 0.3, 0.1])]
    explore = rng.random(len(seg_user)) < spec.explore_p
    seg_cluster = np.where(explore, rng.integers(0, spec.clusters, len(seg_user)), favourite)
    rank = _sample_cdf(rng, world.rank_cdf, n_events)
    item = world.item_of_cluster_rank[seg_cluster[segment], rank]

    start = rng.uniform(0, 86_400, n_sessions)
    gaps = 1.0 + rng.exponential(44.0, n_events)
    gaps[first] = 0.0
    offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first], lengths)
    ts = day_start.timestamp() + start[session] + offset
    return {
        "user": users[session],
        "item": item,
        "type": EVENT_TYPES[_sample_cdf(rng, np.cumsum(EVENT_TYPE_P), n_events)],
        "ts": ts,
        "has_id": rng.random(n_events) >= spec.no_event_id_fraction,
        "ts_style": rng.integers(0, 3, n_events),  # ISO / epoch s / epoch ms
        "device": rng.choice(np.array(["web", "ios", "android"]), n_events),
    }


def _format_ts(ts: float, style: int) -> str | int:
    if style == 1:
        return int(ts)
    if style == 2:
        return int(ts * 1000)
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def good_records(
    spec: SyntheticSpec, cols: dict[str, np.ndarray], day_index: int, chunk: int
) -> list[dict]:
    records = []
    for n, (u, i, t, ts, has_id, style, dev) in enumerate(
        zip(
            cols["user"],
            cols["item"],
            cols["type"],
            cols["ts"],
            cols["has_id"],
            cols["ts_style"],
            cols["device"],
            strict=True,
        )
    ):
        rec: dict = {}
        if has_id:
            rec["event_id"] = f"e{day_index}-{chunk}-{n}"
        rec.update(user_id=f"u{u}", item_id=f"i{i}", event_type=str(t), ts=_format_ts(ts, style))
        if spec.extra_fields:
            rec["device"] = str(dev)
        records.append(rec)
    return records


def corrupt(record: dict, kind: str, day_index: int, n: int) -> dict | str:
    """One bad record of the given kind, derived from a good one. 'unparseable' is a raw line."""
    bad = dict(record)
    bad["event_id"] = f"bad{day_index}-{kind}-{n}"
    if kind == "unparseable":
        return json.dumps(bad)[:-7]
    if kind == "missing_user_id":
        bad["user_id"] = ""
    elif kind == "missing_item_id":
        bad.pop("item_id")
    elif kind == "bad_timestamp":
        bad["ts"] = "yesterday at noon"
    elif kind == "ts_out_of_day":
        bad["ts"] = _format_ts(_record_ts(record) - 3 * 86_400, 0)
    elif kind == "unknown_event_type":
        bad["event_type"] = "hover"
    elif kind == "bad_value":
        bad["event_type"] = "rating"
        bad["value"] = "five stars"
    elif kind == "duplicate":
        return dict(record)
    return bad


def _record_ts(record: dict) -> float:
    ts = record["ts"]
    if isinstance(ts, int):
        return ts / 1000 if ts > 10**11 else float(ts)
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def bad_kinds_for(fmt: str) -> tuple[str, ...]:
    # A CSV or Parquet file has no "line that is not a record": unparseable applies to JSONL.
    return BAD_KINDS if fmt == "jsonl" else tuple(k for k in BAD_KINDS if k != "unparseable")


def inject_bad(
    spec: SyntheticSpec, records: list[dict], day_index: int, chunk: int
) -> tuple[list[dict | str], dict[str, int]]:
    """The chunk's records with bad ones mixed in, and how many of each kind were added."""
    kinds = bad_kinds_for(spec.fmt)
    n_bad = int(round(len(records) * spec.bad_fraction))
    if n_bad == 0:
        return list(records), {}
    rng = np.random.default_rng([spec.seed, 10_000 + day_index, chunk])
    picks = rng.integers(0, len(records), n_bad)
    added = [corrupt(records[p], kinds[n % len(kinds)], day_index, n) for n, p in enumerate(picks)]
    counts = {k: sum(1 for n in range(n_bad) if kinds[n % len(kinds)] == k) for k in kinds}
    mixed: list[dict | str] = list(records) + added
    order = rng.permutation(len(mixed))
    return [mixed[j] for j in order], counts


def write_part(records: list[dict | str], path: Path, fmt: str) -> None:
    if fmt == "jsonl":
        with path.open("w") as out:
            for rec in records:
                out.write((rec if isinstance(rec, str) else json.dumps(rec)) + "\n")
        return
    columns = ["event_id", "user_id", "item_id", "event_type", "ts", "value", "device"]
    rows = [r for r in records if isinstance(r, dict)]
    table = pa.table(
        {c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in columns},
        schema=pa.schema([(c, pa.string()) for c in columns]),
    )
    if fmt == "csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path)


def chunk_sizes(total: int, chunk: int) -> Iterator[int]:
    while total > 0:
        yield min(chunk, total)
        total -= chunk


def generate(spec: SyntheticSpec, raw_dir: Path) -> Iterator[dict]:
    """Write every day of the spec under raw_dir, yielding each day's manifest when written.

    A day's folder is replaced as a whole (written beside, then renamed), so rerunning the
    generator never leaves a mix of old and new parts.
    """
    world = World.build(spec)
    for day_index, day in enumerate(spec.day_list):
        final = raw_dir / f"ds={day.isoformat()}"
        staging = raw_dir / f".staging-ds={day.isoformat()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        manifest = {"ds": day.isoformat(), "format": spec.fmt, "events": 0, "bad": {}, "read": 0}
        for chunk, n in enumerate(chunk_sizes(spec.events_per_day, spec.chunk_events)):
            cols = generate_chunk(spec, world, day_index, chunk, n)
            records, bad = inject_bad(
                spec, good_records(spec, cols, day_index, chunk), day_index, chunk
            )
            write_part(records, staging / f"part-{chunk:05d}.{spec.fmt}", spec.fmt)
            manifest["events"] += n
            manifest["read"] += len(records)
            for kind, count in bad.items():
                manifest["bad"][kind] = manifest["bad"].get(kind, 0) + count
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        yield manifest
