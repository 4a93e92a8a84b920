# Sourced by the run, UI and test commands: a local Airflow (PostgreSQL metadata, LocalExecutor)
# over this checkout's dags/, with the product's venv first on PATH (the DAG calls `interest` and
# `spark-submit`). Every value can be overridden from the environment.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.venv/bin:$PATH"
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
export AIRFLOW_HOME=${AIRFLOW_HOME:-${INTEREST_HOME:-$root/var}/airflow}
mkdir -p "$AIRFLOW_HOME"
# The metadata database shared by the scheduler, API server, DAG processor and the CLI:
# PostgreSQL by default, as in production: a local server with its data in $AIRFLOW_HOME/postgres,
# started here if it is not running (stop it with scripts/postgres.sh stop DIR). On SQLite
# (INTEREST_AIRFLOW_DB=sqlite: no server) Airflow can fail a busy backfill's creation with
# "database is locked" (apache/airflow#66726); a writer waits up to 60 s for the lock there.
if [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  if [ "${INTEREST_AIRFLOW_DB:-postgres}" = sqlite ]; then
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db?timeout=60"
  else
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$("$root/scripts/postgres.sh" start "$AIRFLOW_HOME/postgres")
  fi
fi
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$root/dags}
export AIRFLOW__CORE__LOAD_EXAMPLES=${AIRFLOW__CORE__LOAD_EXAMPLES:-False}
export AIRFLOW__CORE__EXECUTOR=${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
export AIRFLOW__API__PORT=${AIRFLOW__API__PORT:-8080}
# The night's ETL in one spark-submit: on 2 cores with demo-sized days a JVM start per step costs
# more than the step (production keeps the default, one task per step: INTEREST_DAG_ETL_TASKS=per_step).
export INTEREST_DAG_ETL_TASKS=${INTEREST_DAG_ETL_TASKS:-one}
# Short Spark jobs on 2 cores: the JVM's first-tier compiler only (less CPU spent compiling).
# That also shrinks the code cache to 48 MB, which a night's ETL outgrows (~54 MB): the JIT was
# then disabled mid-run, and once the ETL failed on "Out of space in CodeCache"; keep 240 MB.
export INTEREST_SPARK_DRIVER_JAVA_OPTIONS=${INTEREST_SPARK_DRIVER_JAVA_OPTIONS:--XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m}
# Demo-sized data: queries run interpreted, without generating and compiling Java code for each
# one (-25% on the ETL of a demo day here: 98-103 s -> 73-74 s). Spark's internal settings, for
# small data only: production leaves INTEREST_EXTRA_SPARK_CONF unset.
export INTEREST_EXTRA_SPARK_CONF=${INTEREST_EXTRA_SPARK_CONF:-'{"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}'}
# spark_default = the product's Spark master (INTEREST_SPARK_MASTER, default local[2]). The DAG's
# schedule spans the days with raw data: unpausing the DAG (backfills only run while it is
# unpaused) then starts no run that would wait for data that never comes; backfills may still
# run any day.
read -r master first_raw_day last_raw_day < <("$root/.venv/bin/python" -c '
from warehouse.settings import Settings
settings = Settings()
days = sorted(p.name.removeprefix("ds=") for p in settings.raw_dir.glob("ds=*")) or [""]
print(settings.spark_master, days[0], days[-1])')
export AIRFLOW_CONN_SPARK_DEFAULT=${AIRFLOW_CONN_SPARK_DEFAULT:-"{\"conn_type\": \"spark\", \"host\": \"$master\"}"}
[ -z "$first_raw_day" ] || export INTEREST_DAG_START_DATE=${INTEREST_DAG_START_DATE:-$first_raw_day}
export INTEREST_DAG_END_DATE=${INTEREST_DAG_END_DATE-$last_raw_day}
