-- Users removed by `interest forget-user`: ingest rejects their events up to forgotten_at (reason
-- forgotten_user, raw text not kept), so rerunning or backfilling a day from raw logs that still
-- hold them does not bring them back; events after forgotten_at are a new user's.
CREATE TABLE IF NOT EXISTS ops.forgotten_users (
  user_id      STRING    NOT NULL COMMENT 'User id as bronze.events held it (pseudonym or raw id)',
  forgotten_at TIMESTAMP NOT NULL COMMENT 'When the removal started; their events up to then are rejected',
  completed    BOOLEAN   NOT NULL COMMENT 'Every table done (false: interrupted, interest forget-user resumes it)'
) USING DELTA
LOCATION '{location}'
