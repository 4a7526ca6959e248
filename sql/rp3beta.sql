-- RP3beta: the random walk item -> user -> item with a popularity penalty.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Two groups of customers, each buying from its own 12 items.
CREATE TABLE rp3_purchases AS
SELECT c AS customer_id, CASE WHEN c % 2 = 0 THEN 'even' ELSE 'odd' END || (abs(hashtext(c || ':' || i)) % 12) AS stock_code
FROM generate_series(1, 200) c, generate_series(1, 5) i;

SELECT train('shop_rp3', 'rp3beta', 'SELECT customer_id AS user_id, stock_code AS item_id FROM rp3_purchases')
       -> 'params' AS params;
SELECT count(*) FILTER (WHERE item_id LIKE 'even%' AND source = 'model') AS even_items, count(*) AS items
FROM recommend(2, 5, model => 'shop_rp3');
SELECT count(*) FILTER (WHERE item_id LIKE 'odd%') AS odd_items
FROM recommend_for_items(ARRAY['odd1', 'odd4'], 5, model => 'shop_rp3');
-- each item's weights are normalised: they sum to 1
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_neighbours, round(sum(score)::numeric, 4) AS total
FROM similar_items('even3', 50, model => 'shop_rp3');
-- explanations add up to the score
SELECT count(*) > 0 AS explained,
       abs(sum(contribution) - (SELECT score FROM recommend(2, 50, model => 'shop_rp3') WHERE item_id = 'even0')) < 1e-5
       AS adds_up
FROM explain_recommendation(2, 'even0', model => 'shop_rp3');
SELECT describe_model('shop_rp3') ->> 'algorithm' AS algorithm;
SELECT recsys_memory_estimate('rp3beta', '{"neighbours": 50}', 100, 300);
-- bad input: beta outside [0, 1], a negative alpha
SELECT train('bad', 'rp3beta', 'SELECT customer_id AS user_id, stock_code AS item_id FROM rp3_purchases', '{"beta": 1.5}');
SELECT train('bad', 'rp3beta', 'SELECT customer_id AS user_id, stock_code AS item_id FROM rp3_purchases', '{"beta": -0.5}');
SELECT train('bad', 'rp3beta', 'SELECT customer_id AS user_id, stock_code AS item_id FROM rp3_purchases', '{"alpha": -1}');
SELECT train('bad', 'rp3beta', 'SELECT customer_id AS user_id, stock_code AS item_id FROM rp3_purchases', '{"shrinkage": 1}');

-- clean up
DROP TABLE rp3_purchases;
DROP EXTENSION recsys;
