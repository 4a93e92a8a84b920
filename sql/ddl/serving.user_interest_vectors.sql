-- Published nightly user vectors: one partition per ds, written in ONE Delta commit (the publish
-- point), earlier days kept for rollback. Read them through serving.user_interest_vectors_current.
-- user_idx 0 ('__cold_start__') is the fallback for users with no history (popularity-like).
CREATE TABLE IF NOT EXISTS serving.user_interest_vectors (
  user_id       STRING      NOT NULL COMMENT 'User id as bronze.events holds it (pseudonym or raw id; __cold_start__ for the fallback row)',
  user_idx      INT         NOT NULL COMMENT 'silver.user_ids.user_idx (0 = cold-start fallback)',
  ds            DATE        NOT NULL COMMENT 'Day the vectors are as of (end of day)',
  model_version STRING      NOT NULL COMMENT 'Model that produced them (models/<version>/ under INTEREST_HOME)',
  fused         ARRAY<FLOAT> NOT NULL COMMENT 'Interest vector to score items with: gate * short_term + (1 - gate) * long_term',
  long_term     ARRAY<FLOAT> NOT NULL COMMENT 'LightGCN vector over the decayed co-interaction graph',
  short_term    ARRAY<FLOAT> NOT NULL COMMENT 'LSTM vector over the last L events (zeros without a recent session)',
  gate          ARRAY<FLOAT> NOT NULL COMMENT 'Per dimension, the share of short_term in fused (0 = long-term only)',
  updated_at    TIMESTAMP   NOT NULL COMMENT 'When the partition was published',
  mlflow_run_id STRING               COMMENT 'MLflow run that trained the model (null when not tracked)'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
