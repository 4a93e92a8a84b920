-- Quarantined raw records: accepted + rejected = read, for every day.
CREATE TABLE IF NOT EXISTS bronze.events_rejected (
  source_file STRING NOT NULL COMMENT 'Raw file the record was read from',
  raw         STRING          COMMENT 'The raw line (JSONL) or the record rendered as JSON (CSV, Parquet); valid UTF-8, cut to 4 KiB for record_too_long',
  reason      STRING NOT NULL COMMENT 'record_too_long | bad_encoding | unparseable | missing_user_id | missing_item_id | bad_value | id_too_long | id_control_character | missing_event_type | unknown_event_type | bad_timestamp | ts_out_of_day | forgotten_user (raw not kept) | duplicate',
  detail      STRING          COMMENT 'Human-readable detail (offending value)',
  ds          DATE   NOT NULL COMMENT 'Logical day (raw partition) the record arrived in'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
