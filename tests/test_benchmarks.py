"""The benchmark scripts still run against the product's code (tiny sizes; no figures checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from warehouse import REPO_ROOT


def test_scale_model_runs_the_products_training_step(tmp_path: Path) -> None:
    out = tmp_path / "scale_model.json"
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "scale_model.py"), "--users", "300",
               "--items", "200", "--edges", "3000", "--steps", "2", "--label", "tiny",
               "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, cwd=REPO_ROOT, capture_output=True)
    figures = json.loads(out.read_text())["tiny"]
    assert figures["loss"] == "full softmax"
    assert len(figures["step_s"]) == 2 and figures["targets_per_s"] > 0
    assert figures["peak_rss_mb"] >= figures["peak_rss_mb_after_graph"] > 0
