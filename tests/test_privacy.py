"""Users' privacy: pseudonymous user ids from ingest on (the same keyed hash in Spark and Python,
the key never in a query plan), and `interest forget-user` end to end: every table, the graph's
contributions, the model files, reruns from raw logs, and the purge."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from pyspark.sql import functions as F

from jobs import forget, graph, ingest
from jobs.pipeline import run_bulk
from jobs.pseudonymise import keyed_hash, with_key, without_key
from jobs.synthetic import SyntheticSpec, generate
from models import tracking
from models.forget import forget_in_models
from models.train import FitResult
from models.train_config import TrainConfig
from warehouse.pseudonyms import PseudonymKeyError, hmac_pads, pseudonym, write_new_key
from warehouse.settings import Settings
from warehouse.steps import parse_steps
from warehouse.tables import (
    BRONZE_EVENTS,
    BRONZE_REJECTED,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    OPS_FORGOTTEN_USERS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
    SILVER_USER_IDS,
    TABLES,
)

INTEREST = str(Path(sys.executable).parent / "interest")
DAYS = [date(2026, 7, 1), date(2026, 7, 2)]


# ---- the key and the pseudonym (no Spark) ------------------------------------------------------
def test_pseudonym_is_hmac_sha256_of_the_raw_id() -> None:
    key = b"k" * 40
    assert pseudonym("u1", key) == hmac.new(key, b"u1", hashlib.sha256).hexdigest()[:32]
    assert pseudonym("u1", key) != pseudonym("u1", b"j" * 40)


def test_a_missing_or_short_key_is_one_line_and_keygen_never_replaces_one(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, pseudonym_key=None)
    with pytest.raises(PseudonymKeyError, match="no pseudonym key: set INTEREST_PSEUDONYM_KEY"):
        settings.user_id_key()
    with pytest.raises(PseudonymKeyError, match="is 5 bytes; use at least 16"):
        Settings(home=tmp_path, pseudonym_key="short").user_id_key()
    assert Settings(home=tmp_path, pseudonymise_user_ids=False).stored_user_ids()(" u1 ") == "u1"

    write_new_key(settings.pseudonym_key_path)
    assert settings.pseudonym_key_path.stat().st_mode & 0o077 == 0  # owner only
    key = settings.user_id_key()
    with pytest.raises(FileExistsError):
        write_new_key(settings.pseudonym_key_path)
    assert settings.user_id_key() == key


def interest(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "INTEREST_HOME": str(home), **env}
    return subprocess.run([INTEREST, *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_cli_makes_the_key_shows_pseudonyms_and_refuses_without_a_key(tmp_path: Path) -> None:
    no_key = {"INTEREST_PSEUDONYM_KEY": ""}
    short = interest(tmp_path, "forget-user", "u1", INTEREST_PSEUDONYM_KEY="short")
    assert short.returncode == 2 and "the pseudonym key is 5 bytes" in short.stderr
    assert "Traceback" not in short.stderr
    assert interest(tmp_path, "keygen", **no_key).returncode == 0
    again = interest(tmp_path, "keygen", **no_key)
    assert again.returncode == 2 and "already configured" in again.stderr
    assert interest(tmp_path, "keygen", "--if-missing", **no_key).returncode == 0
    key = (tmp_path / "secrets" / "pseudonym.key").read_text().strip().encode()
    shown = interest(tmp_path, "pseudonym", "u1", **no_key)
    assert shown.stdout.strip() == pseudonym("u1", key)


# ---- Spark ------------------------------------------------------------------------------------
@pytest.mark.spark
def test_spark_computes_the_same_pseudonyms_and_never_shows_the_key(spark) -> None:
    ids = ["u1", "ü-ñ", "a" * 300, "  spaced"]
    for key in (b"0123456789abcdef", b"long key " * 10):  # the second is over SHA-256's block
        frame = with_key(spark.createDataFrame([(i,) for i in ids], "raw string"), key)
        hashed = without_key(frame.select("raw", keyed_hash(F.col("raw")).alias("p"), "*"))
        assert {r["raw"]: r["p"] for r in hashed.collect()} == {i: pseudonym(i, key) for i in ids}
        plan = hashed._jdf.queryExecution().toString().lower()
        for secret in (key, *hmac_pads(key)):
            assert secret.hex() not in plan and secret.decode("latin-1").lower() not in plan


def raw_line(user: str, item: str, ts: str, event_type: str = "view") -> str:
    return json.dumps({"user_id": user, "item_id": item, "event_type": event_type, "ts": ts})


@pytest.mark.spark
def test_ingest_stores_no_raw_user_id(spark, make_warehouse) -> None:
    settings = make_warehouse()
    ds = DAYS[0]
    lines = [raw_line("alice", "i1", f"{ds}T10:00:00Z"), raw_line("bob", "i2", f"{ds}T11:00:00Z"),
             raw_line("carol", "i3", f"{ds}T12:00:00Z", "hover"), '{"user_id": "dave", "item']  # fmt: skip
    folder = settings.raw_day_dir(ds.isoformat())
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")

    assert ingest.run(spark, settings, ds)["accepted"] == 2
    stored = settings.stored_user_ids()
    events = spark.table(BRONZE_EVENTS).collect()
    assert sorted(r["user_id"] for r in events) == sorted([stored("alice"), stored("bob")])
    unkeyed = {hashlib.sha256(f"alice|i1|view|{r['ts']}".encode()).hexdigest() for r in events}
    assert not unkeyed & {r["event_id"] for r in events}  # content hashes over the pseudonym
    text = " ".join(str(v) for r in events for v in r.asDict().values())
    assert "alice" not in text and "bob" not in text
    rejected = {r["reason"]: r["raw"] for r in spark.table(BRONZE_REJECTED).collect()}
    assert json.loads(rejected["unknown_event_type"])["user_id"] == stored("carol")
    assert "carol" not in rejected["unknown_event_type"]
    assert rejected["unparseable"] == lines[3]  # its user id cannot be told: kept as it came


# ---- forget-user end to end -------------------------------------------------------------------
def build(spark, make_warehouse, home: Path, spec: SyntheticSpec, drop_user: str | None = None):
    """A warehouse over the spec's raw days through the real ETL, each step once over the days
    (bulk: fewer fixed costs than day by day, same tables), without ``drop_user``'s raw events
    when given: the warehouse that never had the user, built up to its graph."""
    settings = make_warehouse(home, max_neighbours=1000)  # no neighbour cap: exact removal
    list(generate(spec, settings.raw_dir))
    if drop_user:
        for path in settings.raw_dir.rglob("*.jsonl"):
            kept = [ln for ln in path.read_text().splitlines()
                    if json.loads(ln).get("user_id") != drop_user]  # fmt: skip
            path.write_text("\n".join(kept) + "\n")
    steps = parse_steps("ingest,sessionize,ids,graph" if drop_user else None)
    list(run_bulk(spark, settings, spec.day_list[0], spec.day_list[-1], steps))
    return settings


def cooccurrence_by_item(spark) -> dict[tuple[str, str], tuple[float, int]]:
    ids = spark.table(SILVER_ITEM_IDS)
    rows = (
        spark.table(GOLD_COOCCURRENCE)
        .join(ids.withColumnRenamed("item_id", "a"), "item_idx")
        .join(
            ids.select(F.col("item_idx").alias("neighbour_idx"), F.col("item_id").alias("b")),
            "neighbour_idx",
        )  # fmt: skip
        .collect()
    )
    return {(r["a"], r["b"]): (round(r["weight"], 9), r["count"]) for r in rows}


def publish_user_rows(spark, settings: Settings, ds: date) -> None:
    """Serving rows for every user, as the publish job writes them."""
    schema = spark.table(SERVING_USERS).schema
    users = spark.table(SILVER_USER_IDS).select(
        "user_id", "user_idx", F.lit(ds).alias("ds"), F.lit("v1").alias("model_version"),
        *[F.array(F.lit(1.0)).alias(c) for c in ("fused", "long_term", "short_term", "gate")],
        F.current_timestamp().alias("updated_at"), F.lit("run1").alias("mlflow_run_id"),
    )  # fmt: skip
    users = users.select([F.col(f.name).cast(f.dataType) for f in schema])
    users.write.format("delta").mode("append").save(settings.table_path(SERVING_USERS).as_posix())


def model_files(settings: Settings, num_users: int) -> Path:
    folder = settings.models_dir / "v1"
    folder.mkdir(parents=True)
    weights = {"long_term.user_embedding.weight": torch.ones(num_users, 4)}
    torch.save(weights, folder / "best.pt")
    torch.save({"model": weights}, folder / "last.pt")
    (folder / "config.json").write_text(TrainConfig().model_dump_json())
    done = FitResult(best_epoch=1, best_valid={}, epochs=1, train_s=1.0, targets_per_s=1.0)
    assert tracking.log_training(settings, tracking.NIGHTLY, "v1", TrainConfig(), done, folder)
    stage = settings.publish_stage_dir(DAYS[-1].isoformat())
    stage.mkdir(parents=True)
    pq.write_table(spark_free_users(num_users), stage / "users.parquet")
    return folder


def spark_free_users(num_users: int):
    import pyarrow as pa

    return pa.table({"user_idx": pa.array(range(num_users), pa.int32())})


def files_holding(settings: Settings, text: str) -> list[str]:
    """Data files of any table (every version's, until VACUUM) with ``text`` in a string."""
    found = []
    for path in settings.tables_dir.rglob("*.parquet"):
        if path.is_relative_to(settings.table_path(OPS_FORGOTTEN_USERS)):
            continue  # holds who was forgotten, to keep them out
        table = pq.read_table(path)
        for column in table.column_names:
            if any(text in str(v) for v in table[column].to_pylist() if v is not None):
                found.append(str(path.relative_to(settings.tables_dir)))
                break
    return found


@pytest.mark.spark
@pytest.mark.slow
def test_forget_user_removes_them_everywhere_and_for_good(spark, make_warehouse, tmp_path) -> None:
    spec = SyntheticSpec(start=DAYS[0], days=len(DAYS), events_per_day=300, users=20, items=40,
                         clusters=3, bad_fraction=0.0, seed=3)  # fmt: skip
    build(spark, make_warehouse, tmp_path / "never", spec, drop_user="u7")
    expected = cooccurrence_by_item(spark)
    settings = build(spark, make_warehouse, tmp_path / "home", spec)
    user = "u7"
    stored = settings.stored_user_ids()(user)
    idx = spark.table(SILVER_USER_IDS).where(F.col("user_id") == stored).first()["user_idx"]
    assert spark.table(GOLD_AFFINITY).where(F.col("user_idx") == idx).count() > 0
    assert cooccurrence_by_item(spark) != expected  # the user's sessions count
    publish_user_rows(spark, settings, DAYS[-1])
    model_folder = model_files(settings, spark.table(SILVER_USER_IDS).count() + 1)
    bad = settings.raw_day_dir(DAYS[0].isoformat()) / "bad.jsonl"
    # Quarantined: a bad time (re-rendered with the pseudonym) and an unparseable line (as is).
    bad.write_text(raw_line(user, "i1", "soon") + '\n{"user_id": "u7", "item\n')
    ingest.run(spark, settings, DAYS[0])
    assert files_holding(settings, stored)

    # What `interest forget-user u7 --purge-now` runs (its spark-submit: test_cli's kind).
    assert forget.run(spark, settings, user)["user_idx"] == idx
    forget.purge(spark, settings)
    # the model's weights and their copy in the MLflow store
    assert forget_in_models(settings, idx) == {"weights": 2, "checkpoints_deleted": 1, "stages": 1}

    assert cooccurrence_by_item(spark) == expected  # as if they had never been there
    assert files_holding(settings, stored) == []  # no version of any table, after the purge
    assert files_holding(settings, f'"{user}"') == []  # nor their quarantined raw records
    assert spark.table(SILVER_USER_IDS).where(F.col("user_idx") == idx).first()["user_id"] == (
        f"forgotten:{idx}"
    )
    for best in [model_folder / "best.pt", *settings.mlflow_dir.rglob("best.pt")]:
        weights = torch.load(best)["long_term.user_embedding.weight"]
        assert weights[idx].abs().sum() == 0 and weights[idx - 1].abs().sum() > 0
    assert not (model_folder / "last.pt").exists()
    staged = pq.read_table(settings.publish_stage_dir(DAYS[-1].isoformat()) / "users.parquet")
    assert idx not in staged["user_idx"].to_pylist()
    assert spark.table(OPS_FORGOTTEN_USERS).first()["completed"]

    # Reruns from raw logs that still hold them do not bring them back, nor does the graph's.
    counts = ingest.run_range(spark, settings, DAYS)
    assert sum(c.get("rejected.forgotten_user", 0) for c in counts.values()) > 0
    assert spark.table(BRONZE_EVENTS).where(F.col("user_id") == stored).count() == 0
    with pytest.raises(graph.GraphOrderError, match="a user was forgotten"):
        graph.run_range(spark, settings, DAYS)

    again = forget.run(spark, settings, user)  # nothing left to remove
    assert again["user_idx"] == 0 and cooccurrence_by_item(spark) == expected
    assert set(forget.TOUCHED) <= set(TABLES)
