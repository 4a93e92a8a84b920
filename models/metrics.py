"""Top-K ranking metrics for one held-out target per user (leave-one-out, full ranking).

With a single relevant item the usual definitions reduce to functions of its rank r (1-based):
Recall@K = [r <= K], NDCG@K = [r <= K] / log2(r + 1) (the ideal DCG is 1), MRR@K = [r <= K] / r.
"""

from __future__ import annotations

import torch
from torch import Tensor

from warehouse.publication import METRICS


def target_ranks(scores: Tensor, target: Tensor, exclude: Tensor | None = None) -> Tensor:
    """1-based rank of each row's target among all items, after removing ``exclude`` items.

    Ties count against the target (an item scoring equal to it ranks above), so a constant scorer
    earns nothing. Shapes: scores (B, I), target (B,), exclude (B, I) bool -> (B,) long.
    """
    if exclude is not None:
        scores = scores.masked_fill(exclude, float("-inf"))
    target_score = scores.gather(1, target.unsqueeze(1))
    above = (scores >= target_score).sum(1)  # includes the target itself
    return above


def metrics_from_ranks(ranks: Tensor) -> dict[str, float]:
    """Mean of each metric in METRICS over the rows. Shapes: ranks (N,) -> {name: value}."""
    ranks = ranks.double()
    out = {}
    for k in (10, 20):
        hit = ranks <= k
        out[f"recall@{k}"] = hit.double().mean().item()
        out[f"ndcg@{k}"] = (hit / torch.log2(ranks + 1)).mean().item()
    out["mrr@10"] = ((ranks <= 10) / ranks).mean().item()
    return {name: out[name] for name in METRICS}
