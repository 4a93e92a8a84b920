import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from jobs.spark import spark_conf
from warehouse.settings import Settings


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INTEREST_HOME", str(tmp_path))
    monkeypatch.setenv("INTEREST_SESSION_GAP_MINUTES", "45")
    monkeypatch.setenv("INTEREST_EVENT_WEIGHTS", '{"view": 1, "like": 4}')
    monkeypatch.setenv("INTEREST_EXTRA_SPARK_CONF", '{"spark.sql.codegen.wholeStage": "false"}')
    settings = Settings()
    assert settings.session_gap_minutes == 45
    assert settings.event_weights == {"view": 1.0, "like": 4.0}
    assert spark_conf(settings)["spark.sql.codegen.wholeStage"] == "false"
    assert (
        settings.table_path("gold.item_cooccurrence") == tmp_path / "tables/gold/item_cooccurrence"
    )
    assert settings.raw_day_dir("2026-01-02") == tmp_path / "raw/ds=2026-01-02"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEREST_HALF_LIFE_DAYS", "0")
    with pytest.raises(ValidationError, match="half_life_days"):
        Settings()


def test_driver_java_options_add_the_class_archive_when_recorded(tmp_path: Path) -> None:
    settings = Settings(jars_dir=tmp_path, spark_driver_java_options="-XX:TieredStopAtLevel=1")
    assert settings.driver_java_options == "-XX:TieredStopAtLevel=1"
    settings.spark_class_archive.write_bytes(b"archive")
    assert settings.driver_java_options == (
        f"-XX:TieredStopAtLevel=1 -XX:SharedArchiveFile={tmp_path / 'spark-classes.jsa'}"
    )


@pytest.mark.spark
def test_spark_driver_loads_its_classes_from_the_recorded_archive() -> None:
    """The archive scripts/setup.sh recorded matches the driver's classpath: a JVM given one that
    does not match silently loads from the jars, and the seconds it saves are lost."""
    archive = Settings().spark_class_archive
    assert archive.is_file(), f"no class-data archive at {archive}: run scripts/setup.sh"
    start = "from warehouse.settings import Settings; from jobs.spark import build_session; "
    code = start + "build_session('class-archive-check', Settings(), 'local[1]').stop()"
    env = {**os.environ, "INTEREST_SPARK_DRIVER_JAVA_OPTIONS": "-Xlog:class+load=info"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = [line for line in run.stdout.splitlines() if "[class,load]" in line]
    from_archive = [line for line in loaded if "source: shared objects file (top)" in line]
    assert len(from_archive) > len(loaded) / 2, f"{len(from_archive)} of {len(loaded)} classes"
