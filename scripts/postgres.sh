#!/usr/bin/env bash
# A local PostgreSQL server for Airflow's metadata (the database Airflow runs on in production;
# SQLite fails busy backfills with "database is locked", apache/airflow#66726):
#   scripts/postgres.sh start DIR [PORT]   -> prints the SQLAlchemy URL of database "airflow"
#   scripts/postgres.sh stop DIR
# DIR holds the cluster's data, socket and log (created on first start); PORT defaults to a free
# one, and a server already running from DIR keeps the port it has. It listens on
# 127.0.0.1 only and trusts local connections: a development server, not a production one.
# PostgreSQL refuses to run as root: as root, it runs as Debian's "postgres" user, which must
# be able to reach DIR.
set -euo pipefail
action=${1:?usage: postgres.sh start DIR [PORT] | stop DIR}
dir=${2:?the data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "postgres.sh: no PostgreSQL server: run scripts/setup.sh" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    port=${3:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      chmod 700 "$dir"
      [ "$(id -u)" != 0 ] || chown postgres: "$dir"
      as_owner "$bin/initdb" -D "$dir" -U airflow --auth=trust -E UTF8 --no-instructions >/dev/null
    fi
    if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null; then
      port=$(sed -n 4p "$dir/postmaster.pid")  # already running: on the port it was given
    else
      as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -s \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start
    fi
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U airflow -d postgres -tAq \
      -c "SELECT 1 FROM pg_database WHERE datname = 'airflow'" | grep -q 1 \
      || as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U airflow airflow
    echo "postgresql+psycopg2://airflow@127.0.0.1:$port/airflow"
    ;;
  stop)
    [ ! -f "$dir/postmaster.pid" ] || as_owner "$bin/pg_ctl" -D "$dir" -m fast -w -s stop
    ;;
  *)
    echo "postgres.sh: unknown action $action" >&2
    exit 2
    ;;
esac
