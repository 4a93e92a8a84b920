"""Training on a tiny synthetic warehouse built by the real ETL (Spark + Delta), read back by
Petastorm: the fused model beats popularity next day, the row-count guard fails short epochs,
a resumed run equals an uninterrupted one, and 2-process DDP trains as well."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import torch
from petastorm import make_batch_reader

from models import tracking
from models.baselines import Popularity
from models.distributed import fit_parallel
from models.examples_reader import EpochBatches, ShortRead
from models.losses import sampled_softmax_loss
from models.next_day import NextDay
from models.nightly import load_model, model_dir
from models.train import build_model, fit, loss_for_batch, pick_device
from models.train_config import TrainConfig
from models.training_data import load_train_data
from warehouse.lake import read_arrow
from warehouse.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]
TRAIN_LAST, EVAL_DAY = date(2026, 5, 3), date(2026, 5, 4)  # conftest.model_warehouse
TINY = TrainConfig(dim=16, batch_size=64, max_epochs=4, patience=2, lr=5e-3, dropout=0.1)
HISTORICAL = {"exact_propagation_max_edges": 0, "propagation_refresh_steps": 3}


@pytest.fixture(scope="module")
def data(model_warehouse):
    return load_train_data(model_warehouse, TRAIN_LAST)


@pytest.fixture(scope="module")
def next_day(model_warehouse, data):
    return NextDay.of(model_warehouse, EVAL_DAY, data.num_users, data.num_items)


def test_sequences_are_read_whole_by_petastorm(model_warehouse, data):
    expected = read_arrow(
        model_warehouse, "gold.training_sequences", ["num_targets"], (None, TRAIN_LAST)
    )
    epoch = EpochBatches(data.files, batch_size=100, seed=1)
    batches = list(epoch)
    assert sum(len(b) for b in batches) == data.files.rows == expected.num_rows
    targets = sum(int(b.num_targets.sum()) for b in batches)
    assert targets == data.files.targets == 4500  # every event of the days, once
    assert all(b.item_seq.size(1) <= data.files.width for b in batches)
    epoch.check()


def test_a_short_read_fails_the_epoch(data):
    def loses_a_file(urls, **kwargs):
        return make_batch_reader(urls[1:], **kwargs)

    assert len(data.files.urls) > 1
    epoch = EpochBatches(data.files, batch_size=100, seed=1, make_reader=loses_a_file)
    with pytest.raises(ShortRead, match="refusing to train on partial data"):
        for _ in epoch:
            pass
        epoch.check()


def test_fused_model_beats_popularity_next_day(data, next_day, tmp_path):
    result = fit(TINY, data, next_day.validate, tmp_path, show_progress=False)
    pop = next_day.metrics(
        Popularity.of_targets(train_targets(data), data.num_items), torch.device("cpu")
    )
    assert result.best_valid["ndcg@10"] > pop["ndcg@10"] * 1.2, (result.best_valid, pop)
    assert result.best_valid["recall@10"] > pop["recall@10"], (result.best_valid, pop)


def test_sampled_softmax_trains_when_the_catalog_is_above_the_threshold(data, next_day, tmp_path):
    """Above full_softmax_max_items the loss is sampled softmax with logQ correction; it must
    still learn: better than popularity on the next day."""
    assert data.num_items > 50
    config = TINY.model_copy(update={"full_softmax_max_items": 50, "num_negatives": 64})
    batch = next(iter(EpochBatches(data.files, batch_size=8, seed=0)))
    model = build_model(config, data)
    torch.manual_seed(0)
    sampled = loss_for_batch(model, batch, data.graph, config, data)
    torch.manual_seed(0)
    users, items = model(batch, data.graph)
    expected = sampled_softmax_loss(users, items, batch.targets(), data.log_q, 64)
    torch.testing.assert_close(sampled, expected)

    result = fit(config, data, next_day.validate, tmp_path, show_progress=False)
    pop = next_day.metrics(
        Popularity.of_targets(train_targets(data), data.num_items), torch.device("cpu")
    )
    assert result.best_valid["ndcg@10"] > pop["ndcg@10"] * 1.2, (result.best_valid, pop)


def test_historical_propagation_trains_when_the_graph_is_above_the_threshold(
    data, next_day, tmp_path
):
    """Above exact_propagation_max_edges LightGCN's layers are refreshed every few steps; the
    model must still learn: better than popularity on the next day."""
    config = TINY.model_copy(update=HISTORICAL)
    assert build_model(config, data).long_term.refresh_steps == 3
    result = fit(config, data, next_day.validate, tmp_path, show_progress=False)
    pop = next_day.metrics(
        Popularity.of_targets(train_targets(data), data.num_items), torch.device("cpu")
    )
    assert result.best_valid["ndcg@10"] > pop["ndcg@10"] * 1.2, (result.best_valid, pop)


@pytest.mark.parametrize("propagation", [{}, HISTORICAL], ids=["exact", "historical"])
def test_resume_after_a_crash_equals_an_uninterrupted_run(data, next_day, tmp_path, propagation):
    config = TINY.model_copy(update={"max_epochs": 2, "patience": 5, **propagation})
    straight = fit(config, data, next_day.validate, tmp_path / "straight", show_progress=False)
    first = fit(config.model_copy(update={"max_epochs": 1}), data, next_day.validate,
                tmp_path / "resumed", show_progress=False)  # fmt: skip
    assert first.epochs == 1
    # as if the process died after epoch 1: a new run finds last.pt and goes on from there
    resumed = fit(config, data, next_day.validate, tmp_path / "resumed", show_progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert resumed.history[-1]["loss"] == pytest.approx(straight.history[-1]["loss"], rel=1e-5)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=False)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=name)


def test_two_process_ddp_trains_to_equivalent_quality(data, next_day, tmp_path):
    single = fit(TINY, data, next_day.validate, tmp_path / "one", show_progress=False)
    double = fit_parallel(TINY, data, next_day.validate, tmp_path / "two", processes=2)
    assert double.epochs >= 2 and (tmp_path / "two" / "best.pt").exists()
    assert double.best_valid["ndcg@10"] > 0.8 * single.best_valid["ndcg@10"], (single, double)
    model = build_model(TINY, data)
    model.load_state_dict(torch.load(tmp_path / "two" / "best.pt"))


def test_ranks_started_by_torchrun_train_as_the_in_process_ranks(model_warehouse, tmp_path):
    """Across machines a launcher starts each rank (infra/k8s/train-multihost.yaml runs torchrun
    in every pod): 2 ranks started by torchrun on this machine give the model 2 ranks started by
    `interest train --processes 2` give, and only rank 0 records the night."""
    bin_dir = Path(sys.executable).parent
    runs = {
        "in-process": [bin_dir / "interest", "train", "--processes", "2"],
        "torchrun": [bin_dir / "torchrun", "--standalone", "--nproc-per-node", "2", "--no-python",
                     bin_dir / "interest", "train"],
    }  # fmt: skip
    models = {}
    for name, command in runs.items():
        home = shutil.copytree(model_warehouse.home, tmp_path / name)
        env = {**os.environ, "INTEREST_HOME": str(home)}
        done = subprocess.run([*map(str, command), "--ds", str(EVAL_DAY), "--epochs", "2"],
                              env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        (folder,) = (home / "models").glob("*/train.json")
        models[name] = torch.load(folder.parent / "best.pt")
        mlflow = tracking.client(Settings(home=home))
        (experiment,) = [e for e in mlflow.search_experiments() if e.name == tracking.NIGHTLY]
        assert len(mlflow.search_runs([experiment.experiment_id])) == 1  # one record of the night
    for key, weights in models["in-process"].items():
        torch.testing.assert_close(models["torchrun"][key], weights, msg=key)


def train_targets(data) -> torch.Tensor:
    epoch = EpochBatches(data.files, batch_size=1000, seed=0)
    return torch.cat([b.targets() for b in epoch])


def test_an_older_model_grown_to_todays_ids_loads_the_same_every_time(data, tmp_path):
    """The gate's "previous" model gets rows for ids it never saw; they start from its seed, so
    evaluating it twice (a rerun of the night) gives the same metrics and the same decision."""
    settings = Settings(home=tmp_path)
    folder = model_dir(settings, "older")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(TINY.model_dump_json())
    state = build_model(TINY, data).state_dict()
    fewer_ids = {k: v[: v.shape[0] // 2] if v.dim() == 2 else v for k, v in state.items()}
    torch.save(fewer_ids, folder / "best.pt")
    first, second = (load_model(settings, "older", data).state_dict() for _ in range(2))
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_runs_on_the_gpu_and_its_checkpoint_loads_on_cpu(data, next_day, tmp_path):
    assert pick_device().type == "cuda"
    result = fit(TINY.model_copy(update={"max_epochs": 2}), data, next_day.validate, tmp_path,
                 show_progress=False)  # fmt: skip
    assert result.epochs == 2 and result.targets_per_s > 0
    assert 0.0 < result.best_valid["ndcg@10"] <= 1.0
    # the best weights, saved from the GPU, serve a CPU model with the same validation figure
    on_cpu = build_model(TINY, data)
    on_cpu.load_state_dict(torch.load(tmp_path / "best.pt", map_location="cpu"))
    cpu_valid = next_day.validate(on_cpu.eval(), data.graph, torch.device("cpu"))
    assert cpu_valid["ndcg@10"] == pytest.approx(result.best_valid["ndcg@10"], abs=1e-4)
