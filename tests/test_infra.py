"""Every file in infra/ is exercised: Kubernetes manifests against the Kubernetes API schemas,
the Dockerfile by hadolint and against the checkout it copies, the image's entrypoint by starting
a real Spark executor backend, the Airflow chart's values by what the product reads from them."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from jobs.submit import spark_home
from warehouse import REPO_ROOT
from warehouse.settings import Settings

INFRA = REPO_ROOT / "infra"
IMAGE_ROOT = "/opt/interest"  # where the Dockerfile puts the checkout
MANIFESTS = sorted([*INFRA.glob("k8s/*.yaml"), *INFRA.glob("spark/*.yaml")])
KUBERNETES = "1.33.0"
VENV_BIN = Path(sys.executable).parent


def in_checkout(image_path: str) -> Path:
    assert image_path.startswith(IMAGE_ROOT + "/"), image_path
    return REPO_ROOT / image_path.removeprefix(IMAGE_ROOT + "/")


def test_every_infra_file_is_covered_here() -> None:
    covered = {*MANIFESTS, INFRA / "README.md", INFRA / "requirements-nodeps.txt",
               INFRA / "jars" / "pom.xml", INFRA / "jars" / "s3a" / "pom.xml",
               INFRA / "docker" / "Dockerfile",
               INFRA / "docker" / "entrypoint.sh", INFRA / "helm" / "airflow-values.yaml"}  # fmt: skip
    # the poms and requirements-nodeps.txt are run by scripts/setup.sh, which every test needs
    # (the S3A jars are on the classpath of tests/test_object_storage.py)
    assert {p for p in INFRA.rglob("*") if p.is_file()} == covered


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_match_the_kubernetes_schemas(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:  # strict: an unknown field (a typo) fails too
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_dockerfile_lints_clean_and_copies_what_the_checkout_has() -> None:
    dockerfile = INFRA / "docker" / "Dockerfile"
    lint = subprocess.run([str(VENV_BIN / "hadolint"), str(dockerfile)],
                          capture_output=True, text=True)  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    lines = dockerfile.read_text().splitlines()
    copied = [w for ln in lines if ln.startswith("COPY ") and "--from" not in ln
              for w in ln.split()[1:-1]]  # fmt: skip
    assert copied and all((REPO_ROOT / p).exists() for p in copied), copied
    env = " ".join(ln for ln in lines if ln.startswith(("ENV", "    ")))
    site = Path(spark_home()).relative_to(REPO_ROOT / ".venv")
    assert f"SPARK_HOME={IMAGE_ROOT}/.venv/{site}" in env  # the venv's pyspark, as setup makes it


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_entrypoint_starts_a_kubernetes_executor_backend(tmp_path) -> None:
    """The executor branch with the environment Spark on Kubernetes gives: the JVM finds the
    backend on the image's classpath, takes every argument, and tries to reach the driver."""
    port = closed_port()
    env = {**os.environ, "SPARK_HOME": spark_home(), "INTEREST_JARS_DIR": str(Settings().jars_dir),
           "SPARK_EXECUTOR_MEMORY": "256m", "SPARK_JAVA_OPT_0": "-Dspark.driver.port=1",
           "SPARK_JAVA_OPT_1": "-Djava.io.tmpdir=" + str(tmp_path),
           "SPARK_DRIVER_URL": f"spark://CoarseGrainedScheduler@127.0.0.1:{port}",
           "SPARK_EXECUTOR_ID": "1", "SPARK_EXECUTOR_CORES": "1", "SPARK_APPLICATION_ID": "app-1",
           "SPARK_EXECUTOR_POD_IP": "127.0.0.1", "SPARK_EXECUTOR_POD_NAME": "executor-1"}  # fmt: skip
    entrypoint = str(INFRA / "docker" / "entrypoint.sh")
    run = subprocess.run([entrypoint, "executor"], env=env, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode != 0
    assert f"Failed to connect to /127.0.0.1:{port}" in run.stderr, run.stderr[-3000:]
    other = subprocess.run([entrypoint, "echo", "as given"], capture_output=True, text=True)
    assert other.stdout == "as given\n"


def test_airflow_values_configure_the_product(monkeypatch) -> None:
    values = yaml.safe_load((INFRA / "helm" / "airflow-values.yaml").read_text())
    assert values["executor"] == "KubernetesExecutor" and not values["postgresql"]["enabled"]
    assert in_checkout(values["config"]["core"]["dags_folder"]) == REPO_ROOT / "dags"
    env = {e["name"]: e["value"] for e in values["env"]}
    product = {k for k in env if k.startswith("INTEREST_") and k != "INTEREST_TRAIN_ON"}
    assert {k.removeprefix("INTEREST_").lower() for k in product} <= set(Settings.model_fields)
    for name in product:
        monkeypatch.setenv(name, env[name])
    settings = Settings()  # every value parses as the product reads it
    spark_default = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert spark_default["host"] == settings.spark_master  # one cluster for the CLI and the DAG
    for key, value in settings.extra_spark_conf.items():
        assert key.startswith("spark.")
        if key.endswith("podTemplateFile"):
            assert in_checkout(value).is_file(), value
    extra = yaml.safe_load(values["extraEnv"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "task"},
           "spec": {"containers": [{"name": "base", "env": extra}]}}  # fmt: skip
    kubernetes_validate.validate(pod, KUBERNETES, strict=True)
    names = {s["envName"] for s in values["secret"]}
    assert "INTEREST_PSEUDONYM_KEY" in names and not names & set(env)
