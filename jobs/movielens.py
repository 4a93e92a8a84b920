"""Import MovieLens ratings into the raw daily layout: one ``rating`` event per rating, at its
own timestamp, in RAW/ds=<UTC day of the rating>/part-00000.jsonl.

Formats (detected from the file name): ``u.data`` (ML-100K, tab-separated), ``ratings.dat``
(ML-1M/10M, ``::``-separated), ``ratings.csv`` (ML-20M/25M/latest, with header), RecBole
``*.inter`` (tab-separated, typed header). The event id is ``ml-<user>-<item>-<ts>``, so
importing the same file twice gives the same events (and ingest counts duplicates once).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

COLUMNS = ["user_id", "item_id", "rating", "ts"]


class UnknownFormat(ValueError):
    """The file is not one of the MovieLens layouts this importer reads."""


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


def import_file(path: Path, raw_dir: Path) -> dict[str, int]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return write_days(to_events(reader_for(path)(path)), raw_dir)
