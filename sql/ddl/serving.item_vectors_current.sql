-- The item vectors of the latest published user vectors (same ds and model_version).
CREATE OR REPLACE VIEW serving.item_vectors_current AS
SELECT i.* FROM serving.item_vectors i
JOIN (SELECT DISTINCT ds, model_version FROM serving.user_interest_vectors_current) u
  ON i.ds = u.ds AND i.model_version = u.model_version
