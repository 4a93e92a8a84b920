"""SparkSession construction shared by every job (never sets the master: spark-submit does)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from jobs.submit import delta_jars
from warehouse.settings import Settings
from warehouse.storage import is_local, s3a_conf


def retention_properties(settings: Settings) -> dict[str, str]:
    """How long a Delta table keeps its history (log and unused files): the rollback window."""
    window = f"interval {settings.retention_days} days"
    return {"delta.logRetentionDuration": window, "delta.deletedFileRetentionDuration": window}


def spark_conf(settings: Settings) -> dict[str, str]:
    """Configuration every job's session is built with (inside spark-submit too: a job's
    SparkContext starts when it builds its session; only the driver's JVM options and memory
    must be on spark-submit's command line)."""
    return {
        "spark.jars": ",".join(delta_jars(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # HotSpot never JIT-compiles a method over 8,000 bytes of bytecode; Spark's default lets
        # whole-stage code grow to 64 KB, and ingest's parse-and-check stage then runs
        # interpreted (1M records: 7.9 s instead of 5.3). Above the limit Spark falls back to
        # per-operator code in smaller methods.
        "spark.sql.codegen.hugeMethodLimit": "8000",
        # Delta rebuilds a table's snapshot after every commit with 50 tasks by default: on a
        # small log that is seconds of pure overhead per commit.
        "spark.databricks.delta.snapshotPartitions": str(settings.delta_snapshot_partitions),
        "spark.sql.warehouse.dir": str(settings.home / "spark-warehouse"),
        # Petastorm reads the live Parquet files directly, which ignores deletion vectors.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        # Raw .zst logs: Hadoop's own zstd codec needs a native library pyspark does not ship;
        # this pure-Java one is on Spark's classpath already (gzip and bz2 stay Hadoop's).
        "spark.hadoop.io.compression.codecs": "io.airlift.compress.zstd.ZstdCodec",
        **{
            f"spark.databricks.delta.properties.defaults.{k.removeprefix('delta.')}": v
            for k, v in retention_properties(settings).items()
        },
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": str(settings.spark_ui).lower(),
        # Used where Python starts the JVM (in-process sessions: queries, tests); spark-submit
        # gets the same on its command line.
        "spark.driver.extraJavaOptions": settings.driver_java_options,
        **({} if is_local(settings.home) else s3a_conf()),
        **settings.extra_spark_conf,
    }


def build_session(app_name: str, settings: Settings, master: str | None = None) -> SparkSession:
    """A Delta-enabled session. ``master`` is only for tests and tools; jobs leave it to
    spark-submit."""
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
