-- Quarantined raw records: accepted + rejected = read, for every day.
CREATE TABLE IF NOT EXISTS bronze.events_rejected (
  source_file STRING NOT NULL COMMENT 'Raw file the record was read from',
  raw         STRING          COMMENT 'The raw line (JSONL, malformed CSV) or the record rendered as JSON (CSV, Parquet)',
  reason      STRING NOT NULL COMMENT 'unparseable | missing_user_id | missing_item_id | missing_event_type | bad_timestamp | unknown_event_type | bad_value | ts_out_of_day | duplicate',
  detail      STRING          COMMENT 'Human-readable detail (offending value)',
  ds          DATE   NOT NULL COMMENT 'Logical day (raw partition) the record arrived in'
) USING DELTA
PARTITIONED BY (ds)
LOCATION '{location}'
TBLPROPERTIES ('delta.enableDeletionVectors' = 'false')
