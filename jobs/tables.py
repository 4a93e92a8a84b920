"""The table contract: every table's name, location and DDL (schemas live in sql/ddl/*.sql).

Tables are addressed by ``layer.table`` everywhere (jobs, CLI, analysts' SQL); their folders are
derived from the warehouse root, so no path is written anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import REPO_ROOT, Settings

DDL_DIR = REPO_ROOT / "sql" / "ddl"

BRONZE_EVENTS = "bronze.events"
BRONZE_REJECTED = "bronze.events_rejected"
SILVER_SESSIONS = "silver.sessions"
SILVER_USER_IDS = "silver.user_ids"
SILVER_ITEM_IDS = "silver.item_ids"
SILVER_USER_RECENT = "silver.user_recent"
GOLD_AFFINITY = "gold.user_item_affinity"
GOLD_COOCCURRENCE = "gold.item_cooccurrence"
GOLD_EXAMPLES = "gold.training_examples"
OPS_JOB_RUNS = "ops.job_runs"
OPS_GRAPH_LOG = "ops.graph_log"
OPS_MODEL_METRICS = "ops.model_metrics"
OPS_PUBLICATIONS = "ops.publications"
SERVING_USERS = "serving.user_interest_vectors"
SERVING_ITEMS = "serving.item_vectors"

# Creation order matters only for views, which come after the tables they read.
TABLES = [
    BRONZE_EVENTS,
    BRONZE_REJECTED,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_ITEM_IDS,
    SILVER_USER_RECENT,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    GOLD_EXAMPLES,
    OPS_JOB_RUNS,
    OPS_GRAPH_LOG,
    OPS_MODEL_METRICS,
    OPS_PUBLICATIONS,
    SERVING_USERS,
    SERVING_ITEMS,
]
VIEWS = [
    "gold.user_item_affinity_current",
    "gold.item_cooccurrence_current",
    "serving.user_interest_vectors_current",
    "serving.item_vectors_current",
]


def ddl_path(name: str) -> Path:
    return DDL_DIR / f"{name}.sql"


def render_ddl(name: str, settings: Settings) -> str:
    """The DDL of a table or view with its location and settings filled in."""
    text = ddl_path(name).read_text()
    return text.format(
        location=settings.table_path(name).as_posix(), half_life_days=settings.half_life_days
    )


def register_tables(spark: SparkSession, settings: Settings) -> None:
    """Create (if missing) every table at its location and name it in this session's catalog.

    The catalog is in-memory (no metastore to run or lock): each session registers the tables,
    which is a metadata-only operation, so ``SELECT ... FROM gold.item_cooccurrence`` just works.
    """
    for layer in sorted({name.split(".")[0] for name in TABLES + VIEWS}):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
    for name in TABLES + VIEWS:
        spark.sql(render_ddl(name, settings))
