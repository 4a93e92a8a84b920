-- Per day: records read, accepted and rejected by ingest, and whether they add up.
SELECT ds, counts['read'] AS read, counts['accepted'] AS accepted, counts['rejected'] AS rejected,
       counts['accepted'] + counts['rejected'] = counts['read'] AS reconciled, finished_at
FROM ops.job_runs
WHERE job = 'ingest'
ORDER BY ds
