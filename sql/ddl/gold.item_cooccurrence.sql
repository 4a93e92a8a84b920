-- Long-term item-item edges (both directions stored): items within cooccurrence_window positions
-- of each other in a session. Same lazy decay as gold.user_item_affinity; per item only the
-- max_neighbours strongest neighbours are kept.
CREATE TABLE IF NOT EXISTS gold.item_cooccurrence (
  item_idx     INT    NOT NULL COMMENT 'silver.item_ids.item_idx',
  neighbour_idx INT   NOT NULL COMMENT 'silver.item_ids.item_idx of the co-interacted item',
  weight       DOUBLE NOT NULL COMMENT 'Decayed co-occurrence weight, as of updated_ds',
  count        BIGINT NOT NULL COMMENT 'Number of co-occurrences ever counted',
  updated_ds   DATE   NOT NULL COMMENT 'Day weight was last updated'
) USING DELTA
LOCATION '{location}'
