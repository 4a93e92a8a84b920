#!/usr/bin/env bash
# Idempotent setup of a fresh machine: a virtual environment with pinned versions, and the Delta
# Lake JVM jars resolved once from Maven Central, so that no Spark job needs the network when it
# runs. Quick (a few seconds) when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}
venv=$root/.venv

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

# 2. Delta jars: resolved by Maven into a cache outside the checkout (shared by fresh clones and
# CI), keyed by the pom's content; Spark's own jars are left out so its versions are the only ones.
pom=infra/jars/pom.xml
jars_key=$(sha256sum "$pom" | cut -c1-16)
cache=${INTEREST_JAR_CACHE:-$HOME/.cache/interest-vectors/jars}/$jars_key
if [ ! -f "$cache/.complete" ]; then
  echo "setup: resolving Delta jars from Maven Central into $cache"
  tmp=$(mktemp -d)
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
  spark_jars=$("$venv/bin/python" -c "import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))")
  mkdir -p "$cache"
  for jar in "$tmp"/*.jar; do
    artifact=$(basename "$jar" | sed -E 's/-[0-9][^-]*(-[0-9]+)?\.jar$//')
    if ! ls "$spark_jars/$artifact"-[0-9]*.jar >/dev/null 2>&1; then cp "$jar" "$cache/"; fi
  done
  rm -rf "$tmp"
  touch "$cache/.complete"
fi
if [ ! -f .jars/.key-$jars_key ]; then
  rm -rf .jars && mkdir -p .jars
  cp "$cache"/*.jar .jars/
  touch .jars/.key-$jars_key
fi
echo "setup: ready ($(ls .jars/*.jar | wc -l) Delta jars in .jars/, venv in .venv/)"
