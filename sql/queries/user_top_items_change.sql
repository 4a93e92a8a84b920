-- How a user's long-term top items changed between two days (params: user_id, ds_from, ds_to):
-- the decayed weight as of each day, recomputed from bronze.events (the same formula the graph
-- applies incrementally), with each item's rank on both days.
WITH weights AS (
  SELECT e.item_id, d.as_of,
         sum(e.weight * pow(2, -datediff(d.as_of, e.ds) / ${half_life_days})) AS weight
  FROM bronze.events e
  CROSS JOIN (SELECT DATE'${ds_from}' AS as_of UNION ALL SELECT DATE'${ds_to}') d
  WHERE e.user_id = '${user_id}' AND e.ds <= d.as_of
  GROUP BY e.item_id, d.as_of
), ranked AS (
  SELECT *, rank() OVER (PARTITION BY as_of ORDER BY weight DESC) AS rnk FROM weights
)
SELECT coalesce(a.item_id, b.item_id) AS item_id,
       a.rnk AS rank_from, round(a.weight, 3) AS weight_from,
       b.rnk AS rank_to, round(b.weight, 3) AS weight_to,
       CASE WHEN a.item_id IS NULL THEN 'new' WHEN b.rnk < a.rnk THEN 'up'
            WHEN b.rnk > a.rnk THEN 'down' ELSE 'same' END AS change
FROM (SELECT * FROM ranked WHERE as_of = DATE'${ds_from}') a
FULL OUTER JOIN (SELECT * FROM ranked WHERE as_of = DATE'${ds_to}') b ON a.item_id = b.item_id
ORDER BY coalesce(b.rnk, 1000000), a.rnk
