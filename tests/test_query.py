import pytest

from jobs.query import WriteRefused, refuse_writes

pytestmark = pytest.mark.spark

READS = [
    "SELECT * FROM bronze.events WHERE ds = '2026-01-01' LIMIT 3",
    "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
    "SELECT * FROM delta.`/tmp/somewhere` VERSION AS OF 1",
    "SHOW TABLES IN gold",
    "DESCRIBE TABLE bronze.events",
    "DESCRIBE HISTORY serving.user_interest_vectors",
    "EXPLAIN SELECT 1",
]
WRITES = [
    "INSERT INTO bronze.events SELECT * FROM bronze.events",
    "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a",
    "FROM s INSERT INTO t SELECT * INSERT INTO u SELECT *",
    "INSERT OVERWRITE DIRECTORY '/tmp/out' SELECT 1",
    "DELETE FROM bronze.events WHERE true",
    "UPDATE t SET a = 1",
    "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
    "DROP TABLE bronze.events",
    "CREATE TABLE x AS SELECT 1",
    "TRUNCATE TABLE t",
    "ALTER TABLE t ADD COLUMN c INT",
    "RESTORE TABLE t TO VERSION AS OF 1",
    "OPTIMIZE t",
    "VACUUM t",
    "SET spark.sql.shuffle.partitions = 1",
]


@pytest.mark.parametrize("sql", READS)
def test_reads_pass(spark, sql: str) -> None:
    refuse_writes(spark, sql)


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused_before_they_run(spark, sql: str) -> None:
    with pytest.raises(WriteRefused, match="analyst SQL is read-only: .* refused"):
        refuse_writes(spark, sql)
