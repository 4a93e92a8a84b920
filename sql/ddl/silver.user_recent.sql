-- Each user's last L events as of the end of ds (the state the examples job carries from day to
-- day, so a night reads yesterday's state instead of re-reading history). Users not seen on ds
-- carry over unchanged.
CREATE TABLE IF NOT EXISTS silver.user_recent (
  user_idx        INT             NOT NULL COMMENT 'silver.user_ids.user_idx',
  item_seq        ARRAY<INT>      NOT NULL COMMENT 'item_idx of the last (up to L) events, oldest first',
  type_seq        ARRAY<INT>      NOT NULL COMMENT 'Event type code per position',
  ts_seq          ARRAY<BIGINT>   NOT NULL COMMENT 'Event time per position, epoch seconds',
  new_session_seq ARRAY<INT>      NOT NULL COMMENT '1 where the position starts a session',
  ds              DATE            NOT NULL COMMENT 'State as of the end of this day'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
