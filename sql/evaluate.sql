-- Splits, evaluation with ranking metrics, and batch output.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
SET recsys.max_threads = 8;  -- the tests use 2 threads, whatever the machine has
\set SHOW_CONTEXT never

-- a hash split: deterministic, independent of row order, about the asked share
SELECT in_test_split(12347, '85123A', 0.2) AS a, in_test_split(12347, '85123A', 0.2, seed => 7) AS b,
       in_test_split(42, 'x', 0.5) = in_test_split('42', 'x', 0.5) AS int_and_text_agree;
SELECT round(avg(in_test_split(u, 'item' || i, 0.2)::int), 2) AS share
FROM generate_series(1, 200) u, generate_series(1, 100) i;
SELECT in_test_split(1, 'a', 1.5);

-- a tiny example with hand-computed metrics: popularity a=3, b=2, c=1, d=1
CREATE TABLE evaluate_train (customer_id bigint, stock_code text);
INSERT INTO evaluate_train VALUES (1, 'a'), (2, 'a'), (2, 'b'), (3, 'a'), (3, 'b'), (3, 'c'), (4, 'd');
CREATE TABLE evaluate_test (customer_id bigint, stock_code text);
INSERT INTO evaluate_test VALUES (1, 'c'), (2, 'd'), (2, 'e'), (5, 'b');
SELECT train('pop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_train') ->> 'items';
-- k = 2: user 1 gets [b, c] (hit c at rank 2), user 2 [c, d] (hit d at 2, test {d, e}),
-- unknown user 5 gets the fallback [a, b] (hit b at 2).
-- precision = (1/2 + 1/2 + 1/2) / 3 = 0.5; recall = (1 + 1/2 + 1) / 3 = 0.8333
-- ndcg = (0.6309 + 0.6309 / 1.6309 + 0.6309) / 3 = 0.5496 (1/log2(3) = 0.6309)
-- map = (1/2 + (1/2)/2 + 1/2) / 3 = 0.4167; hit rate = 1; coverage = |{a,b,c,d}| / 4 = 1
SELECT metric, round(value::numeric, 4) AS value
FROM evaluate('pop', 'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_test', k => 2);
-- the metrics are stored with the model
SELECT metrics -> 'all' ->> 'users' AS users, metrics -> 'unknown' ->> 'users' AS unknown_users,
       metrics ->> 'test_items_unknown_to_model' AS unknown_items
FROM recsys_models WHERE name = 'pop';
-- the same NDCG recomputed from recommend()'s own output
WITH test AS (SELECT customer_id, array_agg(stock_code) AS items FROM evaluate_test GROUP BY customer_id),
per_user AS (
    SELECT t.customer_id,
           (SELECT coalesce(sum(1 / log(2, r.rank + 1)), 0) FROM recommend(t.customer_id, 2, model => 'pop') r
             WHERE r.item_id = ANY (t.items)) AS dcg,
           (SELECT sum(1 / log(2, i + 1)) FROM generate_series(1, least(2, cardinality(t.items))) i) AS idcg
    FROM test t)
SELECT round(avg(dcg / idcg)::numeric, 4) AS ndcg_from_recommend FROM per_user;

-- splits over a query: per user, and each user's last purchases
CREATE TABLE evaluate_purchases AS
SELECT c AS customer_id, 'item' || ((c * 7 + i * 5) % 40) AS stock_code, i AS quantity,
       timestamptz '2024-01-01' + (c + 3 * i) * interval '1 day' AS invoice_date
FROM generate_series(1, 50) c, generate_series(1, 10) i;
CREATE TEMP TABLE per_user AS
SELECT * FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM evaluate_purchases', 0.2);
-- each user has 8 distinct items (two bought twice): round(0.2 * 8) = 2 are held out, with all their rows
SELECT n_items, n_test, count(*) AS users
FROM (SELECT user_id, count(DISTINCT item_id) AS n_items, count(DISTINCT item_id) FILTER (WHERE is_test) AS n_test,
             bool_and(is_test) = bool_or(is_test) AS same_side
      FROM per_user GROUP BY user_id) x GROUP BY n_items, n_test;
SELECT bool_and(same_side) AS repeated_items_on_one_side
FROM (SELECT bool_and(is_test) = bool_or(is_test) AS same_side FROM per_user GROUP BY user_id, item_id) x;
SELECT (SELECT array_agg(item_id ORDER BY user_id, item_id) FROM per_user WHERE is_test)
     = (SELECT array_agg(item_id ORDER BY user_id, item_id) FROM split_per_user(
            'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_purchases ORDER BY random()', 0.2)
        WHERE is_test) AS independent_of_row_order;
SELECT user_id, array_agg(DISTINCT item_id ORDER BY item_id) AS last_two
FROM split_last_n('SELECT customer_id AS user_id, stock_code AS item_id, invoice_date AS time FROM evaluate_purchases', 2)
WHERE is_test AND user_id IN ('1', '2') GROUP BY user_id ORDER BY user_id;
SELECT count(*) FROM split_last_n('SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_purchases', 2);

-- train on the training rows, evaluate on the test rows
SELECT train('knn', 'itemknn', 'SELECT user_id, item_id, weight FROM per_user WHERE NOT is_test') ->> 'users';
SELECT metric, value IS NOT NULL AS computed
FROM evaluate('knn', 'SELECT user_id, item_id FROM per_user WHERE is_test', k => 10);

-- recommend_all: every user's top-k, the same as recommend() gives
SELECT count(*) AS rows, count(DISTINCT user_id) AS users FROM recommend_all(5, model => 'knn');
SELECT count(*) AS differences FROM (
    (SELECT user_id, item_id, rank FROM recommend_all(5, model => 'knn')
     EXCEPT SELECT u.user_id, r.item_id, r.rank
            FROM (SELECT DISTINCT user_id FROM per_user) u CROSS JOIN LATERAL recommend(u.user_id, 5, model => 'knn') r)
    UNION ALL
    (SELECT u.user_id, r.item_id, r.rank
     FROM (SELECT DISTINCT user_id FROM per_user) u CROSS JOIN LATERAL recommend(u.user_id, 5, model => 'knn') r
     EXCEPT SELECT user_id, item_id, rank FROM recommend_all(5, model => 'knn'))) d;
SET recsys.threads = 2;
SELECT count(*) AS rows_with_two_threads FROM recommend_all(5, model => 'knn');
RESET recsys.threads;
SELECT * FROM recommend_all(2, model => 'knn', users => ARRAY['1', '999']);
-- BI: recommendations joined with a sales report
SELECT r.item_id, count(*) AS recommended_to, sum(p.quantity) AS units_sold
FROM recommend_all(3, model => 'knn') r JOIN evaluate_purchases p ON p.stock_code = r.item_id
GROUP BY r.item_id ORDER BY recommended_to DESC, r.item_id LIMIT 3;

-- bad input
SELECT * FROM evaluate('missing', 'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_test');
SELECT * FROM evaluate('pop', 'SELECT customer_id, stock_code FROM evaluate_test');
SELECT * FROM evaluate('pop', 'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_test', k => 0);
SELECT * FROM evaluate('pop', 'SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_test WHERE false');
SELECT * FROM recommend_all(0, model => 'pop');
SELECT * FROM split_per_user('SELECT 1 AS user_id', 0.2);
SELECT * FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id FROM evaluate_test', 2);

-- clean up
DROP TABLE evaluate_train, evaluate_test, evaluate_purchases;
DROP EXTENSION recsys;
