"""The fused LSTM + GCN interest model (training, evaluation, publishing)."""
