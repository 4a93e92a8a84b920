"""Long-term interest: LightGCN propagation over the decayed user-item co-interaction graph."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import LGConv


class SymmetricMatmul(torch.autograd.Function):
    """adj @ x for a symmetric sparse adj. Its gradient is adj @ grad (adj^T = adj): torch's own
    backward transposes the CSR matrix (a sort of every edge) on every step, measured at a fifth
    of a training step on ML-100K."""

    @staticmethod
    def forward(ctx, adj: Tensor, x: Tensor) -> Tensor:
        ctx.adj = adj
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adj, grad)


class SymmetricLGConv(LGConv):
    """PyG's ``LGConv`` over a symmetric adjacency (models.adjacency.Graph's), with the cheap
    backward of ``SymmetricMatmul``."""

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return SymmetricMatmul.apply(adj_t, x)


class LongTermEncoder(nn.Module):
    """LightGCN (He et al. 2020) with PyG's ``LGConv``: K rounds of symmetric-normalised weighted
    propagation over one graph whose nodes are users then items; the output is the mean of the K+1
    layers. The decayed edge weights of gold.user_item_affinity weight the propagation.

    Args:
        num_users: user rows (dense ids from 1; row 0 unused).
        item_embedding: the shared item embedding table (index 0 = padding).
        num_layers: propagation rounds K.
        refresh_steps: 0 = exact: every training call propagates over the whole graph with its
            gradient. N > 0 = historical: training calls take the propagated layers from a no-grad
            propagation redone every N calls (and whenever training starts) and only the nodes'
            own embeddings carry the gradient, so a step costs the batch, not the graph (the
            historical embeddings of Fey et al. 2021, GNNAutoScale). Evaluation is always exact.

    Shapes:
        adj (N, N) sparse, N = num_users + num_items, already normalised (models.adjacency.Graph
        does it once, not on every forward) -> users (num_users, D), items (num_items, D).
    """

    def __init__(
        self,
        num_users: int,
        item_embedding: nn.Embedding,
        num_layers: int = 2,
        refresh_steps: int = 0,
    ) -> None:
        super().__init__()
        self.num_users = num_users
        self.user_embedding = nn.Embedding(num_users, item_embedding.embedding_dim)
        self.item_embedding = item_embedding
        self.convs = nn.ModuleList(SymmetricLGConv(normalize=False) for _ in range(num_layers))
        self.refresh_steps = refresh_steps
        self._propagated: Tensor | None = None  # historical: the sum of layers 1..K
        self._calls = 0
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.user_embedding.weight, std=0.1)

    def train(self, mode: bool = True) -> LongTermEncoder:
        self._propagated, self._calls = None, 0  # weights may have been loaded or stepped since
        return super().train(mode)

    def historical(self, adj: Tensor, users: Tensor) -> tuple[Tensor, Tensor]:
        """The vectors of ``users`` (M,) -> (M, D) and of every item, each the mean of the node's
        own embedding (with its gradient) and its propagated layers as of the last refresh."""
        if self._propagated is None or self._calls % self.refresh_steps == 0:
            with torch.no_grad():
                x = torch.cat([self.user_embedding.weight, self.item_embedding.weight])
                self._propagated = torch.zeros_like(x)
                for conv in self.convs:
                    x = conv(x, adj)
                    self._propagated += x
        self._calls += 1
        layers = len(self.convs) + 1
        own = self.user_embedding(users) + self._propagated[users]
        items = self.item_embedding.weight + self._propagated[self.num_users :]
        return own / layers, items / layers

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.user_embedding.weight, self.item_embedding.weight])
        layers = [x]
        for conv in self.convs:
            x = conv(x, adj)
            layers.append(x)
        out = torch.stack(layers).mean(0)
        return out[: self.num_users], out[self.num_users :]
