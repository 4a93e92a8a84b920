-- Item vectors that user vectors are scored against (dot product), keyed by (ds, model_version):
-- written BEFORE the user vectors of the same (ds, model_version), so whatever user partition is
-- visible always has its items.
CREATE TABLE IF NOT EXISTS serving.item_vectors (
  item_id       STRING       NOT NULL COMMENT 'Raw item id',
  item_idx      INT          NOT NULL COMMENT 'silver.item_ids.item_idx',
  ds            DATE         NOT NULL COMMENT 'Day the vectors are as of',
  model_version STRING       NOT NULL COMMENT 'Model that produced them',
  vector        ARRAY<FLOAT> NOT NULL COMMENT 'Item vector',
  updated_at    TIMESTAMP    NOT NULL COMMENT 'When the rows were written',
  mlflow_run_id STRING                COMMENT 'MLflow run that trained the model (null when not tracked)'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
