#!/usr/bin/env bash
# The Airflow UI over the demo's warehouse and run history (scripts/demo.sh; DEMO_HOME): `airflow standalone`
# (API server + UI, scheduler, DAG processor, triggerer) bound to 127.0.0.1:${AIRFLOW__API__PORT:-8080}.
# Log in as admin with the password printed below. Backfills: the DAG's Trigger -> Backfill, or
#   airflow dags unpause user_interest_nightly
#   airflow backfill create --dag-id user_interest_nightly --from-date A --to-date B \
#     --reprocess-behavior failed --max-active-runs 1
# in a shell that sourced scripts/airflow_env.sh (with the same INTEREST_HOME). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export INTEREST_HOME=${DEMO_HOME:-$PWD/var/demo}
export AIRFLOW_HOME=$INTEREST_HOME/airflow
source scripts/airflow_env.sh
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1
passwords=$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
echo "Airflow UI: http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT  user admin, password in $passwords"
echo "  (written when the server starts: $(cat "$passwords" 2>/dev/null || echo 'not yet'))"
exec airflow standalone
