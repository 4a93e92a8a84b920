-- Quarantined records per day and reason, with one example of each.
SELECT ds, reason, count(*) AS records, first(detail) AS example_detail
FROM bronze.events_rejected
GROUP BY ds, reason
ORDER BY ds, records DESC
