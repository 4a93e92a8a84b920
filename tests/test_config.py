from pathlib import Path

import pytest
from pydantic import ValidationError

from jobs.config import Settings


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INTEREST_HOME", str(tmp_path))
    monkeypatch.setenv("INTEREST_SESSION_GAP_MINUTES", "45")
    monkeypatch.setenv("INTEREST_EVENT_WEIGHTS", '{"view": 1, "like": 4}')
    settings = Settings()
    assert settings.session_gap_minutes == 45
    assert settings.event_weights == {"view": 1.0, "like": 4.0}
    assert (
        settings.table_path("gold.item_cooccurrence") == tmp_path / "tables/gold/item_cooccurrence"
    )
    assert settings.raw_day_dir("2026-01-02") == tmp_path / "raw/ds=2026-01-02"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEREST_HALF_LIFE_DAYS", "0")
    with pytest.raises(ValidationError, match="half_life_days"):
        Settings()
