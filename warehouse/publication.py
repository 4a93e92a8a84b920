"""The publish hand-off: what the model side stages for a night and the Spark publish job commits.

``interest stage`` (models/nightly.py) writes ``manifest.json`` under
``Settings.publish_stage_dir(ds)`` — the model version, the gate's decision and why, the next-day
metrics — and, when the gate passed, ``users.parquet`` and ``items.parquet``. The publish job
(jobs/publish.py) reads it back; ops.publications keeps the decision per night.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

# The metrics of every evaluation (ops.model_metrics.metric), in report order.
METRICS = ("recall@10", "ndcg@10", "recall@20", "ndcg@20", "mrr@10")
# user_id of the published row (user_idx 0) that users without any history get.
COLD_START_ID = "__cold_start__"
MANIFEST = "manifest.json"


class Decision(StrEnum):
    """The gate's decision for a night (ops.publications.decision)."""

    PUBLISHED = "published"
    REFUSED = "refused"
    ROLLED_BACK = "rolled_back"  # published, then taken back by `interest rollback`


class MetricRow(BaseModel):
    """One row of ops.model_metrics (without ds and model version)."""

    protocol: str  # "B": next day
    split: str  # "test"
    model: str  # candidate | previous | popularity | item_knn
    metric: str
    value: float


class StageError(RuntimeError):
    """The staged publication is missing or inconsistent."""


class Manifest(BaseModel):
    """What a night's gate decided, staged for the publish job."""

    model_version: str
    mlflow_run_id: str | None = None  # the run that trained it (models/tracking.py)
    decision: Decision
    reason: str
    candidate_ndcg10: float
    previous_version: str | None = None
    previous_ndcg10: float | None = None
    metrics: list[MetricRow]

    @property
    def published(self) -> bool:
        return self.decision is Decision.PUBLISHED

    def write(self, stage: Path) -> None:
        (stage / MANIFEST).write_text(self.model_dump_json(indent=2))

    @classmethod
    def read(cls, stage: Path) -> Manifest:
        path = stage / MANIFEST
        if not path.exists():
            raise StageError(f"nothing staged at {stage}: run `interest publish` for this day")
        return cls.model_validate_json(path.read_text())
