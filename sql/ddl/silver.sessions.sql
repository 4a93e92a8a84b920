-- Sessions of one day: a user's events split by an inactivity gap and a maximum length.
-- Midnight rule: sessions never cross a partition boundary (a day is rebuilt alone); a session
-- starting within the gap of the user's last event of the previous day has continues_previous_day.
CREATE TABLE IF NOT EXISTS silver.sessions (
  session_id             STRING  NOT NULL COMMENT 'sha256 of user_id and the first event_id',
  user_id                STRING  NOT NULL COMMENT 'User id as bronze.events holds it (pseudonym or raw id)',
  session_start          TIMESTAMP NOT NULL COMMENT 'Time of the first event',
  session_end            TIMESTAMP NOT NULL COMMENT 'Time of the last event',
  n_events               INT     NOT NULL COMMENT 'Number of events (length of the arrays below)',
  item_ids               ARRAY<STRING>    NOT NULL COMMENT 'Raw item ids in time order (ties by event_id)',
  event_types            ARRAY<STRING>    NOT NULL COMMENT 'Event type per position',
  weights                ARRAY<DOUBLE>    NOT NULL COMMENT 'Event weight per position',
  event_ts               ARRAY<TIMESTAMP> NOT NULL COMMENT 'Event time per position',
  continues_previous_day BOOLEAN NOT NULL COMMENT 'Starts within the gap after the last event of this user on ds - 1',
  ds                     DATE    NOT NULL COMMENT 'Logical day'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
