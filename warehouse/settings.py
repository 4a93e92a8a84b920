"""One typed settings object for the whole product; every field can be overridden by an
environment variable ``INTEREST_<FIELD>`` (e.g. ``INTEREST_SESSION_GAP_MINUTES=45``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse import REPO_ROOT
from warehouse.pseudonyms import pseudonym, read_key
from warehouse.storage import Location, is_local

DEFAULT_EVENT_WEIGHTS = {"view": 1.0, "click": 2.0, "cart": 3.0, "purchase": 5.0, "rating": 0.0}


class Settings(BaseSettings):
    """Product configuration. ``rating`` events weigh their rating value, not a fixed weight."""

    model_config = SettingsConfigDict(env_prefix="INTEREST_", frozen=True, env_ignore_empty=True)

    home: Location = Field(
        default=REPO_ROOT / "var",
        description="Warehouse root, a local folder or an object-storage URI (s3a://bucket/"
        "prefix): raw logs, Delta tables and the publish stage live under it.",
    )
    work_dir: Path | None = Field(
        default=None,
        description="This host's own state: trained models, the MLflow store, reports. Default: "
        "the warehouse root when it is a local folder; required when it is object storage "
        "(mount a persistent volume there on a cluster).",
    )
    spark_master: str = Field(
        default="local[2]", description="Spark master given to spark-submit (never set in a job)."
    )
    spark_shuffle_partitions: int = Field(
        default=4, ge=1, description="spark.sql.shuffle.partitions for every job."
    )
    delta_snapshot_partitions: int = Field(
        default=2, ge=1, description="Tasks Delta uses to rebuild a table snapshot (log size)."
    )
    spark_driver_memory: str = Field(default="4g", description="spark-submit --driver-memory.")
    spark_driver_java_options: str = Field(
        default="",
        description="spark.driver.extraJavaOptions of every job (the local demo uses "
        "'-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m': short jobs on 2 cores "
        "spend less time compiling; the first option alone shrinks the code cache too much).",
    )
    extra_spark_conf: dict[str, str] = Field(
        default={},
        description="More Spark settings for every job's session, as JSON (the local demo turns "
        "code generation off: on small data, compiling each query's code costs more than it "
        "saves).",
    )
    spark_ui: bool = Field(
        default=False,
        description="Start each job's Spark web UI (spark.ui.enabled). Off: the UI's start costs "
        "~5 s per job on 2 cores, most of a small job's run.",
    )
    jars_dir: Path = Field(
        default=REPO_ROOT / ".jars",
        description="Delta Lake jars resolved by scripts/setup.sh; put on spark.jars.",
    )
    session_gap_minutes: int = Field(
        default=30, ge=1, description="Inactivity gap that closes a session."
    )
    max_session_events: int = Field(
        default=200, ge=1, description="A session longer than this is split into several."
    )
    max_id_length: int = Field(
        default=256,
        ge=1,
        description="A user, item or event id longer than this (characters) is rejected.",
    )
    max_record_bytes: int = Field(
        default=1 << 20,
        ge=1,
        description="A raw record longer than this (bytes of its line or JSON rendering) is "
        "rejected; its quarantined raw text is cut to its first 4 KiB.",
    )
    pseudonymise_user_ids: bool = Field(
        default=True,
        description="Ingest stores a keyed hash of each user id (HMAC-SHA256), never the raw id "
        "(warehouse/pseudonyms.py).",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None, description="The pseudonym key as text; else read from pseudonym_key_file."
    )
    pseudonym_key_file: Path | None = Field(
        default=None,
        description="File holding the pseudonym key (a mounted secret); default "
        "<home>/secrets/pseudonym.key, made by `interest keygen`.",
    )
    late_tolerance_hours: float = Field(
        default=2.0,
        ge=0,
        description="Events up to this far outside their partition's day are still accepted.",
    )
    event_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS),
        description="Weight of each accepted event type; other types are rejected.",
    )
    retention_days: int = Field(
        default=30,
        ge=7,
        description="Days of table history kept: `interest rollback` and time travel reach this "
        "far back, and `interest vacuum` deletes files unused for longer (Delta's own floor is "
        "7 days).",
    )
    half_life_days: float = Field(
        default=30.0, gt=0, description="Half-life of the long-term graph's time decay."
    )
    min_edge_weight: float = Field(
        default=0.01, ge=0, description="Decayed graph weights below this are pruned."
    )
    max_neighbours: int = Field(
        default=50, ge=1, description="Strongest co-occurrence neighbours kept per item."
    )
    cooccurrence_window: int = Field(
        default=5, ge=1, description="Items this close in one session co-occur."
    )
    sequence_length: int = Field(
        default=50,
        ge=1,
        description="L: the events of context before a training sequence.",
    )
    targets_per_row: int = Field(
        default=10,
        ge=1,
        description="The most targets in one training sequence (a longer day is cut into "
        "rows of this many, each after the L events before it). ML-100K validation NDCG@10, "
        "fused, mean of 2 seeds: 5 -> 0.124, 10 -> 0.130, 50 -> 0.109.",
    )
    train_days: int = Field(
        default=30, ge=1, description="Nightly training reads the sequences of this many days."
    )
    train_processes: int = Field(
        default=1, ge=1, description="Data-parallel training processes (torch DDP)."
    )
    train_threads: int = Field(
        default=0,
        ge=0,
        description="Intra-op threads per training process; 0: the CPUs the process may use "
        "(affinity mask, cgroup quota) less one, shared among the processes.",
    )
    short_term_days: float = Field(
        default=7.0,
        gt=0,
        description="A user with no event this recent has no short-term part (gate 0).",
    )
    track_runs: bool = Field(
        default=True,
        description="Log every training run to MLflow (parameters, per-epoch metrics, the "
        "evaluation, the model files); the published vectors carry its run id.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="Where training runs are tracked: any MLflow tracking URI (a server, a "
        "database); default a SQLite store in the work folder, <work_dir>/mlflow/mlflow.db, "
        "with artifacts in <work_dir>/mlflow/artifacts.",
    )
    publish_margin: float = Field(
        default=0.05,
        ge=0,
        description="The gate refuses a model whose test NDCG@10 is below the last published "
        "model's by more than this fraction.",
    )

    @property
    def spark_class_archive(self) -> Path:
        """The Spark driver's class-data archive (AppCDS), recorded by scripts/setup.sh."""
        return self.jars_dir / "spark-classes.jsa"

    @property
    def driver_java_options(self) -> str:
        """spark.driver.extraJavaOptions: the configured options, plus the class-data archive
        when setup recorded one (the JVM maps Spark's and Delta's classes from it instead of
        loading them from jars, ~5 s per job on 2 cores; with an archive that no longer matches
        the classpath, it loads them from the jars as usual)."""
        archive = self.spark_class_archive
        extra = f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""
        return " ".join(o for o in (self.spark_driver_java_options, extra) if o)

    @property
    def pseudonym_key_path(self) -> Path:
        return self.pseudonym_key_file or self.home / "secrets" / "pseudonym.key"

    def user_id_key(self) -> bytes | None:
        """The pseudonym key, or None when user ids are kept raw; raises PseudonymKeyError
        when pseudonymising without a usable key."""
        if not self.pseudonymise_user_ids:
            return None
        given = self.pseudonym_key.get_secret_value() if self.pseudonym_key else None
        return read_key(given, self.pseudonym_key_path)

    def stored_user_ids(self) -> Callable[[str], str]:
        """raw id -> how the tables hold it: its pseudonym, or itself when kept raw (the key is
        read once)."""
        key = self.user_id_key()

        def stored(raw_id: str) -> str:
            raw_id = raw_id.strip(" ")  # as ingest trims it (Spark's trim: spaces only)
            return pseudonym(raw_id, key) if key else raw_id

        return stored

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def tables_dir(self) -> Path:
        return self.home / "tables"

    def table_path(self, name: str) -> Path:
        """Folder of a Delta table given as ``layer.table`` (e.g. ``bronze.events``)."""
        layer, table = name.split(".")
        return self.tables_dir / layer / table

    def raw_day_dir(self, ds: str) -> Path:
        return self.raw_dir / f"ds={ds}"

    @property
    def state_dir(self) -> Path:
        if self.work_dir:
            return self.work_dir
        if is_local(self.home):
            return self.home
        raise ValueError(
            f"the warehouse is on object storage ({self.home}): set INTEREST_WORK_DIR to a local "
            "or mounted folder for trained models, the MLflow store and reports"
        )

    @property
    def models_dir(self) -> Path:
        """Trained models, one folder per model version."""
        return self.state_dir / "models"

    @property
    def reports_dir(self) -> Path:
        """The nightly HTML reports (``interest report --html``), one per night, and an index."""
        return self.state_dir / "reports"

    @property
    def mlflow_dir(self) -> Path:
        """The warehouse's own MLflow store (when no tracking URI is configured)."""
        return self.state_dir / "mlflow"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    def publish_stage_dir(self, ds: str) -> Path:
        """What a night's publish job loads: vectors, metrics and the gate's decision."""
        return self.home / "staging" / "publish" / f"ds={ds}"
