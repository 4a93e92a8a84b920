"""Full-ranking evaluation of any scorer on the targets of sequences (each predicted from the
positions before it)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from models.adjacency import Graph
from models.batch import Batch, row_chunks
from models.interest_model import InterestModel, score
from models.metrics import metrics_from_ranks, target_ranks

# A scorer maps a batch (on its device) to scores over every item per target, (N, num_items).
Scorer = Callable[[Batch], Tensor]


def model_scorer(model: InterestModel, graph: Graph) -> Scorer:
    def scores(batch: Batch) -> Tensor:
        with torch.no_grad():
            return score(*model(batch, graph))

    return scores


class SeenItems:
    """Per user, the items to mask when ranking (their training items). Kept as CSR arrays so the
    dense (B, I) mask only ever exists for one chunk of users."""

    def __init__(self, user_idx: Tensor, item_idx: Tensor, num_users: int) -> None:
        order = torch.argsort(item_idx, stable=True)
        order = order[torch.argsort(user_idx[order], stable=True)]
        users, self.items = user_idx[order], item_idx[order]
        self.offsets = torch.zeros(num_users + 1, dtype=torch.long)
        self.offsets[1:] = torch.bincount(users, minlength=num_users).cumsum(0)

    def mask(self, user_idx: Tensor, num_items: int) -> Tensor:
        """(B, num_items) bool: True where the row's user has seen the item."""
        mask = torch.zeros(len(user_idx), num_items, dtype=torch.bool)
        for row, user in enumerate(user_idx.tolist()):
            mask[row, self.items[self.offsets[user] : self.offsets[user + 1]]] = True
        return mask


def rank_targets(
    scorer: Scorer,
    inputs: Batch,
    seen: SeenItems,
    num_items: int,
    device: torch.device,
    also_mask: Tensor | None = None,
    chunk: int = 1024,
) -> Tensor:
    """1-based rank of each target among all items, the user's seen items (and, per target,
    ``also_mask`` (N,) item idx, e.g. the validation item at test time) removed. -> (N,).
    Scores ``chunk`` targets at a time."""
    ranks, done = [], 0
    for start, stop in row_chunks(inputs.num_targets, chunk):
        part = inputs.slice(start, stop).trimmed()
        targets, users = part.targets(), part.target_users()
        exclude = seen.mask(users, num_items)
        if also_mask is not None:
            extra = also_mask[done : done + len(targets)]
            exclude[torch.arange(len(targets)), extra] = extra > 0
        scores = scorer(part.to(device)).float().cpu()
        ranks.append(target_ranks(scores, targets, exclude))
        done += len(targets)
    return torch.cat(ranks) if ranks else torch.zeros(0, dtype=torch.long)


def evaluate(
    scorer: Scorer,
    inputs: Batch,
    seen: SeenItems,
    num_items: int,
    device: torch.device,
    also_mask: Tensor | None = None,
) -> dict[str, float]:
    """Recall/NDCG@10,20 and MRR@10 of the scorer on the targets of ``inputs``."""
    return metrics_from_ranks(rank_targets(scorer, inputs, seen, num_items, device, also_mask))
