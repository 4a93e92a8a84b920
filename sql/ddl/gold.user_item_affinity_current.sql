-- Long-term user-item weights decayed to the latest day the graph absorbed.
CREATE OR REPLACE VIEW gold.user_item_affinity_current AS
SELECT a.user_idx, a.item_idx,
       a.weight * pow(2, -datediff(g.as_of, a.updated_ds) / {half_life_days}) AS weight,
       a.count, a.last_ts, g.as_of
FROM gold.user_item_affinity a
CROSS JOIN (SELECT max(ds) AS as_of FROM ops.graph_log WHERE table_name = 'gold.user_item_affinity') g
