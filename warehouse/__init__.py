"""The warehouse contract: what every part of the product agrees on, with neither Spark nor torch.

Settings, table names and DDL, Spark-free Delta reads, the ETL step registry, the graph's commit
tags and decay, the day-order decision, the publish hand-off. ``jobs/`` (Spark) and ``models/``
(torch) meet only here; the CLI and the Airflow tasks that need no engine import only this.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
