-- Every night's evaluation: the candidate model, its baselines and the last published model, on
-- the same split (one row per model and metric).
CREATE TABLE IF NOT EXISTS ops.model_metrics (
  ds            DATE      NOT NULL COMMENT 'Day evaluated (next-day protocol: targets are the events of this day)',
  model_version STRING    NOT NULL COMMENT 'Candidate model of the run',
  protocol      STRING    NOT NULL COMMENT 'B = next day (nightly); A = leave-one-out (benchmarks)',
  split         STRING    NOT NULL COMMENT 'valid (early stopping) | test (reported, gated on)',
  model         STRING    NOT NULL COMMENT 'candidate | previous | popularity | item_knn',
  metric        STRING    NOT NULL COMMENT 'recall@10, ndcg@10, recall@20, ndcg@20, mrr@10',
  value         DOUBLE    NOT NULL COMMENT 'Mean over the targets of the split',
  recorded_at   TIMESTAMP NOT NULL COMMENT 'When recorded'
) USING DELTA
LOCATION '{location}'
