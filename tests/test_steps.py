"""Each ETL job writes exactly the tables the step registry (warehouse/steps.py) says, on real
Spark + Delta: all of them on a warehouse's first day, never another one later (a later day may
leave a table as it is, e.g. silver.item_ids when no new item came)."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import table_versions

from jobs.pipeline import STEP_JOBS
from jobs.synthetic import SyntheticSpec, generate
from warehouse.steps import ETL_STEPS

pytestmark = pytest.mark.spark


def test_each_etl_job_writes_exactly_its_registered_tables(spark, make_warehouse) -> None:
    settings = make_warehouse()
    spec = SyntheticSpec(
        start=date(2026, 4, 1), days=2, events_per_day=200, users=30, items=25, clusters=3,
        bad_fraction=0.02, seed=3,
    )  # fmt: skip
    list(generate(spec, settings.raw_dir))
    assert list(STEP_JOBS) == [step.name for step in ETL_STEPS]
    first_day = spec.day_list[0]
    for ds in spec.day_list:
        for step in ETL_STEPS:
            before = table_versions(settings)
            STEP_JOBS[step.name].run(spark, settings, ds)
            after = table_versions(settings)
            changed = {table for table, version in after.items() if version != before[table]}
            assert changed <= set(step.writes), (ds, step.name)
            assert ds > first_day or changed == set(step.writes), (ds, step.name)
