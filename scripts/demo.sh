#!/usr/bin/env bash
# The run command (README): setup, a week of synthetic raw logs, the nightly DAG run by Airflow for
# each of those days (real DAG runs recorded in Airflow's metadata DB, made by dag.test() as
# `airflow dags test` makes them: scripts/run_nights.py), then a summary: tables and row counts, last night's metrics against the baselines, where
# the vectors are, how to open the UI and query the tables.
#
# The demo owns its warehouse and Airflow home (DEMO_HOME, default var/demo) and starts them
# afresh on every run. DEMO_DAYS, DEMO_FIRST_DAY and DEMO_EVENTS_PER_DAY size it.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
scripts/setup.sh
# The demo's own warehouse and Airflow home (never an INTEREST_HOME from the environment: it is
# wiped first).
export INTEREST_HOME=${DEMO_HOME:-$PWD/var/demo}
export AIRFLOW_HOME=$INTEREST_HOME/airflow
# A previous demo's Airflow database server runs from the folder about to be removed.
[ ! -d "$AIRFLOW_HOME/postgres" ] || scripts/postgres.sh stop "$AIRFLOW_HOME/postgres"
rm -rf "$INTEREST_HOME"
first=${DEMO_FIRST_DAY:-2026-01-01}
days=${DEMO_DAYS:-7}
last=$(date -u -d "$first + $((days - 1)) days" +%F)
# The DAG's schedule is the demo's week (scripts/airflow-ui.sh sets the same from the raw data).
export INTEREST_DAG_START_DATE=$first INTEREST_DAG_END_DATE=$last
source scripts/airflow_env.sh

airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || {
  tail -20 "$AIRFLOW_HOME/db-migrate.log"
  exit 1
}
ready=$(date +%s)
interest keygen --if-missing  # the demo's pseudonym key, in its warehouse (never in the repo)
interest demo-data --start "$first" --days "$days" --events-per-day "${DEMO_EVENTS_PER_DAY:-2000}" \
  --users 300 --items 200 --clusters 10
log=$INTEREST_HOME/dag-runs.log
echo "demo: running the DAG for $first .. $last (Airflow's log: $log)"
if ! python scripts/run_nights.py "$first" "$last" 2>&1 | tee "$log" | grep --line-buffered '^night '; then
  tail -40 "$log"
  echo "demo: a DAG run did not succeed; Airflow's log: $log" >&2
  exit 1
fi

interest summary --ds "$last"
interest report --ds "$last"
finished=$(date +%s)
cat <<MSG

Demo done in $((finished - ready)) s after setup ($((finished - started)) s in all).
Warehouse: $INTEREST_HOME (Delta tables under tables/; published vectors:
  serving.user_interest_vectors and serving.item_vectors, read as of now through the views
  serving.user_interest_vectors_current / serving.item_vectors_current).
Query the tables by name (the same INTEREST_HOME):
  export INTEREST_HOME=$INTEREST_HOME
  .venv/bin/interest queries
  .venv/bin/interest sql top_items_long_term
  .venv/bin/interest sql "SELECT ds, decision, reason FROM ops.publications ORDER BY ds"
  .venv/bin/interest recommend <user_id>
Each night's report (plots, no network needed): $INTEREST_HOME/reports/index.html
Training runs in MLflow: .venv/bin/interest mlflow-ui  (http://127.0.0.1:5000)
Open the Airflow UI with these runs: scripts/airflow-ui.sh  (http://127.0.0.1:8080)
MSG
if [[ $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN == postgresql* ]]; then
  echo "Airflow's PostgreSQL (data in $AIRFLOW_HOME/postgres) keeps running for the UI; stop it:"
  echo "  scripts/postgres.sh stop $AIRFLOW_HOME/postgres"
fi
