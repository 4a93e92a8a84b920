"""One session-scoped Spark (local[2], Delta, shuffle partitions 1); each test that writes tables
gets its own warehouse (``make_warehouse``), registered in that same session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # pyspark.testing imports pyspark.pandas


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from jobs.config import Settings
    from jobs.spark import build_session

    home = tmp_path_factory.mktemp("spark-home")
    session = build_session(
        "interest-tests", Settings(home=home, spark_shuffle_partitions=1), "local[2]"
    )
    yield session
    session.stop()


@pytest.fixture
def make_warehouse(spark, tmp_path: Path) -> Callable:
    """Returns settings over a fresh warehouse under tmp_path (or ``home``), with the tables
    registered (a second call switches the session's tables to the new warehouse)."""
    from jobs.config import Settings
    from jobs.tables import TABLES, VIEWS, register_tables

    def make(home: Path | None = None, **overrides):
        home = home or tmp_path / "home"
        settings = Settings(home=home, spark_shuffle_partitions=1, **overrides)
        for layer in sorted({n.split(".")[0] for n in TABLES + VIEWS}):
            spark.sql(f"DROP DATABASE IF EXISTS {layer} CASCADE")
        register_tables(spark, settings)
        return settings

    return make
