-- Which day each long-term graph table has absorbed, and its Delta versions around that update,
-- so that a rerun of the latest day restores the previous state first (idempotent reruns).
CREATE TABLE IF NOT EXISTS ops.graph_log (
  table_name     STRING NOT NULL COMMENT 'gold.user_item_affinity | gold.item_cooccurrence',
  ds             DATE   NOT NULL COMMENT 'Day applied',
  version_before BIGINT NOT NULL COMMENT 'Delta version before the day was applied',
  version_after  BIGINT NOT NULL COMMENT 'Delta version after the day was applied'
) USING DELTA
LOCATION '{location}'
