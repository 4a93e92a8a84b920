"""The warehouse contract: what every part of the product agrees on, with neither Spark nor torch.

Settings, table names and DDL, Spark-free Delta reads, the ETL step registry, the graph's commit
tags and decay, the day-order decision, the publish hand-off. ``jobs/`` (Spark) and ``models/``
(torch) meet only here; the CLI and the Airflow tasks that need no engine import only this.
"""

import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The product's SQL (every table's DDL, the analyst queries). A Spark job on a cluster imports
# this package from the zip spark-submit shipped (jobs/submit.py), which holds sql/ too: read it
# there, not from a checkout the driver may not have.
SQL_DIR = zipfile.Path(REPO_ROOT, "sql/") if zipfile.is_zipfile(REPO_ROOT) else REPO_ROOT / "sql"
