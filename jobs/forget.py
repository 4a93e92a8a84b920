"""forget: remove one user from every table (``interest forget-user USER_ID``).

The user's rows go from every table that holds them, keyed by the id the tables hold
(``Settings.stored_user_ids``: the pseudonym) or by their dense index; their quarantined records
go too, found by the user id in the raw text. The long-term graph loses their contributions: their
user-item edges are deleted, and each co-occurrence edge loses what the user's sessions added,
decayed as the nightly update decayed it (exact, but for edges that a night's prune or neighbour
cap already dropped, which are not restored). Their dense index stays taken
(``forgotten:<idx>`` in silver.user_ids) so it is never given to another user, whose embedding
would otherwise start from theirs. ops.forgotten_users keeps ingest from taking their events in
again from raw logs (reruns, backfills).

Each table is one Delta commit (DELETE, UPDATE or MERGE); a rerun after a crash resumes: the
co-occurrence commit is tagged with when the removal started, so it is never applied twice. The
older versions of the tables still hold the user until VACUUM removes them: ``interest vacuum``
after ``retention_days``, or at once with ``--purge-now`` (the tables lose their history, and
``interest rollback`` its window). Model files are the CLI's part (models/forget.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.catalog import register_tables
from jobs.delta_io import commit_metadata, delta_table
from jobs.graph import COOCCURRENCE_KEYS, cooccurrence_contributions, decayed, last_absorbed
from jobs.jobmain import one_line_errors
from jobs.spark import build_session
from jobs.vacuum import vacuum_tables
from warehouse.graph_tags import FORGET_MARK
from warehouse.settings import Settings
from warehouse.tables import (
    BRONZE_EVENTS,
    BRONZE_REJECTED,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    GOLD_SEQUENCES,
    OPS_FORGOTTEN_USERS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_USER_RECENT,
)

BY_INDEX = (SILVER_USER_RECENT, GOLD_SEQUENCES, GOLD_AFFINITY, SERVING_USERS)
BY_ID = (BRONZE_EVENTS, SILVER_SESSIONS)
TOUCHED = (*BY_ID, *BY_INDEX, BRONZE_REJECTED, GOLD_COOCCURRENCE, SILVER_USER_IDS)


def forget_tag(stored_id: str, started: datetime) -> str:
    """The userMetadata of the removal's commits: says which removal made them, without the id
    (graph reruns refuse to restore a version from before one)."""
    token = hashlib.sha256(stored_id.encode()).hexdigest()[:16]
    return f"{FORGET_MARK}{token} at={started.isoformat()}"


def in_raw_text(raw_id: str, stored_id: str) -> Column:
    """Quarantined records of the user: JSON whose user_id is theirs, or text that names them as
    its user_id (a record that could not be parsed)."""
    as_field = F.get_json_object("raw", "$.user_id").isin(raw_id, stored_id)
    quoted = r"\Q" + raw_id.replace(r"\E", r"\E\\E\Q") + r"\E"
    named = F.col("raw").rlike(rf'"user_id"\s*:\s*"?{quoted}"?\s*[,}}]')
    return F.coalesce(as_field, F.lit(False)) | F.coalesce(named, F.lit(False))


def cooccurrence_removal(
    user_sessions: DataFrame, item_ids: DataFrame, current: DataFrame, settings: Settings
) -> DataFrame:
    """(item_idx, neighbour_idx, weight, count) to take off each stored edge: the user's
    contributions of every day up to the edge's ``updated_ds``, decayed to it as the nightly
    update did (graph.absorb_days' closed form)."""
    daily = cooccurrence_contributions(user_sessions, item_ids, settings.cooccurrence_window)
    stored = current.select(*COOCCURRENCE_KEYS, "updated_ds")
    return (
        daily.join(stored, list(COOCCURRENCE_KEYS))
        .where(F.col("ds") <= F.col("updated_ds"))
        .groupBy(*COOCCURRENCE_KEYS)
        .agg(
            F.sum(
                decayed(F.col("weight"), F.col("ds"), F.col("updated_ds"), settings.half_life_days)
            ).alias("weight"),
            F.sum("count").alias("count"),
        )
    )


def subtract_cooccurrence(spark: SparkSession, settings: Settings, removal: DataFrame) -> None:
    """One MERGE: edges left without any co-occurrence go, the others lose the removal."""
    t = delta_table(spark, GOLD_COOCCURRENCE, settings).alias("t")
    on = " AND ".join(f"t.{k} = s.{k}" for k in COOCCURRENCE_KEYS)
    (
        t.merge(removal.alias("s"), on)
        .whenMatchedDelete("t.count - s.count <= 0")
        .whenMatchedUpdate(
            set={
                "weight": "greatest(t.weight - s.weight, 0D)",
                "count": "t.count - s.count",
            }
        )
        .execute()
    )


def removal_started(spark: SparkSession, settings: Settings, stored_id: str) -> datetime:
    """When this removal started: an interrupted one's time (to resume it), else now, recorded
    in ops.forgotten_users before any table changes (ingest rejects the user from then on)."""
    row = spark.table(OPS_FORGOTTEN_USERS).where(F.col("user_id") == stored_id).first()
    if row is not None and not row["completed"]:
        return row["forgotten_at"]
    started = datetime.now().replace(microsecond=0)
    source = spark.createDataFrame(
        [(stored_id, started, False)], "user_id string, forgotten_at timestamp, completed boolean"
    )
    (
        delta_table(spark, OPS_FORGOTTEN_USERS, settings)
        .alias("t")
        .merge(source.alias("s"), "t.user_id = s.user_id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    return started


def already_applied(spark: SparkSession, settings: Settings, tag: str) -> bool:
    history = delta_table(spark, GOLD_COOCCURRENCE, settings).history()
    return history.where(F.col("userMetadata") == tag).limit(1).count() > 0


def forget_graph(
    spark: SparkSession, settings: Settings, stored_id: str, started: datetime
) -> None:
    tag = forget_tag(stored_id, started)
    absorbed = last_absorbed(spark, settings, GOLD_COOCCURRENCE)
    if absorbed is None or already_applied(spark, settings, tag):
        return
    sessions = spark.table(SILVER_SESSIONS).where(
        (F.col("user_id") == stored_id) & (F.col("ds") <= F.lit(absorbed.last))
    )
    removal = cooccurrence_removal(
        sessions, spark.table(SILVER_ITEM_IDS), spark.table(GOLD_COOCCURRENCE), settings
    ).localCheckpoint()
    subtract_cooccurrence(spark, settings, removal)


def user_index(spark: SparkSession, stored_id: str) -> int | None:
    row = spark.table(SILVER_USER_IDS).where(F.col("user_id") == stored_id).first()
    return None if row is None else int(row["user_idx"])


def delete_rows(spark: SparkSession, settings: Settings, table: str, condition: Column) -> int:
    before = spark.table(table).where(condition).count()
    if before:
        delta_table(spark, table, settings).delete(condition)
    return before


def run(spark: SparkSession, settings: Settings, raw_id: str) -> dict[str, int]:
    """Removes the user; returns the rows deleted per table (and ``user_idx``, 0 if unknown)."""
    stored_id = settings.stored_user_ids()(raw_id)
    started = removal_started(spark, settings, stored_id)
    with commit_metadata(spark, forget_tag(stored_id, started)):
        return remove(spark, settings, raw_id.strip(" "), stored_id, started)


def remove(
    spark: SparkSession, settings: Settings, raw_id: str, stored_id: str, started: datetime
) -> dict[str, int]:
    idx = user_index(spark, stored_id)
    counts = {"user_idx": idx or 0}
    if idx is not None:
        forget_graph(spark, settings, stored_id, started)  # before its sessions are gone
        for table in BY_INDEX:
            counts[table] = delete_rows(spark, settings, table, F.col("user_idx") == idx)
    for table in BY_ID:
        counts[table] = delete_rows(spark, settings, table, F.col("user_id") == stored_id)
    counts[BRONZE_REJECTED] = delete_rows(
        spark, settings, BRONZE_REJECTED, in_raw_text(raw_id, stored_id)
    )
    if idx is not None:
        delta_table(spark, SILVER_USER_IDS, settings).update(
            F.col("user_id") == stored_id, {"user_id": F.lit(f"forgotten:{idx}")}
        )
    delta_table(spark, OPS_FORGOTTEN_USERS, settings).update(
        F.col("user_id") == stored_id, {"completed": F.lit(True)}
    )
    return counts


def purge(spark: SparkSession, settings: Settings) -> None:
    """VACUUM the touched tables keeping no history: the removed rows leave the disk now."""
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        vacuum_tables(spark, settings, TOUCHED, 0)
    finally:
        spark.conf.unset("spark.databricks.delta.retentionDurationCheck.enabled")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="forget", description="Remove one user everywhere.")
    parser.add_argument("--user-id", required=True, help="the raw user id, as in the logs")
    parser.add_argument("--purge-now", action="store_true", help="VACUUM with no retention")
    args = parser.parse_args(argv)
    settings = Settings()
    spark = build_session("interest-forget", settings)
    try:
        with one_line_errors("forget-user"):
            register_tables(spark, settings)
            counts = run(spark, settings, args.user_id)
            if args.purge_now:
                purge(spark, settings)
    finally:
        spark.stop()
    print(json.dumps({"job": "forget", "counts": counts, "purged": args.purge_now}))


if __name__ == "__main__":
    main()
