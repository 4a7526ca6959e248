-- The model store: train() upserts, describe, list, drop; names are data, never SQL.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE store_purchases (customer_id bigint, stock_code text, quantity int);
INSERT INTO store_purchases
SELECT c, 'SKU' || ((c * 7 + i * 13) % 40), 1 + (c + i) % 3
FROM generate_series(1, 60) c, generate_series(1, 8) i;

SELECT train('shop', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM store_purchases', '{}')
       - 'train_seconds' AS trained;
SELECT name, algorithm, params, n_users, n_items, n_interactions, train_seconds > 0 AS timed, model_bytes > 0 AS stored
FROM recsys_list_models();

-- retrain under the same name stores a new version and makes it the active
-- one atomically; the old version stays until dropped
SELECT train('shop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases;') ->> 'algorithm';
SELECT count(*) FILTER (WHERE active) AS active, count(*) AS versions, min(algorithm) FILTER (WHERE active)
  FROM recsys_models;

SELECT describe_model('shop') - 'created_at' - 'train_seconds' - 'bytes' AS described;

-- a malicious name is stored as a plain string
SELECT train('x''); DROP TABLE store_purchases; --', 'popularity',
             'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases') ->> 'name';
SELECT count(*) AS purchases_still_there FROM store_purchases;
SELECT name FROM recsys_models WHERE active ORDER BY name;
SELECT drop_model('x''); DROP TABLE store_purchases; --');

-- the query runs with the caller's rights
CREATE ROLE regress_store_trainer IN ROLE recsys_trainer;
CREATE TABLE secret (user_id bigint, item_id text);
INSERT INTO secret VALUES (1, 'x');
SET ROLE regress_store_trainer;
SELECT train('sneaky', 'popularity', 'SELECT user_id, item_id FROM secret');
RESET ROLE;
DROP TABLE secret;
DROP ROLE regress_store_trainer;

-- the checks train() runs on its query
SELECT recsys_query_columns('SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases',
                            current_setting('search_path'));
SELECT recsys_query_has_weight('SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM store_purchases',
                               current_setting('search_path')),
       recsys_query_has_weight('SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases',
                               current_setting('search_path'));
SELECT recsys_query_has_weight('SELECT customer_id FROM store_purchases', current_setting('search_path'));
SELECT recsys_query_columns('UPDATE store_purchases SET quantity = 0', current_setting('search_path'));
SELECT recsys_query_body('SELECT 1 AS user_id; -- a comment after the statement');
SELECT recsys_query_body('SELECT 1; SELECT 2');

-- bad input
SELECT train('bad', 'itemknn', 'SELECT customer_id, stock_code FROM store_purchases');
SELECT train('bad', 'itemknn', 'SELEC 1');
SELECT train('bad', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases WHERE false');
SELECT train('bad', 'itemknn', 'DELETE FROM store_purchases RETURNING customer_id AS user_id, stock_code AS item_id');
SELECT train('', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases');
SELECT train('bad', 'nope', 'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases');
SELECT train('bad', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM store_purchases', '{"k": 1}');
SELECT train('bad', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id, -quantity AS weight FROM store_purchases');
SELECT count(*) AS still_one_model FROM recsys_models WHERE active;
SELECT describe_model('missing');
SELECT drop_model('missing');
SELECT drop_model('missing', if_exists => true);

-- a damaged model is refused with a clear error, never a crash
SELECT save_model('damaged', (SELECT model FROM recsys_models WHERE name = 'shop' AND active)) ->> 'algorithm';
UPDATE recsys_models SET model = substring(model FROM 1 FOR 100) WHERE name = 'damaged';
SELECT * FROM recommend(1, 3, model => 'damaged');
UPDATE recsys_models SET model = (SELECT set_byte(model, 200, get_byte(model, 200) # 1) FROM recsys_models
                                  WHERE name = 'shop' AND active)
  WHERE name = 'damaged';
SELECT * FROM recommend(1, 3, model => 'damaged');
SELECT describe_model('\x'::bytea);
SELECT describe_model('\x89504e470d0a1a0a0000000d49484452'::bytea);
SELECT save_model('foreign', 'hello world'::bytea);
SELECT drop_model('damaged');
SELECT drop_model('shop');
SELECT count(*) AS no_models FROM recsys_models;
-- the default model is a setting, never "the newest"
SELECT * FROM recommend(1, 3);
SET recsys.default_model = 'shop';
SELECT * FROM recommend(1, 3);
RESET recsys.default_model;

-- clean up
DROP TABLE store_purchases;
DROP EXTENSION recsys;
