"""Every table named in a Spark session's catalog, created from its DDL (warehouse/tables.py).

Delta checks an existing table against its DDL, comments included; when it refuses, the table is
checked again by columns, types, nullability and partitioning only, so that a reworded column
comment does not stop every job on every warehouse made before it. A nullable column the DDL has
gained since the table was made is added to it by the first job that writes (old rows read it as
null), so that upgrading the product needs no migration step.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql.types import StructField, StructType

from warehouse.settings import Settings
from warehouse.tables import (
    LAYERS,
    TABLES,
    VIEWS,
    ddl_path,
    declared_columns,
    declared_partitioning,
    render_ddl,
)


class TableContractError(RuntimeError):
    """A table on disk does not have the columns or partitioning its DDL declares."""


def declared_schema(name: str) -> StructType:
    """The columns sql/ddl/<name>.sql declares, with their comments (needs a Spark session)."""
    return StructType.fromDDL(declared_columns(name))


def contract_drift(
    declared: StructType, partitioning: list[str], existing: StructType, partitioned: list[str]
) -> list[str]:
    """How an existing table differs from its DDL, comments aside (empty when it conforms)."""

    def shape(schema: StructType) -> dict[str, str]:
        return {
            f.name: f.dataType.simpleString() + ("" if f.nullable else " not null") for f in schema
        }

    want, have = shape(declared), shape(existing)
    drift = [
        f"{column}: declared {want.get(column, 'absent')}, found {have.get(column, 'absent')}"
        for column in dict.fromkeys([*want, *have])
        if want.get(column) != have.get(column)
    ]
    if partitioning != partitioned:
        drift.append(f"partitioned by: declared {partitioning}, found {partitioned}")
    return drift


def added_columns(declared: StructType, existing: StructType) -> list[StructField]:
    """Nullable columns of the DDL that the table does not have yet (added on upgrade)."""
    return [f for f in declared if f.nullable and f.name not in existing.fieldNames()]


def column_ddl(field: StructField) -> str:
    comment = field.metadata.get("comment")
    return f"{field.name} {field.dataType.simpleString()}" + (
        f" COMMENT '{quoted(comment)}'" if comment else ""
    )


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def comment_drift(declared: StructType, existing: StructType) -> dict[str, str]:
    """Column -> the comment its DDL declares, for columns whose comment on disk differs."""
    found = {f.name: f.metadata.get("comment") for f in existing}
    return {
        f.name: f.metadata["comment"]
        for f in declared
        if f.name in found and "comment" in f.metadata and found[f.name] != f.metadata["comment"]
    }


def register_existing(
    spark: SparkSession, name: str, settings: Settings, sync_comments: bool
) -> None:
    """Name an existing table in the catalog, after checking it against its DDL; with
    ``sync_comments``, give its columns the DDL's comments (a metadata commit per reworded
    column, none when all match)."""
    location = settings.table_path(name).as_posix()
    spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{location}'")
    declared, existing = declared_schema(name), spark.table(name).schema
    partitioned = DeltaTable.forPath(spark, location).detail().first()["partitionColumns"]
    added = added_columns(declared, existing)
    drift = contract_drift(
        StructType([f for f in declared if f not in added]),
        declared_partitioning(name),
        existing,
        list(partitioned),
    )
    if drift:
        raise TableContractError(
            f"{name} at {location} does not match {ddl_path(name).name}: {'; '.join(drift)}"
        )
    if not sync_comments:
        return  # readers see the table as it is, without the columns a writer will add
    if added:
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({', '.join(column_ddl(f) for f in added)})")
    for column, comment in comment_drift(declared, existing).items():
        spark.sql(f"ALTER TABLE {name} ALTER COLUMN {column} COMMENT '{quoted(comment)}'")


def register_tables(spark: SparkSession, settings: Settings, sync_comments: bool = False) -> None:
    """Create (if missing) every table at its location and name it in this session's catalog.

    The catalog is in-memory (no metastore to run or lock): each session registers the tables,
    which is a metadata-only operation, so ``SELECT ... FROM gold.item_cooccurrence`` just works.
    Jobs that write pass ``sync_comments`` so reworded DDL comments reach existing tables; readers
    (analysts' SQL) never write.
    """
    for layer in LAYERS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
    for name in TABLES:
        try:
            spark.sql(render_ddl(name, settings))
        except AnalysisException as exc:
            # Delta compares comments too: tell a reworded comment from a real difference
            if exc.getCondition() != "DELTA_CREATE_TABLE_SCHEME_MISMATCH":
                raise
            register_existing(spark, name, settings, sync_comments)
    for name in VIEWS:
        spark.sql(render_ddl(name, settings))
