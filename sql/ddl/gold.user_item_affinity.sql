-- Long-term user-item edges, updated incrementally each day with lazy time decay: `weight` is the
-- value as of `updated_ds`; its value on day D is weight * 2^(-(D - updated_ds) / half_life_days)
-- (see the view gold.user_item_affinity_current). Edges decayed below min_edge_weight are pruned.
CREATE TABLE IF NOT EXISTS gold.user_item_affinity (
  user_idx   INT       NOT NULL COMMENT 'silver.user_ids.user_idx',
  item_idx   INT       NOT NULL COMMENT 'silver.item_ids.item_idx',
  weight     DOUBLE    NOT NULL COMMENT 'Decayed sum of event weights, as of updated_ds',
  count      BIGINT    NOT NULL COMMENT 'Number of events ever counted on this edge',
  last_ts    TIMESTAMP NOT NULL COMMENT 'Time of the latest event on this edge',
  updated_ds DATE      NOT NULL COMMENT 'Day weight was last updated'
) USING DELTA
LOCATION '{location}'
