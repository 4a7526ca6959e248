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

-- Once found active, a model is served without reading the store again
-- until the store changes (its trigger invalidates every backend's checks).
SELECT count(*) FROM recommend(1, 1, model => 'shop');
SELECT (recsys_cache_stats() ->> 'lookups')::int AS lookups_before \gset
SELECT count(*) FROM recommend(1, 1, model => 'shop');
SELECT count(*) FROM recommend(2, 1, model => 'shop');
SELECT (recsys_cache_stats() ->> 'lookups')::int - :lookups_before AS lookups;

-- a switch to an older version, in this session, is seen by the next call
SELECT min(version) AS first_version FROM recsys_models WHERE name = 'shop' \gset
SELECT activate('shop', :first_version) ->> 'name' AS activated;
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
-- so are a drop and a store under the same name
SELECT drop_model('shop');
SELECT * FROM recommend(1, 1, model => 'shop');
SELECT train('shop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases') ->> 'algorithm';
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
SELECT version AS popular FROM recsys_models WHERE name = 'shop' AND active \gset
-- a store that rolls back is served inside its transaction only
BEGIN;
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases') ->> 'algorithm';
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
ROLLBACK;
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
-- the same in a subtransaction
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases') ->> 'algorithm';
BEGIN;
SAVEPOINT s;
SELECT activate('shop', :popular) ->> 'name' AS activated;
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
ROLLBACK TO SAVEPOINT s;
SELECT item_id, score FROM recommend(1, 1, model => 'shop');
COMMIT;
-- and an UPDATE of the store by hand
BEGIN;
UPDATE recsys_models SET active = false WHERE name = 'shop' AND active;
UPDATE recsys_models SET active = true WHERE name = 'shop' AND version = :popular;
COMMIT;
SELECT item_id, score FROM recommend(1, 1, model => 'shop');

-- the right to read the store is checked again when a role's memberships change
CREATE ROLE regress_cache_reader;
GRANT recsys_reader TO regress_cache_reader;
SET ROLE regress_cache_reader;
SELECT count(*) FROM recommend(1, 1, model => 'shop');
RESET ROLE;
REVOKE recsys_reader FROM regress_cache_reader;
SET ROLE regress_cache_reader;
SELECT count(*) FROM recommend(1, 1, model => 'shop');
RESET ROLE;
GRANT recsys_reader TO regress_cache_reader;
SET ROLE regress_cache_reader;
SELECT count(*) FROM recommend(1, 1, model => 'shop');
RESET ROLE;
DROP ROLE regress_cache_reader;
SELECT count(*) FROM recommend(1, 1, model => 'shop');

-- a store dropped and created again (its versions count from 1 again) is not served from the old one
DROP EXTENSION recsys;
CREATE EXTENSION recsys;
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM cache_purchases', '{"neighbours": 5}') ->> 'algorithm';
SELECT item_id, score FROM recommend(1, 1, model => 'shop');

-- without recsys in shared_preload_libraries every backend keeps its own
-- models (tests/shared_models.sh runs a cluster with it)
SELECT recsys_cache_stats() ->> 'mode' AS mode;

-- clean up
DROP TABLE cache_purchases;
DROP EXTENSION recsys;
