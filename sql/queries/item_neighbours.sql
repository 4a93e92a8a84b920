-- An item's strongest co-interaction neighbours in the long-term graph (param: item_id).
SELECT n.item_id AS neighbour_id, c.neighbour_idx, round(c.weight, 3) AS weight, c.count, c.as_of
FROM gold.item_cooccurrence_current c
JOIN silver.item_ids i ON i.item_idx = c.item_idx
JOIN silver.item_ids n ON n.item_idx = c.neighbour_idx
WHERE i.item_id = '${item_id}'
ORDER BY c.weight DESC
