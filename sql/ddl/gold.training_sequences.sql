-- The training sequences: per user and day, the day's accepted events in order (the targets)
-- after the context the night knew before them (the user's last L events of earlier days, from
-- silver.user_recent). The model runs once over a row and predicts every target from the
-- positions before it. A day with more events than targets_per_row is cut into rows of that many
-- targets, each after the L events before it. Read by Petastorm: every column the model
-- needs lives in the data files.
CREATE TABLE IF NOT EXISTS gold.training_sequences (
  user_idx        INT           NOT NULL COMMENT 'silver.user_ids.user_idx',
  chunk           INT           NOT NULL COMMENT 'Row of the day of the user, from 0, in time order',
  item_seq        ARRAY<INT>    NOT NULL COMMENT 'item_idx per position: num_context context events, then num_targets targets, oldest first',
  type_seq        ARRAY<INT>    NOT NULL COMMENT 'Event type code per position: 1 + index of the type in the sorted configured types',
  ts_seq          ARRAY<BIGINT> NOT NULL COMMENT 'Event time per position, epoch seconds',
  new_session_seq ARRAY<INT>    NOT NULL COMMENT '1 where the position starts a session',
  num_context     INT           NOT NULL COMMENT 'Leading positions that are context only (known before the first target)',
  num_targets     INT           NOT NULL COMMENT 'Positions after the context: the events of ds to predict',
  ds              DATE          NOT NULL COMMENT 'Logical day of the targets'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
