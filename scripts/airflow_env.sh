# Sourced by the run, UI and test commands: a local Airflow (SQLite metadata, LocalExecutor) over
# this checkout's dags/, with the product's venv first on PATH (the DAG calls `interest` and
# `spark-submit`). Every value can be overridden from the environment.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.venv/bin:$PATH"
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
export AIRFLOW_HOME=${AIRFLOW_HOME:-${INTEREST_HOME:-$root/var}/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$root/dags}
export AIRFLOW__CORE__LOAD_EXAMPLES=${AIRFLOW__CORE__LOAD_EXAMPLES:-False}
export AIRFLOW__CORE__EXECUTOR=${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
export AIRFLOW__API__PORT=${AIRFLOW__API__PORT:-8080}
# The night's ETL in one spark-submit: on 2 cores with demo-sized days a JVM start per step costs
# more than the step (production keeps the default, one task per step: INTEREST_DAG_ETL_TASKS=per_step).
export INTEREST_DAG_ETL_TASKS=${INTEREST_DAG_ETL_TASKS:-one}
# Short Spark jobs on 2 cores: the JVM's first-tier compiler only (less CPU spent compiling).
export INTEREST_SPARK_DRIVER_JAVA_OPTIONS=${INTEREST_SPARK_DRIVER_JAVA_OPTIONS:--XX:TieredStopAtLevel=1}
# spark_default = the product's Spark master (INTEREST_SPARK_MASTER, default local[2]).
if [ -z "${AIRFLOW_CONN_SPARK_DEFAULT:-}" ]; then
  master=$("$root/.venv/bin/python" -c 'from jobs.config import Settings; print(Settings().spark_master)')
  export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"$master\"}"
fi
mkdir -p "$AIRFLOW_HOME"
