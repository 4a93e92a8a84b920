"""What a night decided, read back from the tables its publish job wrote (ops.publications,
ops.model_metrics): the gate's decision and the candidate's next-day test metrics beside the last
published model and the baselines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow.compute as pc

from warehouse.lake import TableNotReady, read_arrow
from warehouse.publication import METRICS, Decision
from warehouse.settings import Settings
from warehouse.tables import OPS_MODEL_METRICS, OPS_PUBLICATIONS, SERVING_USERS


@dataclass(frozen=True)
class NightReport:
    ds: date
    model_version: str
    decision: Decision
    reason: str
    users: int
    metrics: dict[str, dict[str, float]]  # model -> metric -> value, next day, test users

    @property
    def published(self) -> bool:
        return self.decision is Decision.PUBLISHED

    def lines(self) -> list[str]:
        """Plain-text report (Airflow task logs)."""
        width = max(len(m) for m in self.metrics) if self.metrics else 0
        header = f"{'model':<{width}}  " + "  ".join(f"{m:>9}" for m in METRICS)
        rows = [
            f"{name:<{width}}  " + "  ".join(f"{values[m]:>9.4f}" for m in METRICS)
            for name, values in self.metrics.items()
        ]
        where = f"{SERVING_USERS} (ds={self.ds}, {self.users:,} users)"
        return [
            f"night {self.ds}: {self.decision.upper()} model {self.model_version}: {self.reason}",
            *([f"vectors: {where}"] if self.published else []),
            f"next-day test metrics ({OPS_MODEL_METRICS}):",
            header,
            *rows,
        ]


def night_report(settings: Settings, ds: date) -> NightReport:
    try:
        decided = read_arrow(settings, OPS_PUBLICATIONS, None, (ds, ds)).to_pylist()
    except TableNotReady:
        decided = []
    if not decided:
        raise TableNotReady(f"no publish decision for {ds} in {OPS_PUBLICATIONS}: run publish")
    row = decided[0]
    metrics = read_arrow(settings, OPS_MODEL_METRICS, None, (ds, ds))
    ours = pc.and_(
        pc.equal(metrics["model_version"], row["model_version"]), pc.equal(metrics["split"], "test")
    )
    values: dict[str, dict[str, float]] = {}
    for m in metrics.filter(ours).to_pylist():
        values.setdefault(m["model"], {})[m["metric"]] = m["value"]
    return NightReport(
        ds, row["model_version"], Decision(row["decision"]), row["reason"], row["users"], values
    )
