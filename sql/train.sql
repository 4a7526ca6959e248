-- Training aggregate: ids of either type, weights, NULLs, bad input.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE train_purchases (customer_id bigint, stock_code text, quantity int);
INSERT INTO train_purchases VALUES
  (1, '85123A', 6), (1, '71053', 2), (1, '85123A', 4),   -- duplicate pair: weights sum to 10
  (2, '85123A', 1), (2, '22423', 3),
  (3, '71053', 1), (3, '22423', 1), (3, '84406B', 2),
  (4, '84406B', 1), (4, '71053', 1),
  (NULL, '85123A', 1), (5, NULL, 1);                      -- skipped and counted

-- bigint users, text items, weights
SELECT describe_model(recsys_train('itemknn', customer_id, stock_code, quantity)) - 'bytes' AS model
FROM train_purchases;

-- without a weight column every row weighs 1; with parameters
SELECT describe_model(recsys_train('popularity', customer_id, stock_code)) ->> 'interactions' AS pairs
FROM train_purchases;
SELECT describe_model(recsys_train('itemknn', customer_id, stock_code, quantity, '{"neighbours": 2}')) -> 'params'
FROM train_purchases;

-- every combination of id types
SELECT describe_model(recsys_train('popularity', customer_id::text, stock_code, 1.0))
         ->> 'user_id_type' AS users_text
FROM train_purchases;
SELECT describe_model(recsys_train('popularity', customer_id::int, length(stock_code), 1.0))
         ->> 'item_id_type' AS items_int
FROM train_purchases;
SELECT describe_model(recsys_train('popularity', 'c' || customer_id, customer_id * 100 + 7, 1.0))
         - 'bytes' - 'params' AS text_users_int_items
FROM train_purchases;

-- the model is a bytea; summed weights show in the user's history via explain
SELECT save_model('agg', recsys_train('itemknn', customer_id, stock_code, quantity, '{"binary": false}')) ->> 'name'
FROM train_purchases;
SELECT * FROM explain_recommendation(1, '22423', model => 'agg');

-- no rows at all: NULL, like other aggregates
SELECT recsys_train('itemknn', customer_id, stock_code) IS NULL AS no_rows FROM train_purchases WHERE false;

-- bad weights name the value
SELECT recsys_train('itemknn', 1, 'a', -2.5);
SELECT recsys_train('itemknn', 1, 'a', 'NaN'::float8);
SELECT recsys_train('itemknn', 1, 'a', 'Infinity'::float8);
-- bad id types, algorithm and parameters
SELECT recsys_train('itemknn', 1.5, 'a', 1.0);
SELECT recsys_train('itemknn', 1, now(), 1.0);
SELECT recsys_train('als-ish', 1, 'a', 1.0);
SELECT recsys_train(NULL, 1, 'a', 1.0);
SELECT recsys_train('itemknn', 1, 'a', 1.0, '[1, 2]');
SELECT recsys_train('itemknn', 1, 'a', 1.0, '{"neighbors": 5}');
SELECT recsys_train('itemknn', 1, 'a', 1.0, '{"neighbours": 0}');
SELECT recsys_train('itemknn', 1, 'a', 1.0, '{"neighbours": 2.5}');
SELECT recsys_train('itemknn', 1, 'a', 1.0, '{"binary": "yes"}');
SELECT recsys_train('itemknn', 1, 'a', 1.0, '{"nested": {"a": 1}}');
-- only NULL ids: nothing to train on
SELECT recsys_train('itemknn', NULL::bigint, 'a', 1.0);

-- clean up
DROP TABLE train_purchases;
DROP EXTENSION recsys;
