-- Matrix factorisation: implicit-feedback ALS and BPR.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
SET recsys.max_threads = 8;  -- the tests use 2 threads, whatever the machine has
\set SHOW_CONTEXT never
-- two groups of customers with two catalogues: planted structure
CREATE TABLE als_purchases AS
SELECT c AS customer_id, CASE WHEN c % 2 = 0 THEN 'even' ELSE 'odd' END || (abs(hashtext(c || ':' || i)) % 12) AS stock_code,
       1 + (c + i) % 3 AS quantity
FROM generate_series(1, 200) c, generate_series(1, 5) i;

SELECT train('shop_als', 'als',
             'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM als_purchases',
             '{"factors": 8, "iterations": 10, "regularization": 0.01, "alpha": 1.0, "seed": 7}') -> 'params' AS params;
-- customers get items of their own group
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_items, count(*) AS items
FROM recommend(2, 5, model => 'shop_als');
SELECT count(*) FILTER (WHERE item_id LIKE 'odd%') AS odd_items, count(*) AS items
FROM recommend(3, 5, model => 'shop_als');
-- fold-in of an anonymous basket (unknown items are ignored and counted)
SELECT count(*) FILTER (WHERE item_id LIKE 'odd%') AS odd_items, count(*) AS items
FROM recommend_for_items(ARRAY['odd1', 'odd4', 'no-such-item'], 5, model => 'shop_als');
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_neighbours FROM similar_items('even3', 5, model => 'shop_als');
-- explanations: the customer's purchases, adding up to the folded-in score
SELECT count(*) > 0 AS explained,
       abs(sum(contribution) - (SELECT score FROM recommend_for_items(
               (SELECT array_agg(stock_code) FROM als_purchases WHERE customer_id = 2), 50, model => 'shop_als',
               weights => (SELECT array_agg(quantity::float8) FROM als_purchases WHERE customer_id = 2))
           WHERE item_id = 'even0')) < 1e-3 AS adds_up
FROM explain_recommendation(2, 'even0', model => 'shop_als');
-- the same data, parameters, seed and threads give the same model bytes
SELECT (SELECT recsys_train('als', customer_id, stock_code, quantity, '{"factors": 8, "iterations": 3, "seed": 1}')
        FROM als_purchases)
     = (SELECT recsys_train('als', customer_id, stock_code, quantity, '{"factors": 8, "iterations": 3, "seed": 1}')
        FROM als_purchases) AS reproducible;
SET recsys.threads = 2;
SELECT (SELECT recsys_train('als', customer_id, stock_code, quantity, '{"factors": 8, "iterations": 3, "seed": 1}')
        FROM als_purchases)
     = (SELECT recsys_train('als', customer_id, stock_code, quantity, '{"factors": 8, "iterations": 3, "seed": 1}')
        FROM als_purchases) AS reproducible_two_threads;
RESET recsys.threads;
-- the exact solver for checking
SELECT train('als_exact', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases',
             '{"factors": 8, "iterations": 5, "solver": "cholesky"}') ->> 'algorithm';
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_items FROM recommend(2, 5, model => 'als_exact');

-- BPR
SELECT train('shop_bpr', 'bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases',
             '{"factors": 8, "iterations": 50, "learning_rate": 0.05, "seed": 3}') -> 'params' AS params;
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_items FROM recommend(2, 5, model => 'shop_bpr');
SELECT count(*) FILTER (WHERE item_id LIKE 'odd%') AS odd_items FROM recommend_for_items(ARRAY['odd1'], 5, model => 'shop_bpr');
SELECT count(*) AS similar FROM similar_items('odd1', 3, model => 'shop_bpr');
SELECT * FROM explain_recommendation(2, 'even0', model => 'shop_bpr');

-- bad parameters
SELECT train('bad', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases', '{"factors": 0}');
SELECT train('bad', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases', '{"solver": "qr"}');
SELECT train('bad', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases', '{"regularization": -1}');
SELECT train('bad', 'bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases', '{"learning_rate": 0}');

-- weights too large: refused, never stored as a model of non-finite numbers
SELECT train('huge', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id, 1e308::float8 AS weight FROM als_purchases');
SELECT train('huge', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id, 1e37::float8 AS weight FROM als_purchases',
             '{"binary": false, "alpha": 100}');
SELECT train('huge', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id, 1e30::float8 AS weight FROM als_purchases',
             '{"binary": false, "factors": 8}');
SELECT train('huge', 'bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM als_purchases',
             '{"learning_rate": 10, "regularization": 1000}');
SELECT count(*) AS stored FROM recsys_models WHERE name = 'huge';

-- progress reporting is switched on as the README says (VERBOSE, a keyword,
-- could not be a setting's name here)
SET recsys.progress = on;
SHOW recsys.progress;
RESET recsys.progress;
SET recsys.progress = maybe;

-- clean up
DROP TABLE als_purchases;
DROP EXTENSION recsys;
