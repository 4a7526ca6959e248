-- The decoded model is cached per backend and dropped when the model table changes.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE cache_purchases AS
SELECT c AS customer_id, 'SKU' || ((c * 31 + i * 17) % 500) AS stock_code
FROM generate_series(1, 10000) c, generate_series(1, 5) i;
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases') ->> 'users';

SELECT (recsys_cache_stats() ->> 'decodes')::int AS decodes_before \gset
-- 10,000 users in one LATERAL query: one decode
SELECT count(*), count(DISTINCT customer_id)
FROM (SELECT DISTINCT customer_id FROM cache_purchases) c CROSS JOIN LATERAL recommend(c.customer_id, 5, model => 'shop') r;
SELECT (recsys_cache_stats() ->> 'decodes')::int - :decodes_before AS decodes;

-- a retrain is seen by the next statement
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases', '{"neighbours": 5}') ->> 'algorithm';
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
SELECT train('shop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases') ->> 'algorithm';
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
SELECT (recsys_cache_stats() ->> 'decodes')::int - :decodes_before AS decodes;

-- and so is a model dropped in a transaction that rolls back
BEGIN;
SELECT drop_model('shop');
SELECT * FROM recommend(1, 1, model => 'shop');
ROLLBACK;
SELECT count(*) FROM recommend(1, 1, model => 'shop');

-- clean up
DROP TABLE cache_purchases;
DROP EXTENSION recsys;
