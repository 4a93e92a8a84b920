"""Model and training hyperparameters: one typed object, saved with every checkpoint."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.interest_model import Fusion, Variant


class TrainConfig(BaseModel):
    """Defaults are the ones chosen on ML-100K validation (benchmarks/results/ml100k.json)."""

    variant: Variant = "fused"
    fusion: Fusion = "gate"
    dim: int = Field(64, gt=0)
    num_layers: int = Field(2, ge=1, description="LightGCN propagation rounds")
    dropout: float = Field(0.2, ge=0, lt=1)
    lr: float = Field(3e-3, gt=0, description="ML-100K validation: 3e-3 beat 1e-3 (0.128 vs 0.098)")
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(
        256, gt=0, description="targets per optimisation step (about: whole rows are read)"
    )
    max_epochs: int = Field(30, gt=0)
    patience: int = Field(3, ge=1, description="epochs without a better validation NDCG@10")
    seed: int = 2020
    full_softmax_max_items: int = Field(
        200_000, description="above this catalog size, sampled softmax with logQ correction"
    )
    num_negatives: int = Field(2048, gt=0, description="sampled softmax negatives per batch")
    exact_propagation_max_edges: int = Field(
        1_000_000,
        description="above this many user-item edges, training takes LightGCN's propagated "
        "layers from a refresh every propagation_refresh_steps steps (a step's cost stops "
        "growing with the graph)",
    )
    propagation_refresh_steps: int = Field(100, gt=0)
