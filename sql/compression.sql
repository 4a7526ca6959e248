-- Compressed models: EASE's weights, ALS's and BPR's factors as float16 or
-- int8, EASE's sparsified to the top m per item ("compression", "top_m"); describe_model's sizes; serving.
-- EASE's default is float16 ('half'); 'plain' is float32.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE packed_purchases AS
SELECT c AS customer_id, 'sku' || (abs(hashtext(c || ':' || i)) % (20 + c % 300)) AS stock_code
FROM generate_series(1, 300) c, generate_series(1, 6) i;

CREATE FUNCTION train_packed(name text, params jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT train(name, 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM packed_purchases', params)
$$;
SELECT name, params ->> 'compression' AS compression, params -> 'top_m' AS top_m, items
FROM (SELECT name, t -> 'params' AS params, t -> 'items' AS items
      FROM (VALUES ('plain', '{"compression": "none"}'), ('half', '{}'), ('int8', '{"compression": "int8"}'),
                   ('top10', '{"top_m": 10, "compression": "none"}'),
                   ('top10_int8', '{"top_m": 10, "compression": "int8"}'))
           AS v(name, params), train_packed(name, params::jsonb) t) trained
ORDER BY name;

-- describe_model reports the stored bytes and the decoded model's memory:
-- the weights shrink 2x (float16), 4x (int8) and more (top_m)
WITH d AS (SELECT name, describe_model(name) AS d FROM recsys_models WHERE active)
SELECT name, (d ->> 'bytes')::bigint AS bytes, (d ->> 'memory_bytes')::bigint AS memory_bytes,
       round((SELECT (d ->> 'bytes')::numeric FROM d WHERE name = 'plain') / (d ->> 'bytes')::numeric, 1) AS smaller_on_disk,
       round((SELECT (d ->> 'memory_bytes')::numeric FROM d WHERE name = 'plain') / (d ->> 'memory_bytes')::numeric, 1)
           AS smaller_in_memory
FROM d ORDER BY bytes DESC;
-- the bytea form says the same
SELECT (describe_model(model) ->> 'memory_bytes') = (describe_model('int8') ->> 'memory_bytes') AS same_memory,
       (describe_model(model) ->> 'bytes')::bigint = octet_length(model) AS bytes
FROM recsys_models WHERE name = 'int8' AND active;

-- serving reads the compressed models: float16 and int8 give the same top 5
-- as the float32 model for most customers, with scores close to its scores;
-- top_m models (here 10 of about 300 weights per item) serve as many
SELECT m.name, count(*) FILTER (WHERE p.item_id = c.item_id) * 100 / count(*) >= 90 AS same_top5_mostly,
       max(abs(p.score - c.score)) FILTER (WHERE p.item_id = c.item_id) < 0.05 AS close_scores
FROM (VALUES ('half'), ('int8')) m(name),
     generate_series(1, 300, 7) u,
     recommend(u, 5, model => 'plain') p
     JOIN recommend(u, 5, model => m.name) c ON c.rank = p.rank
GROUP BY m.name ORDER BY m.name;
SELECT m.name, count(*) AS recommendations
FROM (VALUES ('top10'), ('top10_int8')) m(name), generate_series(1, 300, 7) u, recommend(u, 5, model => m.name)
GROUP BY m.name ORDER BY m.name;
SELECT count(*) AS basket_recommendations FROM recommend_for_items(ARRAY['sku1', 'sku2'], 5, model => 'top10_int8');
SELECT count(*) <= 10 AS at_most_m_similar FROM similar_items('sku3', 50, model => 'top10');
SELECT abs(sum(contribution) - (SELECT score FROM recommend(8, 50, model => 'int8') WHERE item_id = i.item_id)) < 1e-4
       AS explanation_adds_up
FROM (SELECT item_id FROM recommend(8, 1, model => 'int8')) i, explain_recommendation(8, i.item_id, model => 'int8')
GROUP BY i.item_id;

-- ALS and BPR store their factors compressed and decode them once at load:
-- smaller stored, the same in memory, serving as usual
SELECT name, t -> 'params' ->> 'compression' AS compression
FROM (VALUES ('als_plain', '{"factors": 32, "iterations": 3}'),
             ('als_int8', '{"factors": 32, "iterations": 3, "compression": "int8"}'),
             ('bpr_plain', '{"factors": 32, "iterations": 3}'),
             ('bpr_half', '{"factors": 32, "iterations": 3, "compression": "float16"}')) v(name, params),
     train(name, left(name, 3), 'SELECT customer_id AS user_id, stock_code AS item_id FROM packed_purchases',
           params::jsonb) t
ORDER BY name;
SELECT name, (describe_model(name) ->> 'bytes')::bigint < (describe_model(plain) ->> 'bytes')::bigint
           AS smaller_stored,
       describe_model(name) -> 'memory_bytes' = describe_model(plain) -> 'memory_bytes' AS same_memory,
       (SELECT count(*) FROM recommend(5, 5, model => name)) AS recommendations
FROM (VALUES ('als_int8', 'als_plain'), ('bpr_half', 'bpr_plain')) c(name, plain)
ORDER BY name;

-- bad input: an unknown compression, the wrong type, a negative m, and
-- compression of an algorithm that does not compress
SELECT train_packed('bad', '{"compression": "zip"}');
SELECT train_packed('bad', '{"compression": 8}');
SELECT train_packed('bad', '{"top_m": -1}');
SELECT train('bad', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM packed_purchases',
             '{"compression": "float16"}');
SELECT train('bad', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM packed_purchases',
             '{"top_m": 10}');
SELECT count(*) AS nothing_stored FROM recsys_models WHERE name = 'bad';

-- clean up
DROP FUNCTION train_packed(text, jsonb);
DROP TABLE packed_purchases;
DROP EXTENSION recsys;
