"""The table contract on warehouses an earlier version made: a reworded DDL comment reaches them
through the writing jobs, and a table whose columns differ from its DDL is refused in one line."""

import pytest
from conftest import register, table_versions
from delta.tables import DeltaTable
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

from jobs.catalog import TableContractError, comment_drift, contract_drift, declared_schema
from warehouse.tables import OPS_JOB_RUNS, OPS_PUBLICATIONS, TABLES, declared_partitioning

pytestmark = pytest.mark.spark


def column_comment(spark, name: str, column: str) -> str:
    return next(f for f in spark.table(name).schema if f.name == column).metadata["comment"]


def test_contract_drift_names_each_difference_but_not_comments() -> None:
    declared = StructType(
        [
            StructField("a", IntegerType(), False, {"comment": "new wording"}),
            StructField("b", StringType(), True),
        ]
    )
    reworded = StructType(
        [
            StructField("a", IntegerType(), False, {"comment": "old wording"}),
            StructField("b", StringType(), True),
        ]
    )
    assert contract_drift(declared, ["a"], reworded, ["a"]) == []
    assert comment_drift(declared, reworded) == {"a": "new wording"}

    changed = StructType(
        [StructField("a", DoubleType(), True), StructField("c", StringType(), True)]
    )
    assert contract_drift(declared, ["a"], changed, []) == [
        "a: declared int not null, found double",
        "b: declared string, found absent",
        "c: declared absent, found string",
        "partitioned by: declared ['a'], found []",
    ]


def test_every_fresh_table_is_what_its_ddl_declares(spark, make_warehouse) -> None:
    settings = make_warehouse()
    for name in TABLES:
        table = DeltaTable.forPath(spark, settings.table_path(name).as_posix())
        partitioned = list(table.detail().first()["partitionColumns"])
        existing = spark.table(name).schema
        declared = declared_schema(name)
        assert contract_drift(declared, declared_partitioning(name), existing, partitioned) == []
        assert comment_drift(declared, existing) == {}, name
        assert all("comment" in f.metadata for f in declared), name


def test_a_reworded_comment_reaches_an_existing_table_through_the_writing_jobs(
    spark, make_warehouse
) -> None:
    settings = make_warehouse()
    # as a warehouse made before the DDL's comment was reworded
    spark.sql(f"ALTER TABLE {OPS_JOB_RUNS} ALTER COLUMN job COMMENT 'an earlier wording'")
    before = table_versions(settings)[OPS_JOB_RUNS]

    register(spark, settings)  # a reader (analysts' SQL): registers, never writes
    assert column_comment(spark, OPS_JOB_RUNS, "job") == "an earlier wording"
    assert table_versions(settings)[OPS_JOB_RUNS] == before

    register(spark, settings, sync_comments=True)  # a nightly job
    assert column_comment(spark, OPS_JOB_RUNS, "job") == (
        "ingest | sessionize | ids | graph | examples | publish"
    )
    assert table_versions(settings)[OPS_JOB_RUNS] == before + 1

    register(spark, settings, sync_comments=True)  # the next night: nothing to change
    assert table_versions(settings)[OPS_JOB_RUNS] == before + 1


def test_a_table_whose_columns_differ_from_its_ddl_is_refused(spark, make_warehouse) -> None:
    settings = make_warehouse()
    spark.sql(f"ALTER TABLE {OPS_PUBLICATIONS} ADD COLUMNS (reviewer STRING)")
    before = table_versions(settings)[OPS_PUBLICATIONS]
    with pytest.raises(TableContractError) as refused:
        register(spark, settings, sync_comments=True)
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        f"{OPS_PUBLICATIONS} at {settings.table_path(OPS_PUBLICATIONS).as_posix()} does not "
        "match ops.publications.sql: reviewer: declared absent, found string"
    )
    assert table_versions(settings)[OPS_PUBLICATIONS] == before


def test_a_nullable_column_the_ddl_gained_is_added_by_the_first_writing_job(
    spark, make_warehouse, tmp_path
) -> None:
    from datetime import date, datetime

    from warehouse.settings import Settings

    # ops.publications as a warehouse made before its DDL gained mlflow_run_id holds it
    settings = Settings(home=tmp_path / "earlier", spark_shuffle_partitions=1)
    earlier = StructType(
        [f for f in declared_schema(OPS_PUBLICATIONS) if f.name != "mlflow_run_id"]
    )
    row = (date(2026, 1, 2), "v1", "published", "first", 0.1, None, None, 5, datetime(2026, 1, 3))
    location = settings.table_path(OPS_PUBLICATIONS).as_posix()
    DeltaTable.create(spark).location(location).addColumns(earlier).execute()
    spark.createDataFrame([row], earlier).write.format("delta").mode("append").save(location)
    make_warehouse(settings.home)  # a reader: the table stays as it is
    assert "mlflow_run_id" not in spark.table(OPS_PUBLICATIONS).columns
    before = table_versions(settings)[OPS_PUBLICATIONS]

    register(spark, settings, sync_comments=True)  # a nightly job
    assert spark.table(OPS_PUBLICATIONS).select("model_version", "mlflow_run_id").collect() == [
        ("v1", None)
    ]
    assert column_comment(spark, OPS_PUBLICATIONS, "mlflow_run_id").startswith("MLflow run")
    assert table_versions(settings)[OPS_PUBLICATIONS] == before + 1
    register(spark, settings, sync_comments=True)  # the next night: nothing to change
    assert table_versions(settings)[OPS_PUBLICATIONS] == before + 1
