"""One session-scoped Spark (local[2], Delta, shuffle partitions 1) over a temp warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interest-home")


@pytest.fixture(scope="session")
def settings(warehouse: Path):
    from jobs.config import Settings

    return Settings(home=warehouse, spark_shuffle_partitions=1)


@pytest.fixture(scope="session")
def spark(settings) -> Iterator:
    from jobs.spark import build_session
    from jobs.tables import register_tables

    session = build_session("interest-tests", settings, master="local[2]")
    register_tables(session, settings)
    yield session
    session.stop()
