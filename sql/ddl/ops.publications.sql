-- The gate's decision per night: published, or refused and why.
CREATE TABLE IF NOT EXISTS ops.publications (
  ds               DATE      NOT NULL COMMENT 'Day of the vectors',
  model_version    STRING    NOT NULL COMMENT 'Candidate model',
  decision         STRING    NOT NULL COMMENT 'published | refused | rolled_back (published, then taken back by interest rollback)',
  reason           STRING    NOT NULL COMMENT 'Why, with the figures compared',
  candidate_ndcg10 DOUBLE    NOT NULL COMMENT 'Candidate test NDCG@10 (next day)',
  previous_version STRING             COMMENT 'Last published model (null on the first night)',
  previous_ndcg10  DOUBLE             COMMENT 'Its NDCG@10 on the same split',
  users            BIGINT    NOT NULL COMMENT 'User rows published (0 when refused)',
  decided_at       TIMESTAMP NOT NULL COMMENT 'When decided',
  mlflow_run_id    STRING             COMMENT 'MLflow run that trained the model (null when not tracked: models/tracking.py)'
) USING DELTA
LOCATION '{location}'
