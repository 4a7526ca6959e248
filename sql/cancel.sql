-- statement_timeout stops a long training run inside the core; the backend goes on working.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
SET recsys.max_threads = 8;  -- the tests use 2 threads, whatever the machine has
\set SHOW_CONTEXT never
CREATE TABLE dense AS
SELECT u AS user_id, i AS item_id FROM generate_series(1, 400) u, generate_series(1, 3000) i;

SET statement_timeout = '1500ms';
SELECT recsys_train('itemknn', user_id, item_id) FROM dense;
RESET statement_timeout;

-- the same with two training threads
SET recsys.threads = 2;
SET statement_timeout = '1500ms';
SELECT recsys_train('itemknn', user_id, item_id) FROM dense;
RESET statement_timeout;
RESET recsys.threads;

-- BPR, whose strata run on both threads
SET recsys.threads = 2;
SET statement_timeout = '1500ms';
SELECT recsys_train('bpr', user_id, item_id, 1.0, '{"iterations": 100000}') FROM dense;
RESET statement_timeout;
RESET recsys.threads;

-- a split of a big generated query (4 million rows), also inside tune()
SET statement_timeout = '1s';
SELECT count(*) FROM split_per_user('SELECT u AS user_id, i AS item_id FROM generate_series(1, 4000) u, generate_series(1, 1000) i', 0.2);
SELECT * FROM tune('cancelled', 'SELECT u AS user_id, i AS item_id FROM generate_series(1, 4000) u, generate_series(1, 1000) i');
RESET statement_timeout;

-- EASE's dense solve of 6,000 items on more threads than cores
SET recsys.threads = 8;
SET statement_timeout = '1s';
SELECT recsys_train('ease', u, 1 + (u * 12 + k) % 6000) FROM generate_series(1, 500) u, generate_series(1, 12) k;
RESET statement_timeout;
RESET recsys.threads;
SELECT count(*) AS models_left FROM recsys_models;

SELECT 1 AS still_alive;
SELECT describe_model(recsys_train('itemknn', user_id, item_id)) ->> 'items' AS items
FROM dense WHERE user_id <= 3 AND item_id <= 5;

-- a memory limit that is too small fails cleanly before allocating
SET recsys.memory_limit = '1MB';
SELECT recsys_train('itemknn', user_id, item_id) FROM dense;
RESET recsys.memory_limit;

-- clean up
DROP TABLE dense;
DROP EXTENSION recsys;
