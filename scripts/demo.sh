#!/usr/bin/env bash
# The run command (README): setup, a few days of synthetic raw logs, the ETL for those days
# through spark-submit, then a summary (tables, row counts, reconciliation of the last day).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
first=${DEMO_FIRST_DAY:-2026-01-01}
days=${DEMO_DAYS:-4}
last=$(date -u -d "$first + $((days - 1)) days" +%F)
interest=.venv/bin/interest
$interest demo-data --start "$first" --days "$days" --events-per-day "${DEMO_EVENTS_PER_DAY:-10000}"
$interest etl --from "$first" --to "$last"
$interest summary
cat <<MSG

Tables are under $($interest config | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["home"])')/tables. Query them by name:
  $interest queries
  $interest sql top_items_long_term
  $interest sql "SELECT ds, count(*) FROM silver.sessions GROUP BY ds ORDER BY ds"
MSG
