-- Stable dense item ids: append-only, an id once given never changes (embedding rows line up).
CREATE TABLE IF NOT EXISTS silver.item_ids (
  item_id  STRING NOT NULL COMMENT 'Raw item id',
  item_idx INT    NOT NULL COMMENT 'Dense id, from 1 (0 is the padding index of sequences)',
  first_ds DATE   NOT NULL COMMENT 'Day the item was first seen'
) USING DELTA
LOCATION '{location}'
