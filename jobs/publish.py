"""publish: load a night's staged vectors, metrics and gate decision into Delta.

The model side (``interest stage``) stages the night's hand-off (warehouse/publication.py):
the manifest (model version, the gate's decision and reason, metrics) and, when the gate passed,
``users.parquet`` and ``items.parquet``. This job then commits, in this order:
ops.model_metrics; serving.item_vectors for (ds, model_version); serving.user_interest_vectors for
ds — ONE commit that is the publish point: until it lands, readers of the *_current views keep
seeing the previous complete publication; ops.publications. A rerun replaces the same rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.delta_io import overwrite_day, read_day, replace_where
from jobs.jobmain import job_main
from warehouse.publication import COLD_START_ID, Manifest, StageError
from warehouse.settings import Settings
from warehouse.tables import (
    OPS_MODEL_METRICS,
    OPS_PUBLICATIONS,
    SERVING_ITEMS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
    SILVER_USER_IDS,
)


def with_user_ids(users: DataFrame, user_ids: DataFrame, ds: date, manifest: Manifest) -> DataFrame:
    """Staged user vectors with their raw ids; user_idx 0 is the cold-start row."""
    return users.join(user_ids.select("user_idx", "user_id"), "user_idx", "left").select(
        F.coalesce("user_id", F.when(F.col("user_idx") == 0, F.lit(COLD_START_ID))).alias(
            "user_id"
        ),
        "user_idx",
        F.lit(ds).alias("ds"),
        F.lit(manifest.model_version).alias("model_version"),
        "fused",
        "long_term",
        "short_term",
        "gate",
        F.current_timestamp().alias("updated_at"),
        F.lit(manifest.mlflow_run_id).cast("string").alias("mlflow_run_id"),
    )


def with_item_ids(items: DataFrame, item_ids: DataFrame, ds: date, manifest: Manifest) -> DataFrame:
    return items.join(item_ids.select("item_idx", "item_id"), "item_idx", "left").select(
        "item_id",
        "item_idx",
        F.lit(ds).alias("ds"),
        F.lit(manifest.model_version).alias("model_version"),
        "vector",
        F.current_timestamp().alias("updated_at"),
        F.lit(manifest.mlflow_run_id).cast("string").alias("mlflow_run_id"),
    )


def metrics_rows(spark: SparkSession, manifest: Manifest, ds: date) -> DataFrame:
    rows = [
        (ds, manifest.model_version, m.protocol, m.split, m.model, m.metric, m.value)
        for m in manifest.metrics
    ]
    schema = (
        "ds date, model_version string, protocol string, split string, model string, "
        "metric string, value double"
    )
    return spark.createDataFrame(rows, schema).withColumn("recorded_at", F.current_timestamp())


def publication_row(spark: SparkSession, manifest: Manifest, ds: date, users: int) -> DataFrame:
    row = (
        ds, manifest.model_version, str(manifest.decision), manifest.reason,
        manifest.candidate_ndcg10, manifest.previous_version, manifest.previous_ndcg10, users,
    )  # fmt: skip
    schema = (
        "ds date, model_version string, decision string, reason string, candidate_ndcg10 double, "
        "previous_version string, previous_ndcg10 double, users bigint"
    )
    return spark.createDataFrame([row], schema).select(
        "*",
        F.current_timestamp().alias("decided_at"),
        F.lit(manifest.mlflow_run_id).cast("string").alias("mlflow_run_id"),
    )


def write_items(
    spark: SparkSession, settings: Settings, stage: Path, ds: date, manifest: Manifest
) -> int:
    items = with_item_ids(
        spark.read.parquet(str(stage / "items.parquet")), spark.table(SILVER_ITEM_IDS), ds, manifest
    )
    missing = items.where(F.col("item_id").isNull()).count()
    if missing:
        raise StageError(f"{missing} staged items have no id in {SILVER_ITEM_IDS}")
    where = f"ds = DATE'{ds}' AND model_version = '{manifest.model_version}'"
    replace_where(items, SERVING_ITEMS, where, settings)
    return spark.table(SERVING_ITEMS).where(where).count()


def write_users(
    spark: SparkSession, settings: Settings, stage: Path, ds: date, manifest: Manifest
) -> int:
    staged = spark.read.parquet(str(stage / "users.parquet"))
    users = with_user_ids(staged, spark.table(SILVER_USER_IDS), ds, manifest)
    missing = users.where(F.col("user_id").isNull()).count()
    if missing:
        raise StageError(f"{missing} staged users have no id in {SILVER_USER_IDS}")
    overwrite_day(users, SERVING_USERS, ds, settings)  # the publish point
    written = read_day(spark, SERVING_USERS, ds).count()
    if written != staged.count():
        raise StageError(f"published {written} user rows, staged {staged.count()}")
    return written


def run(spark: SparkSession, settings: Settings, ds: date) -> dict[str, int]:
    stage = settings.publish_stage_dir(ds.isoformat())
    manifest = Manifest.read(stage)
    version = manifest.model_version
    replace_where(metrics_rows(spark, manifest, ds), OPS_MODEL_METRICS,
                  f"ds = DATE'{ds}' AND model_version = '{version}'", settings)  # fmt: skip
    counts = {"metrics": len(manifest.metrics), "items": 0, "users": 0}
    if manifest.published:
        counts["items"] = write_items(spark, settings, stage, ds, manifest)
        counts["users"] = write_users(spark, settings, stage, ds, manifest)
    overwrite_day(publication_row(spark, manifest, ds, counts["users"]), OPS_PUBLICATIONS, ds,
                  settings)  # fmt: skip
    return counts


if __name__ == "__main__":
    job_main("publish", run)
