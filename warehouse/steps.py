"""The step registry: the nightly steps in order, the tables each writes, what each does, and the
exit codes the scheduler reads. The Airflow DAG (which imports this module, and only this one of
the product, when it is parsed), the ETL pipeline, the CLI, the tests and the README's table
listing derive from it.

An ETL step ``NAME`` is the Spark job ``jobs/NAME.py``. Each job also records its row counts in
ops.job_runs (``RECORDED_IN``), which is not listed as one of its outputs.
"""

from __future__ import annotations

from typing import NamedTuple

from warehouse.tables import (
    BRONZE_EVENTS,
    BRONZE_REJECTED,
    GOLD_AFFINITY,
    GOLD_COOCCURRENCE,
    GOLD_SEQUENCES,
    OPS_FORGOTTEN_USERS,
    OPS_GRAPH_LOG,
    OPS_JOB_RUNS,
    OPS_MODEL_METRICS,
    OPS_PUBLICATIONS,
    SERVING_ITEMS,
    SERVING_USERS,
    SILVER_ITEM_IDS,
    SILVER_SESSIONS,
    SILVER_USER_IDS,
    SILVER_USER_RECENT,
)


class Step(NamedTuple):
    name: str  # the Spark job jobs/<name>.py, and the Airflow task
    writes: tuple[str, ...]  # the Delta tables it writes (the DAG's Assets)
    doc: str  # one line (markdown), for the DAG and the README


ETL_STEPS: tuple[Step, ...] = (
    Step(
        "ingest",
        (BRONZE_EVENTS, BRONZE_REJECTED),
        "Raw logs of ds → `bronze.events`; bad records → `bronze.events_rejected` with the "
        "reason; accepted + rejected = read.",
    ),
    Step(
        "sessionize",
        (SILVER_SESSIONS,),
        "`bronze.events` → `silver.sessions` (inactivity gap, max length).",
    ),
    Step(
        "ids",
        (SILVER_USER_IDS, SILVER_ITEM_IDS),
        "New users and items get the next dense ids (`silver.user_ids`, `silver.item_ids`, "
        "append-only).",
    ),
    Step(
        "graph",
        (GOLD_AFFINITY, GOLD_COOCCURRENCE, OPS_GRAPH_LOG),
        "Long-term graph: yesterday's weights decayed + today's, in one Delta commit per table "
        "(tagged with ds); pruned and capped.",
    ),
    Step(
        "examples",
        (GOLD_SEQUENCES, SILVER_USER_RECENT),
        "`gold.training_sequences` of ds: per user, the day's events after the last L "
        "events before them (a row per user and day, or per `targets_per_row` targets of a "
        "longer day); each user's recent events carried in `silver.user_recent`.",
    ),
)
PUBLISH = Step(
    "publish",
    (OPS_MODEL_METRICS, SERVING_ITEMS, SERVING_USERS, OPS_PUBLICATIONS),
    "Commits the metrics, the item vectors, then ALL user vectors of ds in one Delta commit "
    "(the publish point), then the decision in `ops.publications`.",
)
SPARK_STEPS: tuple[Step, ...] = (*ETL_STEPS, PUBLISH)
RECORDED_IN = OPS_JOB_RUNS
# Tables written by a command a person runs, not by a step of the night.
COMMAND_WRITERS = {OPS_FORGOTTEN_USERS: "forget-user"}

# Exit codes of `interest` commands that the scheduler reads.
NOTHING_TO_TRAIN = 99  # train: no examples before the night yet (Airflow's skip code)
REFUSED = 3  # publish / report: the gate refused the model; the previous vectors stay served


def etl_step_names() -> list[str]:
    return [step.name for step in ETL_STEPS]


def writer_of(table: str) -> str | None:
    """The step that writes ``table`` (None: written by every job, or by none)."""
    return next((step.name for step in SPARK_STEPS if table in step.writes), None)


def parse_steps(text: str | None) -> list[str]:
    """A comma-separated subset of the ETL steps, in pipeline order (all when empty)."""
    known = etl_step_names()
    if not text:
        return known
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; steps are {', '.join(known)}")
    return [n for n in known if n in names]
