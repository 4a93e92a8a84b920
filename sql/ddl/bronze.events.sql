-- Accepted raw events of one logical day; exactly one row per event_id (duplicates are rejected).
CREATE TABLE IF NOT EXISTS bronze.events (
  event_id    STRING    NOT NULL COMMENT 'Given event_id, else sha256 of user_id|item_id|event_type|ts_ms|value',
  user_id     STRING    NOT NULL COMMENT 'User id: its pseudonym (HMAC-SHA256 of the raw id, 32 hex characters), or the raw id when pseudonymisation is off',
  item_id     STRING    NOT NULL COMMENT 'Raw item id as in the log',
  event_type  STRING    NOT NULL COMMENT 'One of the configured event types (view, click, cart, purchase, rating, ...)',
  weight      DOUBLE    NOT NULL COMMENT 'Configured weight of the type; for rating events the rating value',
  ts          TIMESTAMP NOT NULL COMMENT 'Event time (UTC)',
  extra       MAP<STRING, STRING> COMMENT 'Fields of the record beyond the contract, kept as text',
  source_file STRING    NOT NULL COMMENT 'Raw file the event was read from',
  ds          DATE      NOT NULL COMMENT 'Logical day (raw partition) the event arrived in'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
