"""Reading the Delta tables from the model side, without Spark.

delta-rs (``deltalake``) lists a table's LIVE Parquet files at its current version (reading the
table's folder would also read removed files); pyarrow reads them. Partition columns (``ds``) are
not inside the files, so whatever the model needs lives in the data columns.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from warehouse.settings import Settings
from warehouse.storage import arrow_files


class TableNotReady(RuntimeError):
    """A table the model needs is missing, empty, or unsafe to read file by file."""


def open_table(settings: Settings, name: str, version: int | None = None) -> DeltaTable:
    """The table at its latest version, or at ``version`` (Delta time travel)."""
    path = settings.table_path(name)
    if not DeltaTable.is_deltatable(str(path)):
        raise TableNotReady(f"{name} does not exist at {path}: run the ETL first (interest etl)")
    return DeltaTable(str(path), version=version)


DayRange = tuple[date | None, date | None]  # (first, last) ds, either open


def live_files(table: DeltaTable, days: DayRange = (None, None)) -> list[str]:
    """The table's live Parquet files, optionally only those of partitions ds in [first, last].

    Reading files directly would ignore deletion vectors, so a table that has any is refused.
    """
    if table.metadata().configuration.get("delta.enableDeletionVectors", "false") != "false":
        raise TableNotReady(f"{table.table_uri}: deletion vectors on; files cannot be read alone")
    first, last = days
    predicate = [("ds", op, d.isoformat()) for op, d in ((">=", first), ("<=", last)) if d]
    return sorted(table.file_uris(file_pruning_predicate=predicate or None))


def read_arrow(
    settings: Settings,
    name: str,
    columns: list[str] | None = None,
    days: DayRange = (None, None),
    version: int | None = None,
) -> pa.Table:
    """The rows of a table (or of its partitions ds in ``days``, at ``version``) in Arrow."""
    files = live_files(open_table(settings, name, version), days)
    if not files:
        raise TableNotReady(f"{name} has no rows for ds in {days}: run the ETL for those days")
    return read_files(files, columns)


def read_files(files: list[str], columns: list[str] | None = None) -> pa.Table:
    """Live files of a table in Arrow (the ds=... folders are not columns)."""
    paths, filesystem = arrow_files(files)
    return pq.read_table(paths, columns=columns, partitioning=None, filesystem=filesystem)


def latest_day(settings: Settings, name: str, empty_hint: str) -> str:
    """The newest ds partition of a table; TableNotReady (with the hint) when it has none."""
    days = [p["ds"] for p in open_table(settings, name).partitions()]
    if not days:
        raise TableNotReady(f"{name} is empty: {empty_hint}")
    return max(days)


def row_count(files: list[str]) -> int:
    """Rows in the given Parquet files, from their footers (no data read)."""
    return sum(pq.ParquetFile(Path(f)).metadata.num_rows for f in files)
