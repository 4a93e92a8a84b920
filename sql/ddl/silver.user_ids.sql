-- Stable dense user ids: append-only, an id once given never changes (embedding rows line up).
CREATE TABLE IF NOT EXISTS silver.user_ids (
  user_id  STRING NOT NULL COMMENT 'User id as bronze.events holds it (pseudonym or raw id); forgotten:<user_idx> once the user was forgotten (the index is never given again)',
  user_idx INT    NOT NULL COMMENT 'Dense id, from 1 (0 is reserved for unknown/padding)',
  first_ds DATE   NOT NULL COMMENT 'Day the user was first seen'
) USING DELTA
LOCATION '{location}'
