-- One example per accepted event of the day: the L items before it (across sessions and days,
-- most recent last, left-padded with 0) -> the event's item. Read by Petastorm: every column the
-- model needs lives in the data files (ds is a partition column, so target_ts carries the day).
CREATE TABLE IF NOT EXISTS gold.training_examples (
  user_idx        INT        NOT NULL COMMENT 'silver.user_ids.user_idx',
  item_seq        ARRAY<INT> NOT NULL COMMENT 'Last L item_idx before the target, left-padded with 0',
  type_seq        ARRAY<INT> NOT NULL COMMENT 'Event type code per position: 1 + index of the type in the sorted configured types (0 = padding)',
  gap_seq         ARRAY<FLOAT> NOT NULL COMMENT 'log1p(hours) between each position and the target time (0 = padding)',
  new_session_seq ARRAY<INT> NOT NULL COMMENT '1 where the position starts a session',
  seq_len         INT        NOT NULL COMMENT 'Number of real (non-padding) positions',
  target_item_idx INT        NOT NULL COMMENT 'item_idx of the event to predict',
  target_type     INT        NOT NULL COMMENT 'Event type code of the target',
  target_ts       BIGINT     NOT NULL COMMENT 'Target event time, epoch seconds',
  ds              DATE       NOT NULL COMMENT 'Logical day of the target event'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
TBLPROPERTIES ('delta.enableDeletionVectors' = 'false')
