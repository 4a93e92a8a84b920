-- A user's strongest long-term items today, with when they were last touched (param: user_id).
SELECT i.item_id, a.item_idx, round(a.weight, 3) AS weight, a.count, a.last_ts, a.as_of
FROM gold.user_item_affinity_current a
JOIN silver.user_ids u ON u.user_idx = a.user_idx
JOIN silver.item_ids i ON i.item_idx = a.item_idx
WHERE u.user_id = '${user_id}'
ORDER BY a.weight DESC
