"""rollback: serve an earlier night's vectors again, in one commit.

Every reader of serving (the *_current views, the gate's "last published", ``interest
recommend``) takes the latest day of serving.user_interest_vectors. Rolling back to night D
restores that table to the version it had the last time D was its latest day: ONE Delta commit
(RESTORE), after which readers see D's users with D's item vectors (item rows are kept per day
and model, so they need no change). Later nights' vectors leave the live table but stay in its
history, so rolling forward again works too, until VACUUM (jobs/vacuum.py) removes them past
``retention_days``. ops.publications then marks the nights after D ``rolled_back``: they count
as finished, so rerunning the range does not publish them again; the next new night publishes
as usual. A rerun changes nothing more.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.delta_io import delta_table, read_day
from jobs.jobmain import job_main
from jobs.vacuum import align_retention
from warehouse.publication import Decision
from warehouse.settings import Settings
from warehouse.tables import OPS_PUBLICATIONS, SERVING_USERS

ROLLED_BACK_PREFIX = r"^rolled back to \d{4}-\d{2}-\d{2}: "


class RollbackError(ValueError):
    """No version of serving within the retention window has the night as its latest."""


def latest_day(spark: SparkSession, settings: Settings, version: int | None = None) -> date | None:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    table = reader.load(settings.table_path(SERVING_USERS).as_posix())
    return table.agg(F.max("ds")).first()[0]


def version_serving(spark: SparkSession, settings: Settings, ds: date) -> int | None:
    """The newest version of serving.user_interest_vectors, within ``retention_days``, whose
    latest day is ``ds``."""
    since = datetime.now() - timedelta(days=settings.retention_days)
    history = delta_table(spark, SERVING_USERS, settings).history()
    versions = history.where(F.col("timestamp") >= F.lit(since)).orderBy(F.desc("version"))
    for row in versions.select("version").collect():
        if latest_day(spark, settings, row["version"]) == ds:
            return row["version"]
    return None


def mark_decisions(spark: SparkSession, settings: Settings, ds: date) -> None:
    """Nights after ``ds`` that were published: rolled back; nights up to ``ds`` that were
    rolled back (a roll forward): published again. One commit, none when nothing changes."""
    table = delta_table(spark, OPS_PUBLICATIONS, settings)
    day, decision = F.col("ds"), F.col("decision")
    later = (day > F.lit(ds)) & (decision == Decision.PUBLISHED)
    restored = (day <= F.lit(ds)) & (decision == Decision.ROLLED_BACK)
    if table.toDF().where(later | restored).isEmpty():
        return
    table.update(
        later | restored,
        {
            "decision": F.when(later, F.lit(str(Decision.ROLLED_BACK))).otherwise(
                F.lit(str(Decision.PUBLISHED))
            ),
            "reason": F.when(later, F.concat(F.lit(f"rolled back to {ds}: "), "reason")).otherwise(
                F.regexp_replace("reason", ROLLED_BACK_PREFIX, "")
            ),
        },
    )


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    table = delta_table(spark, SERVING_USERS, settings)
    if latest_day(spark, settings) != ds:
        version = version_serving(spark, settings, ds)
        if version is None:
            raise RollbackError(
                f"no version of {SERVING_USERS} in the last {settings.retention_days} days "
                f"served {ds} (`interest report --ds {ds}` says what that night decided)"
            )
        table.restoreToVersion(version)  # the one commit readers see
        align_retention(spark, settings, SERVING_USERS)  # RESTORE brought back old properties
    mark_decisions(spark, settings, ds)
    version = table.history(1).first()["version"]
    return {"version": version, "users": read_day(spark, SERVING_USERS, ds).count()}


if __name__ == "__main__":
    job_main("rollback", run)
