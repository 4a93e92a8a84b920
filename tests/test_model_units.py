"""Model building blocks on toy inputs: shapes and hand-computed values."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
import torch

from models.adjacency import build_graph, decayed_weights
from models.baselines import ItemKNN, Popularity
from models.batch import Batch
from models.fusion import GatedFusion, LinearFusion
from models.history import query_rows
from models.interest_model import InterestModel, score
from models.long_term import LongTermEncoder
from models.losses import full_softmax_loss, sampled_softmax_loss
from models.metrics import metrics_from_ranks, target_ranks
from models.ranking import SeenItems
from models.short_term import ShortTermEncoder
from models.train import warm_start


def toy_batch(histories: list[list[int]], targets: list[int] | None = None) -> Batch:
    """User n + 1 has histories[n] (an event per hour), then the target an hour later."""
    rows = [
        {"item": np.array(h), "type": np.ones(len(h), dtype=np.int64),
         "ts": 3600 * np.arange(len(h)), "new_session": np.zeros(len(h), dtype=np.int64)}
        for h in histories
    ]  # fmt: skip
    targets = np.array(targets or [0] * len(rows))
    ts = np.array([3600 * len(h) for h in histories])
    return query_rows(rows, targets, ts, np.arange(1, len(rows) + 1), length=50)


def sequence_batch(items: list[list[int]], num_context: list[int], first_user: int = 1) -> Batch:
    """Rows of events an hour apart, right-padded; the positions after the context are targets."""
    width = max(len(r) for r in items)
    padded = torch.tensor([r + [0] * (width - len(r)) for r in items])
    real = (padded > 0).long()
    return Batch(
        user_idx=torch.arange(first_user, first_user + len(items)), item_seq=padded, type_seq=real,
        ts_seq=3600 * torch.arange(width).repeat(len(items), 1) * real,
        new_session_seq=torch.zeros_like(padded), num_context=torch.tensor(num_context),
        num_targets=torch.tensor([len(r) for r in items]) - torch.tensor(num_context),
    )  # fmt: skip


def test_metrics_match_hand_computed_values():
    got = metrics_from_ranks(torch.tensor([1, 3, 11, 25]))
    assert got["recall@10"] == pytest.approx(0.5)
    assert got["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / 4)
    assert got["recall@20"] == pytest.approx(0.75)
    assert got["ndcg@20"] == pytest.approx((1 + 1 / math.log2(4) + 1 / math.log2(12)) / 4)
    assert got["mrr@10"] == pytest.approx((1 + 1 / 3) / 4)


def test_target_rank_counts_items_scoring_at_least_the_target():
    scores = torch.tensor([[float("-inf"), 0.5, 0.3, 0.9], [float("-inf"), 1.0, 1.0, 1.0]])
    target = torch.tensor([2, 1])
    assert target_ranks(scores, target).tolist() == [3, 3]  # ties count against the target
    exclude = torch.tensor([[False, False, False, True], [False, False, True, True]])
    assert target_ranks(scores, target, exclude).tolist() == [2, 1]


def test_seen_items_mask_per_user():
    seen = SeenItems(torch.tensor([2, 1, 2]), torch.tensor([3, 1, 1]), num_users=3)
    assert seen.mask(torch.tensor([2, 1]), 4).tolist() == [
        [False, True, False, True],
        [False, True, False, False],
    ]


def test_short_term_encoder_is_causal_and_ignores_padding():
    torch.manual_seed(0)
    encoder = ShortTermEncoder(torch.nn.Embedding(10, 8, padding_idx=0), num_types=2).eval()
    batch = sequence_batch([[3, 4, 5, 6], [7]], num_context=[0, 0])

    def encode(b: Batch) -> torch.Tensor:
        return encoder(b.item_seq, b.type_seq, b.ts_seq, b.new_session_seq)

    out = encode(batch)
    assert out.shape == (2, 4, 8)
    torch.testing.assert_close(
        out[:, 0], encoder.empty.expand(2, -1) + encoder.elapsed_projection.bias
    )
    changed = sequence_batch([[3, 4, 9, 6], [7]], num_context=[0, 0])
    changed.item_seq[1, 1:] = 5  # garbage in the padding after a row's end
    changed.ts_seq[1, 1:] = 99_999
    again = encode(changed)
    # position 2 is predicted before it is read (and changes only what comes after it)
    torch.testing.assert_close(again[0, :3], out[0, :3])
    assert not torch.allclose(again[0, 3], out[0, 3])  # ... and position 3 after
    torch.testing.assert_close(again[1, 0], out[1, 0])


def test_one_causal_pass_gives_the_loss_of_each_target_on_its_own():
    """Training reads a row once and predicts every target; the loss equals predicting each
    target from its own row of the positions before it."""
    torch.manual_seed(0)
    graph = build_graph(np.array([1, 2]), np.array([1, 3]), np.array([1.0, 2.0]), 3, 8)
    model = InterestModel(3, 8, 2, dim=8, dropout=0.0).eval()
    row = [5, 2, 7, 1, 3, 6]  # two events of context, then four targets
    together = sequence_batch([row, [4, 2]], num_context=[2, 0])
    users, items = model(together, graph)
    one_pass = full_softmax_loss(score(users, items), together.targets())
    alone = [sequence_batch([row[: t + 1]], num_context=[t]) for t in range(2, 6)]
    alone += [sequence_batch([[4, 2]], num_context=[0], first_user=2)]  # the second row's
    losses = [
        full_softmax_loss(score(*model(b, graph)), b.targets()) * int(b.num_targets.sum())
        for b in alone
    ]
    torch.testing.assert_close(one_pass, torch.stack(losses).sum() / 6)
    assert together.targets().tolist() == [7, 1, 3, 6, 4, 2]


def test_windows_are_the_events_before_each_target():
    batch = sequence_batch([[5, 2, 7, 1], [4]], num_context=[2, 0])
    assert batch.windows(3).tolist() == [[0, 5, 2], [5, 2, 7], [0, 0, 0]]


def test_graph_normalisation_and_lightgcn_on_one_edge():
    # users 0..1 (0 unused), items 0..1 (0 = padding): one edge user 1 - item 1.
    graph = build_graph(np.array([1]), np.array([1]), np.array([3.0]), num_users=2, num_items=2)
    expected = torch.zeros(4, 4)
    expected[1, 3] = expected[3, 1] = 1.0  # w / sqrt(w * w), both directions
    torch.testing.assert_close(graph.adj.to_dense(), expected)
    items = torch.nn.Embedding(2, 4)
    encoder = LongTermEncoder(2, items, num_layers=1)
    users_out, items_out = encoder(graph.adj)
    u, i = encoder.user_embedding.weight[1], items.weight[1]
    torch.testing.assert_close(users_out[1], (u + i) / 2)  # mean of layer 0 and 1
    torch.testing.assert_close(items_out[1], (i + u) / 2)
    torch.testing.assert_close(users_out[0], encoder.user_embedding.weight[0] / 2)  # isolated


def test_historical_propagation_is_exact_when_fresh_and_stale_until_its_refresh():
    rng = np.random.default_rng(0)
    graph = build_graph(rng.integers(1, 6, 30), rng.integers(1, 8, 30), rng.random(30) + 0.5,
                        num_users=6, num_items=8)  # fmt: skip
    encoder = LongTermEncoder(6, torch.nn.Embedding(8, 4), num_layers=2, refresh_steps=2).train()
    users = torch.tensor([1, 3, 3, 5])

    def exact() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            all_users, items = encoder(graph.adj)
        return all_users[users], items

    fresh_users, fresh_items = encoder.historical(graph.adj, users)  # call 0 refreshes
    torch.testing.assert_close((fresh_users, fresh_items), exact())
    fresh_users.sum().backward()  # the gradient reaches only the batch users' own rows
    touched = encoder.user_embedding.weight.grad.abs().sum(1).nonzero().flatten()
    assert touched.tolist() == [1, 3, 5]
    assert encoder.item_embedding.weight.grad is None
    with torch.no_grad():
        encoder.user_embedding.weight.mul_(2.0)  # as if an optimiser step moved the weights
    stale_users, stale_items = encoder.historical(graph.adj, users)  # call 1: layers of call 0
    assert not torch.allclose(stale_users, exact()[0])  # layer 2 of a user: other users
    assert not torch.allclose(stale_items, exact()[1])  # layer 1 of an item: its users
    torch.testing.assert_close(encoder.historical(graph.adj, users), exact())  # call 2: refreshed
    encoder.train()  # a new epoch (or loaded weights) starts from a fresh propagation
    with torch.no_grad():
        encoder.user_embedding.weight.add_(1.0)
    torch.testing.assert_close(encoder.historical(graph.adj, users), exact())


def test_decay_halves_per_half_life():
    got = decayed_weights(
        np.array([8.0, 8.0]), np.array(["2026-01-01", "2026-01-31"], dtype="datetime64[D]"),
        date(2026, 1, 31), 30.0,
    )  # fmt: skip
    np.testing.assert_allclose(got, [4.0, 8.0])


def test_gate_falls_back_to_long_term_without_recent_events():
    fusion = GatedFusion(4)
    h_s, h_l = torch.randn(2, 4), torch.randn(2, 4)
    u, g = fusion(h_s, h_l, torch.tensor([True, False]))
    torch.testing.assert_close(u[1], h_l[1])
    assert (g[1] == 0).all() and ((g[0] > 0) & (g[0] < 1)).all()
    assert LinearFusion(4)(h_s, h_l, torch.tensor([True, False]))[0].shape == (2, 4)


@pytest.mark.parametrize("variant", ["fused", "lstm_only", "gcn_only"])
@pytest.mark.parametrize("fusion", ["gate", "linear"])
def test_model_shapes_and_padding_item_never_ranked(variant, fusion):
    graph = build_graph(np.array([1, 2]), np.array([1, 3]), np.array([1.0, 2.0]), 3, 5)
    model = InterestModel(3, 5, 2, dim=8, variant=variant, fusion=fusion)
    batch = toy_batch([[1, 2], []], targets=[3, 4])
    vectors, items = model.encode(batch, graph)
    assert vectors.fused.shape == vectors.gate.shape == (2, 8) and items.shape == (5, 8)
    if variant == "fused" and fusion == "gate":  # no history: the long-term vector alone
        assert (vectors.gate[1] == 0).all() and (vectors.gate[0] > 0).all()
    scores = score(*model(batch, graph))
    assert scores.shape == (2, 5) and torch.isinf(scores[:, 0]).all()
    full_softmax_loss(scores, batch.targets()).backward()


def test_sampled_softmax_masks_accidental_hits():
    users, items = torch.randn(3, 4, requires_grad=True), torch.randn(6, 4)
    target = torch.tensor([2, 2, 2])
    only_target = torch.full((6,), -1e9)
    only_target[2] = 0.0  # q puts all mass on the target: every negative is a hit, masked
    assert sampled_softmax_loss(users, items, target, only_target, 5).item() == pytest.approx(0.0)
    uniform = torch.full((6,), math.log(1 / 6))
    loss = sampled_softmax_loss(users, items, torch.tensor([1, 2, 3]), uniform, 50)
    loss.backward()
    assert loss.item() > 0 and users.grad.abs().sum() > 0


def test_warm_start_keeps_old_rows_of_grown_embeddings():
    old = InterestModel(3, 5, 2, dim=4)
    new = InterestModel(4, 7, 2, dim=4)
    skipped = warm_start(new, old.state_dict())
    assert skipped == []
    torch.testing.assert_close(new.item_embedding.weight[:5], old.item_embedding.weight)
    torch.testing.assert_close(
        new.long_term.user_embedding.weight[:3], old.long_term.user_embedding.weight
    )


def test_popularity_and_item_knn_scores():
    pop = Popularity.of_targets(torch.tensor([1, 2, 2, 3, 2]), num_items=4)
    assert pop(toy_batch([[1]])).tolist() == [[float("-inf"), 1.0, 3.0, 1.0]]
    # co-occurrence 1-2 weight 2 and 2-3 weight 1, both directions: degrees 2, 3, 1
    knn = ItemKNN(
        torch.tensor([1, 2, 2, 3]),
        torch.tensor([2, 1, 3, 2]),
        torch.tensor([2.0, 2.0, 1.0, 1.0]),
        4,
    )
    got = knn(toy_batch([[1]]))[0]
    assert got[2].item() == pytest.approx(2 / math.sqrt(6))
    assert got[3].item() == 0.0 and got[1].item() == 0.0
