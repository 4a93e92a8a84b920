"""The table contract: every table's name, layer and DDL (schemas live in sql/ddl/*.sql).

Tables are addressed by ``layer.table`` everywhere (jobs, models, CLI, analysts' SQL); their
folders are derived from the warehouse root (``Settings.table_path``), so no path is written
anywhere else. Which step writes which table is the step registry's (warehouse/steps.py).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse import SQL_DIR

if TYPE_CHECKING:
    from warehouse.settings import Settings

DDL_DIR = SQL_DIR / "ddl"

BRONZE_EVENTS = "bronze.events"
BRONZE_REJECTED = "bronze.events_rejected"
SILVER_SESSIONS = "silver.sessions"
SILVER_USER_IDS = "silver.user_ids"
SILVER_ITEM_IDS = "silver.item_ids"
SILVER_USER_RECENT = "silver.user_recent"
GOLD_AFFINITY = "gold.user_item_affinity"
GOLD_COOCCURRENCE = "gold.item_cooccurrence"
GOLD_SEQUENCES = "gold.training_sequences"
OPS_JOB_RUNS = "ops.job_runs"
OPS_GRAPH_LOG = "ops.graph_log"
OPS_MODEL_METRICS = "ops.model_metrics"
OPS_PUBLICATIONS = "ops.publications"
OPS_FORGOTTEN_USERS = "ops.forgotten_users"
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
    GOLD_SEQUENCES,
    OPS_JOB_RUNS,
    OPS_GRAPH_LOG,
    OPS_MODEL_METRICS,
    OPS_PUBLICATIONS,
    OPS_FORGOTTEN_USERS,
    SERVING_USERS,
    SERVING_ITEMS,
]
VIEWS = [
    "gold.user_item_affinity_current",
    "gold.item_cooccurrence_current",
    "serving.user_interest_vectors_current",
    "serving.item_vectors_current",
]
LAYERS = sorted({name.split(".")[0] for name in TABLES + VIEWS})


def ddl_path(name: str) -> Path | zipfile.Path:
    return DDL_DIR / f"{name}.sql"


def render_ddl(name: str, settings: Settings) -> str:
    """The DDL of a table or view with its location and settings filled in."""
    text = ddl_path(name).read_text()
    return text.format(
        location=settings.table_path(name).as_posix(), half_life_days=settings.half_life_days
    )


def declared_columns(name: str) -> str:
    """The column list of sql/ddl/<name>.sql, as Spark DDL text."""
    text = ddl_path(name).read_text()
    header = rf"TABLE IF NOT EXISTS {re.escape(name)} \((.*)\)\s*USING DELTA"
    columns = re.search(header, text, re.S)
    if columns is None:
        raise ValueError(f"{ddl_path(name)}: no column list found")
    return columns.group(1)


def declared_partitioning(name: str) -> list[str]:
    match = re.search(r"PARTITIONED BY \(([^)]*)\)", ddl_path(name).read_text())
    return [column.strip() for column in match.group(1).split(",")] if match else []
