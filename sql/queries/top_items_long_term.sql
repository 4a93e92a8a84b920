-- Items with the largest long-term weight summed over users, as of the graph's latest day.
SELECT i.item_id, a.item_idx, round(sum(a.weight), 3) AS long_term_weight,
       count(*) AS users, sum(a.count) AS events
FROM gold.user_item_affinity_current a
JOIN silver.item_ids i ON i.item_idx = a.item_idx
GROUP BY i.item_id, a.item_idx
ORDER BY long_term_weight DESC
