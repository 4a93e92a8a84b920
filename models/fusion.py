"""Fusing short-term and long-term interest into one user vector."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GatedFusion(nn.Module):
    """A learned per-dimension gate (SLi-Rec / CLSR style):
    g = sigmoid(W [h_s; h_l; h_s * h_l] + b), u = g * h_s + (1 - g) * h_l.
    Users with no recent events get g = 0, i.e. their long-term vector.

    Shapes: h_s, h_l (B, D); has_recent (B,) bool -> u (B, D), g (B, D).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(3 * dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gate.reset_parameters()

    def forward(self, h_s: Tensor, h_l: Tensor, has_recent: Tensor) -> tuple[Tensor, Tensor]:
        g = torch.sigmoid(self.gate(torch.cat([h_s, h_l, h_s * h_l], dim=-1)))
        g = g * has_recent.unsqueeze(-1)
        return g * h_s + (1 - g) * h_l, g


class LinearFusion(nn.Module):
    """The seed's linear form I = sigmoid(W1 h_s + W2 h_l + W3 (h_s * h_l) + b), used as the user
    vector itself; its "gate" is reported as I so both variants publish the same columns.

    Shapes: h_s, h_l (B, D); has_recent (B,) bool -> u (B, D), g (B, D).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.short = nn.Linear(dim, dim)
        self.long = nn.Linear(dim, dim, bias=False)
        self.both = nn.Linear(dim, dim, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.short, self.long, self.both):
            layer.reset_parameters()

    def forward(self, h_s: Tensor, h_l: Tensor, has_recent: Tensor) -> tuple[Tensor, Tensor]:
        h_s = h_s * has_recent.unsqueeze(-1)
        u = torch.sigmoid(self.short(h_s) + self.long(h_l) + self.both(h_s * h_l))
        return u, u
