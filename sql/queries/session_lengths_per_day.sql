-- Session-length distribution per day (events per session and minutes per session).
SELECT ds, count(*) AS sessions,
       round(avg(n_events), 2) AS avg_events,
       percentile(n_events, 0.5) AS p50_events, percentile(n_events, 0.9) AS p90_events,
       max(n_events) AS max_events,
       round(avg((unix_seconds(session_end) - unix_seconds(session_start)) / 60.0), 1) AS avg_minutes,
       sum(CAST(continues_previous_day AS INT)) AS continued_from_previous_day
FROM silver.sessions
GROUP BY ds
ORDER BY ds
