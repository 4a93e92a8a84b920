-- One row per (job, ds): the row counts of the job's latest run for that day.
CREATE TABLE IF NOT EXISTS ops.job_runs (
  job         STRING NOT NULL COMMENT 'ingest | sessionize | ids | graph | examples | publish',
  ds          DATE   NOT NULL COMMENT 'Logical day',
  counts      MAP<STRING, BIGINT> NOT NULL COMMENT 'Row counts of the run (read, accepted, rejected, ...)',
  finished_at TIMESTAMP NOT NULL COMMENT 'When the run committed'
) USING DELTA
LOCATION '{location}'
