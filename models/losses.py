"""Next-item losses: full softmax where the catalog fits, sampled softmax (logQ) beyond it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def full_softmax_loss(scores: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy over every item. Shapes: scores (B, I), target (B,) -> ()."""
    return F.cross_entropy(scores, target)


def sampled_softmax_loss(
    users: Tensor, items: Tensor, target: Tensor, log_q: Tensor, num_negatives: int
) -> Tensor:
    """Cross-entropy over the target and ``num_negatives`` items drawn from q (shared by the
    batch), each logit minus log q(item) so the estimate is unbiased for the full softmax
    (Yi et al. 2019); a sampled item equal to the row's target is masked out.

    Shapes: users (B, D), items (I, D), target (B,), log_q (I,) -> ().
    """
    negatives = torch.multinomial(log_q.exp(), num_negatives, replacement=True)
    positive = (users * items[target]).sum(-1, keepdim=True) - log_q[target].unsqueeze(1)
    negative = users @ items[negatives].T - log_q[negatives]
    negative = negative.masked_fill(negatives.unsqueeze(0) == target.unsqueeze(1), float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros_like(target))
