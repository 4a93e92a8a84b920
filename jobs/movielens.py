"""Import MovieLens ratings into the raw daily layout: one ``rating`` event per rating, at its
own timestamp, in RAW/ds=<UTC day of the rating>/part-00000.jsonl.

Formats (detected from the file name): ``u.data`` (ML-100K, tab-separated), ``ratings.dat``
(ML-1M/10M, ``::``-separated), ``ratings.csv`` (ML-20M/25M/latest, with header), RecBole
``*.inter`` (tab-separated, typed header). The event id is ``ml-<user>-<item>-<ts>``, so
importing the same file twice gives the same events (and ingest counts duplicates once).

Holding out evaluation interactions (``exclude_split``): a leave-one-out split file (tab-separated,
header ``user_id  valid_item_id  test_item_id``) names each user's validation and test item. Those
ratings are not written to the raw days, so the ETL (graph, ids, training examples) never sees
them, and go to a held-out JSONL file instead (user_id, item_id, ts, rating, role = valid|test)
for the evaluation to read.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = ["user_id", "item_id", "rating", "ts"]
SPLIT_COLUMNS = ["user_id", "valid_item_id", "test_item_id"]
ROLES = ("valid", "test")


class UnknownFormat(ValueError):
    """The file is not one of the MovieLens layouts this importer reads."""


class BadSplit(ValueError):
    """The split file is malformed or names a (user, item) pair that was never rated."""


@dataclass(frozen=True)
class Imported:
    """What an import wrote: events per raw day, and held-out ratings per role and where."""

    days: dict[str, int]
    held_out: dict[str, int] = field(default_factory=dict)
    held_out_file: Path | None = None


def read_u_data(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", names=COLUMNS, dtype=str)


def read_ratings_dat(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="::", names=COLUMNS, dtype=str, engine="python")


def read_ratings_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str)
    return df.rename(
        columns={"userId": "user_id", "movieId": "item_id", "rating": "rating", "timestamp": "ts"}
    )[COLUMNS]


def read_inter(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", dtype=str)
    df.columns = [c.split(":")[0] for c in df.columns]
    return df.rename(columns={"timestamp": "ts"})[COLUMNS]


def reader_for(path: Path) -> Callable[[Path], pd.DataFrame]:
    name = path.name.lower()
    if name == "u.data":
        return read_u_data
    if name.endswith(".dat"):
        return read_ratings_dat
    if name.endswith(".csv"):
        return read_ratings_csv
    if name.endswith(".inter"):
        return read_inter
    raise UnknownFormat(
        f"{path.name}: not a MovieLens ratings file (u.data, ratings.dat, ratings.csv, *.inter)"
    )


def to_events(ratings: pd.DataFrame) -> pd.DataFrame:
    """Rating rows -> raw event records with a ``ds`` (UTC day) column."""
    ts = pd.to_numeric(ratings["ts"], errors="raise").astype("int64")
    out = pd.DataFrame(
        {
            "event_id": "ml-"
            + ratings["user_id"]
            + "-"
            + ratings["item_id"]
            + "-"
            + ts.astype(str),
            "user_id": ratings["user_id"],
            "item_id": ratings["item_id"],
            "event_type": "rating",
            "value": pd.to_numeric(ratings["rating"], errors="raise").astype(float),
            "ts": ts,
        }
    )
    out["ds"] = pd.to_datetime(ts, unit="s", utc=True).dt.strftime("%Y-%m-%d")
    return out


def write_days(events: pd.DataFrame, raw_dir: Path) -> dict[str, int]:
    """Each day's events replace that day's raw folder; returns events per day."""
    counts = {}
    for ds, day in events.groupby("ds", sort=True):
        final = raw_dir / f"ds={ds}"
        staging = raw_dir / f".staging-ds={ds}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        records = day.drop(columns="ds").sort_values(["ts", "event_id"]).to_dict("records")
        with (staging / "part-00000.jsonl").open("w") as out:
            for rec in records:
                out.write(json.dumps(rec) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        counts[str(ds)] = len(records)
    return counts


def read_split(path: Path) -> pd.DataFrame:
    """(user_id, item_id, role) for each held-out pair of a leave-one-out split file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lines = path.read_text().splitlines()
    header = lines[0].split("\t") if lines else []
    if header != SPLIT_COLUMNS:
        raise BadSplit(
            f"{path.name}: the header must be {' TAB '.join(SPLIT_COLUMNS)}, "
            f"got {lines[0][:80] if lines else 'an empty file'!r}"
        )
    rows, seen = [], set()
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != len(SPLIT_COLUMNS) or not all(fields):
            raise BadSplit(f"{path.name}:{number}: expected 3 non-empty tab-separated fields")
        user, valid, test = fields
        if user in seen:
            raise BadSplit(f"{path.name}:{number}: user {user} is listed twice")
        if valid == test:
            raise BadSplit(f"{path.name}:{number}: the validation and test items are the same")
        seen.add(user)
        rows += [(user, valid, "valid"), (user, test, "test")]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "role"])


def hold_out(events: pd.DataFrame, split: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept events, held-out events with their role). Every split pair must have been rated."""
    pairs = events[["user_id", "item_id"]].drop_duplicates()
    found = split.merge(pairs, on=["user_id", "item_id"], how="left", indicator=True)
    absent = found[found["_merge"] == "left_only"]
    if len(absent):
        first = absent.iloc[0]
        raise BadSplit(
            f"{len(absent)} (user, item) pairs of the split are not among the ratings, "
            f"e.g. user {first['user_id']} item {first['item_id']}"
        )
    marked = events.merge(split, on=["user_id", "item_id"], how="left")
    held = marked["role"].notna()
    return marked[~held].drop(columns="role"), marked[held]


def write_held_out(held: pd.DataFrame, path: Path) -> dict[str, int]:
    """One JSON line per held-out rating (user_id, item_id, ts, rating, role), written beside
    and renamed, so a reader never sees half a file. Returns ratings per role."""
    records = held.sort_values(["user_id", "role", "ts", "item_id"], key=_numeric_first)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    with staging.open("w") as out:
        for r in records.itertuples():
            row = {"user_id": r.user_id, "item_id": r.item_id, "ts": int(r.ts),
                   "rating": float(r.value), "role": r.role}  # fmt: skip
            out.write(json.dumps(row) + "\n")
    staging.replace(path)
    return {role: int((held["role"] == role).sum()) for role in ROLES}


def _numeric_first(column: pd.Series) -> pd.Series:
    """Sort ids numerically when they are numbers (MovieLens ids are)."""
    as_number = pd.to_numeric(column, errors="coerce")
    return column if as_number.isna().any() else as_number


def import_file(
    path: Path,
    raw_dir: Path,
    exclude_split: Path | None = None,
    held_out_file: Path | None = None,
) -> Imported:
    """Import ``path`` into ``raw_dir``; with ``exclude_split``, hold its pairs out into
    ``held_out_file`` (default: ``<raw_dir parent>/heldout/<split name>.jsonl``)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    events = to_events(reader_for(path)(path))
    if exclude_split is None:
        return Imported(write_days(events, raw_dir))
    kept, held = hold_out(events, read_split(exclude_split))
    held_out_file = held_out_file or raw_dir.parent / "heldout" / f"{exclude_split.stem}.jsonl"
    per_role = write_held_out(held, held_out_file)
    days = write_days(kept, raw_dir)
    # A day whose every rating is held out has no folder now; remove one an earlier import left.
    for ds in set(events["ds"]) - set(days):
        shutil.rmtree(raw_dir / f"ds={ds}", ignore_errors=True)
    return Imported(days, per_role, held_out_file)
