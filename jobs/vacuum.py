"""vacuum: delete the files that no table version within ``retention_days`` uses.

Delta keeps every file an earlier version used, for time travel, the graph's reruns and
``interest rollback``. VACUUM deletes those unused for longer than the retention, and each
table's log keeps the same window (``delta.logRetentionDuration`` =
``delta.deletedFileRetentionDuration`` = ``retention_days``: set on every table here, and by
default on new ones by jobs/spark.py), so rollback and time travel reach exactly as far back as
VACUUM allows, never further. ``spark-submit jobs/vacuum.py`` (``interest vacuum``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pyspark.sql import SparkSession

from jobs.catalog import register_tables
from jobs.delta_io import delta_table
from jobs.jobmain import one_line_errors
from jobs.spark import build_session, retention_properties
from warehouse.settings import Settings
from warehouse.tables import TABLES


def align_retention(spark: SparkSession, settings: Settings, name: str) -> bool:
    """Sets the table's retention properties where they differ; True if it did."""
    wanted = retention_properties(settings)
    current = delta_table(spark, name, settings).detail().first()["properties"]
    missing = {k: v for k, v in wanted.items() if current.get(k) != v}
    if missing:
        assignments = ", ".join(f"'{k}' = '{v}'" for k, v in missing.items())
        spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ({assignments})")
    return bool(missing)


def vacuum_tables(
    spark: SparkSession, settings: Settings, tables: Iterable[str], retention_hours: float
) -> None:
    # VACUUM lists a table's folders with this many tasks, 10,000 by default: minutes of task
    # overhead per table on a small machine (delta-io/delta#220); the cores are what help.
    spark.conf.set(
        "spark.sql.sources.parallelPartitionDiscovery.parallelism",
        str(spark.sparkContext.defaultParallelism),
    )
    for name in tables:
        delta_table(spark, name, settings).vacuum(retention_hours)


def run(spark: SparkSession, settings: Settings) -> dict[str, int]:
    aligned = sum(align_retention(spark, settings, name) for name in TABLES)
    vacuum_tables(spark, settings, TABLES, settings.retention_days * 24)
    return {
        "tables": len(TABLES),
        "retention_set": aligned,
        "retention_days": settings.retention_days,
    }


def main() -> None:
    settings = Settings()
    spark = build_session("interest-vacuum", settings)
    try:
        with one_line_errors("vacuum"):
            register_tables(spark, settings)
            counts = run(spark, settings)
    finally:
        spark.stop()
    print(json.dumps({"job": "vacuum", "counts": counts}))


if __name__ == "__main__":
    main()
