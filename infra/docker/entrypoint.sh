#!/usr/bin/env bash
# The image's entrypoint. Spark on Kubernetes starts its pods with the first argument "driver"
# (cluster deploy mode) or "executor" and the rest in SPARK_* environment variables: the
# contract of Spark's own images (docs: running-on-kubernetes), followed here so this image
# can be spark.kubernetes.container.image. Anything else runs as given (`interest etl --ds D`).
set -euo pipefail

case "${1:-}" in
  driver)
    shift
    # The driver pod runs the application in client mode inside the pod.
    exec spark-submit --deploy-mode client \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:-0.0.0.0}" "$@"
    ;;
  executor)
    shift
    # Spark passes the executor's JVM options as SPARK_JAVA_OPT_0, _1, ... in order.
    java_opts=()
    while IFS='=' read -r _ value; do
      java_opts+=("$value")
    done < <(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n || true)
    exec java -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" "${java_opts[@]}" \
      -cp "${SPARK_HOME}/jars/*:${INTEREST_JARS_DIR}/*" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "${SPARK_DRIVER_URL}" \
      --executor-id "${SPARK_EXECUTOR_ID}" \
      --cores "${SPARK_EXECUTOR_CORES}" \
      --app-id "${SPARK_APPLICATION_ID}" \
      --hostname "${SPARK_EXECUTOR_POD_IP}" \
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME}"
    ;;
  *)
    exec "$@"
    ;;
esac
