-- Long-term item-item weights decayed to the latest day the graph absorbed.
CREATE OR REPLACE VIEW gold.item_cooccurrence_current AS
SELECT c.item_idx, c.neighbour_idx,
       c.weight * pow(2, -datediff(g.as_of, c.updated_ds) / {half_life_days}) AS weight,
       c.count, g.as_of
FROM gold.item_cooccurrence c
CROSS JOIN (SELECT max(ds) AS as_of FROM ops.graph_log WHERE table_name = 'gold.item_cooccurrence') g
