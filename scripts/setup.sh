#!/usr/bin/env bash
# Idempotent setup of a fresh machine: a virtual environment with pinned versions, and the Delta
# Lake JVM jars resolved once from Maven Central, so that no Spark job needs the network when it
# runs. Quick (a few seconds) when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}
venv=$root/.venv

# 0. PostgreSQL, the local Airflow's metadata database (Debian's package; scripts/postgres.sh
# runs a server of its own per Airflow home, so the package's own cluster is not used).
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "setup: installing PostgreSQL (Debian's postgresql package)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# 1. Python environment, reinstalled only when pyproject.toml or the pin files change.
deps_hash=$(cat pyproject.toml constraints.txt infra/requirements-nodeps.txt | sha256sum | cut -c1-16)
if [ ! -f "$venv/.installed-$deps_hash" ]; then
  echo "setup: installing the Python environment into $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade "pip==25.3"
  # torch first, exactly pinned: given the whole set, the resolver may backtrack through CUDA builds.
  "$venv/bin/pip" install -q -c constraints.txt "$(grep -E '^torch==' constraints.txt)"
  "$venv/bin/pip" install -q -c constraints.txt -e ".[dev]"
  "$venv/bin/pip" install -q --no-deps -r infra/requirements-nodeps.txt
  rm -f "$venv"/.installed-*
  touch "$venv/.installed-$deps_hash"
fi

# 2. JVM jars: the Delta jars (.jars/) and Hadoop's S3A connector for a warehouse on object
# storage (.jars/s3a/, put on the classpath only then), each resolved by Maven into a cache
# outside the checkout (shared by fresh clones and CI) keyed by its pom's content; jars pyspark
# already has are left out, so Spark's versions are the only ones.
spark_jars=$("$venv/bin/python" -c "import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))")
resolve_jars() {  # POM DEST
  local pom=$1 dest=$2 key cache tmp jar artifact
  key=$(sha256sum "$pom" | cut -c1-16)
  cache=${INTEREST_JAR_CACHE:-$HOME/.cache/interest-vectors/jars}/$key
  if [ ! -f "$cache/.complete" ]; then
    echo "setup: resolving the jars of $pom from Maven Central into $cache"
    tmp=$(mktemp -d)
    mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
    mkdir -p "$cache"
    for jar in "$tmp"/*.jar; do
      artifact=$(basename "$jar" | sed -E 's/-[0-9][^-]*(-[0-9]+)?\.jar$//')
      if ! ls "$spark_jars/$artifact"-[0-9]*.jar >/dev/null 2>&1; then cp "$jar" "$cache/"; fi
    done
    rm -rf "$tmp"
    touch "$cache/.complete"
  fi
  if [ ! -f "$dest/.key-$key" ]; then
    mkdir -p "$dest"
    rm -f "$dest"/*.jar "$dest"/.key-*
    cp "$cache"/*.jar "$dest/"
    touch "$dest/.key-$key"
  fi
}
resolve_jars infra/jars/pom.xml .jars
resolve_jars infra/jars/s3a/pom.xml .jars/s3a
jars_key=$(sha256sum infra/jars/pom.xml | cut -c1-16)

# 3. The Spark driver's class-data archive (AppCDS, .jars/spark-classes.jsa): a job's JVM maps
# the classes Spark and Delta load from it instead of reading and verifying them from jars,
# ~5 s of each spark-submit on 2 cores. Recorded once by a tiny ETL run, keyed by the venv, the
# jars and the JVM; a JVM given an archive that no longer matches loads from the jars as usual.
cds_key=$( (echo "$deps_hash $jars_key"; java -version 2>&1) | sha256sum | cut -c1-16)
if [ ! -f .jars/.cds-$cds_key ]; then
  echo "setup: recording the Spark driver's class-data archive (a tiny ETL run, ~2.5 min)"
  rm -f .jars/spark-classes.jsa .jars/.cds-*
  tmp=$(mktemp -d)
  if ! (
    export INTEREST_HOME=$tmp/home
    export INTEREST_SPARK_DRIVER_JAVA_OPTIONS="-XX:ArchiveClassesAtExit=$tmp/classes.jsa -Xlog:cds=off"
    .venv/bin/interest demo-data --start 2026-01-01 --days 2 --events-per-day 300 --users 40 \
      --items 30 --clusters 3
    .venv/bin/interest etl --from 2026-01-01 --to 2026-01-02
    test -s "$tmp/classes.jsa"
  ) >"$tmp/log" 2>&1; then
    tail -20 "$tmp/log"
    echo "setup: recording the class-data archive failed (log above)" >&2
    exit 1
  fi
  mv "$tmp/classes.jsa" .jars/spark-classes.jsa
  touch .jars/.cds-$cds_key
  rm -rf "$tmp"
fi
echo "setup: ready ($(ls .jars/*.jar | wc -l) Delta jars and the class-data archive in .jars/, venv in .venv/)"
