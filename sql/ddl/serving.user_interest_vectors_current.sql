-- The latest published user vectors.
CREATE OR REPLACE VIEW serving.user_interest_vectors_current AS
SELECT * FROM serving.user_interest_vectors
WHERE ds = (SELECT max(ds) FROM serving.user_interest_vectors)
