-- Parallel training: a Partial/Finalize aggregate gives the same model as a serial one.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
SET recsys.max_threads = 8;  -- the tests use 2 threads, whatever the machine has
\set SHOW_CONTEXT never
CREATE TABLE parallel_purchases AS
SELECT (g % 997) AS customer_id, 'SKU' || ((g * 7919) % 1499) AS stock_code, 1 + g % 5 AS quantity
FROM generate_series(1, 60000) g;
ANALYZE parallel_purchases;

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;  -- the workers collect every row

EXPLAIN (COSTS OFF)
SELECT recsys_train('itemknn', customer_id, stock_code, quantity) FROM parallel_purchases;
CREATE TEMP TABLE parallel_model AS
SELECT recsys_train('itemknn', customer_id, stock_code, quantity, '{"neighbours": 20}') AS model FROM parallel_purchases;

SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT recsys_train('itemknn', customer_id, stock_code, quantity) FROM parallel_purchases;
CREATE TEMP TABLE serial_model AS
SELECT recsys_train('itemknn', customer_id, stock_code, quantity, '{"neighbours": 20}') AS model FROM parallel_purchases;

SELECT p.model = s.model AS same_model, describe_model(p.model) ->> 'interactions' AS pairs
FROM parallel_model p, serial_model s;

-- more training threads give the same model too
SET recsys.threads = 2;
SELECT (SELECT recsys_train('itemknn', customer_id, stock_code, quantity, '{"neighbours": 20}') FROM parallel_purchases)
       = (SELECT model FROM serial_model) AS same_with_threads;
RESET recsys.threads;

-- BPR trains strata of users and items on separate threads (1,499 items: 4
-- groups); the strata do not depend on the thread count, nor does the model
CREATE TEMP TABLE bpr_one_thread AS
SELECT recsys_train('bpr', customer_id, stock_code, quantity, '{"iterations": 3}') AS model FROM parallel_purchases;
SET recsys.threads = 2;
SELECT (SELECT recsys_train('bpr', customer_id, stock_code, quantity, '{"iterations": 3}') FROM parallel_purchases)
       = (SELECT model FROM bpr_one_thread) AS same_bpr_with_threads;
RESET recsys.threads;

-- clean up
DROP TABLE parallel_purchases;
DROP EXTENSION recsys;
