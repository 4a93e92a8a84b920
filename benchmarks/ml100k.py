"""MovieLens-100K, Protocol A: the fused model vs its ablations, popularity and item-KNN, with the
RecBole 1.2.1 anchors (docs/anchors.md; figures in benchmarks/anchors/recbole-ml100k.json) beside
them.

    .venv/bin/python benchmarks/ml100k.py --data DIR [--seeds 2020 2021 2022] [--work DIR]

DIR holds ml-100k.inter (RecBole's copy of MovieLens-100K) and ml-100k.loo-split.tsv (per user the
validation and test item); docs/evaluation.md says where both come from.

1. ``interest import-movielens ml-100k.inter --exclude-split ml-100k.loo-split.tsv``: the
   validation and test ratings never reach the warehouse (no leakage);
2. ``interest etl --bulk`` over the whole date range (skipped when the warehouse is complete);
3. per seed: train fused, lstm_only and gcn_only (early stopping on validation NDCG@10), score
   the best epoch on test; popularity and item-KNN on the same split.
Writes benchmarks/results/ml100k.json and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from models.compare import compare
from models.train_config import TrainConfig
from warehouse import REPO_ROOT
from warehouse.publication import METRICS
from warehouse.settings import Settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "ml100k.json"
ANCHORS = REPO_ROOT / "benchmarks" / "anchors" / "recbole-ml100k.json"
DATA_FILES = ("ml-100k.inter", "ml-100k.loo-split.tsv")
INTEREST = str(Path(sys.executable).parent / "interest")


def prepare_warehouse(data: Path, work: Path) -> Path:
    """Import + bulk ETL once; returns the held-out file. A marker makes reruns skip it."""
    held_out = work / "heldout.jsonl"
    done = work / ".etl-complete"
    if done.exists():
        return held_out
    missing = [name for name in DATA_FILES if not (data / name).is_file()]
    if missing:
        sys.exit(f"ml100k: {', '.join(missing)} not in {data} (see docs/evaluation.md)")
    env = {**os.environ, "INTEREST_HOME": str(work)}
    # The warehouse's own pseudonym key (ingest pseudonymises user ids), kept with it: a rerun
    # over the finished warehouse must map the held-out users to the same ids.
    subprocess.run([INTEREST, "keygen", "--if-missing"], env=env, check=True)
    imported = subprocess.run(
        [INTEREST, "import-movielens", str(data / "ml-100k.inter"),
         "--exclude-split", str(data / "ml-100k.loo-split.tsv"), "--held-out", str(held_out)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    print(imported.stdout, end="")
    first, last = json.loads(imported.stdout.strip().splitlines()[-1])["days"]
    subprocess.run([INTEREST, "etl", "--from", first, "--to", last, "--bulk"], env=env, check=True)
    done.touch()
    return held_out


def print_table(results: dict, anchors: dict[str, dict]) -> None:
    table = Table(title="ML-100K, Protocol A (test; mean over seeds)")
    table.add_column("model")
    for metric in (*METRICS, "train s"):
        table.add_column(metric, justify="right")
    for name, row in results["models"].items():
        means = [sum(row[m]) / len(row[m]) for m in (*METRICS, "train_s")]
        table.add_row(name, *[f"{v:.4f}" for v in means[:-1]], f"{means[-1]:.0f}")
    for name, anchor in anchors.items():  # benchmarks/anchors/recbole-ml100k.json: name -> metrics
        table.add_row(
            name if "source" in anchor else f"RecBole {name}",  # "source": not a RecBole run
            *[f"{anchor[m]:.4f}" for m in METRICS],
            f"{anchor['train_s']:.0f}" if "train_s" in anchor else "",
        )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[2020, 2021, 2022])
    parser.add_argument("--models", nargs="+", default=["fused", "lstm_only", "gcn_only"])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder with ml-100k.inter and ml-100k.loo-split.tsv (docs/evaluation.md)",
    )
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "var" / "ml100k")
    parser.add_argument(
        "--config", type=json.loads, default={}, help="TrainConfig overrides (JSON)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    held_out = prepare_warehouse(args.data, args.work)
    os.environ["INTEREST_HOME"] = str(args.work)
    configs = {name: TrainConfig(variant=name, **args.config) for name in args.models}
    results = compare(Settings(), held_out, args.seeds, configs, args.work / "runs")
    results["config"] = {name: c.model_dump() for name, c in configs.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results, json.loads(ANCHORS.read_text()) if ANCHORS.exists() else {})


if __name__ == "__main__":
    main()
