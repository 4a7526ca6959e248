-- EASE: the closed-form item-item model.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE ease_purchases AS
SELECT c AS customer_id, CASE WHEN c % 2 = 0 THEN 'even' ELSE 'odd' END || (abs(hashtext(c || ':' || i)) % 12) AS stock_code
FROM generate_series(1, 200) c, generate_series(1, 5) i;

SELECT train('shop_ease', 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM ease_purchases',
             '{"lambda": 10}') -> 'params' AS params;
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_items, count(*) AS items
FROM recommend(2, 5, model => 'shop_ease');
SELECT count(*) FILTER (WHERE item_id LIKE 'odd%') AS odd_items
FROM recommend_for_items(ARRAY['odd1', 'odd4'], 5, model => 'shop_ease');
SELECT count(*) FILTER (WHERE item_id LIKE 'even%') AS even_neighbours FROM similar_items('even3', 5, model => 'shop_ease');
-- explanations add up to the score
SELECT abs(sum(contribution) - (SELECT score FROM recommend(2, 50, model => 'shop_ease') WHERE item_id = 'even0')) < 1e-4
       AS adds_up
FROM explain_recommendation(2, 'even0', model => 'shop_ease');
-- max_items keeps the most popular items; the rest fall back to popularity
SELECT train('capped', 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM ease_purchases',
             '{"max_items": 6}') -> 'params' ->> 'max_items' AS max_items;
SELECT count(*) AS rows, count(*) FILTER (WHERE source = 'model') <= 6 AS at_most_6_modeled
FROM recommend(2, 20, model => 'capped');
-- by default, a catalogue too large for the memory limit is modelled as far
-- as it fits (the most popular items), and a NOTICE says so; the model
-- records the number
SET recsys.memory_limit = '1MB';
SELECT train('fitted', 'ease', $$SELECT customer_id AS user_id, 'item' || (customer_id * 13 + i) % 1000 AS item_id
                               FROM generate_series(1, 2000) customer_id, generate_series(1, 3) i$$)
       -> 'params' ->> 'max_items' AS max_items;
SELECT count(*) AS rows, count(*) FILTER (WHERE source = 'popularity') > 0 AS some_by_popularity
FROM recommend_for_items(ARRAY['item999'], 300, model => 'fitted');
-- an explicit max_items that does not fit is refused before allocating
SELECT recsys_train('ease', customer_id, 'item' || (customer_id * 13 + i) % 1000, 1, '{"max_items": 1000}')
FROM generate_series(1, 2000) customer_id, generate_series(1, 3) i;
RESET recsys.memory_limit;
SELECT train('bad', 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM ease_purchases', '{"lambda": 0}');
-- raw weights of 3.4e38 next to 0.5: the solve's weights overflow a float, which is an error
SELECT train('huge', 'ease', $$
    SELECT u AS user_id, 1 AS item_id, 0.5 AS weight FROM generate_series(0, 29) u
    UNION ALL SELECT u, 2, CASE WHEN u < 20 THEN 3.4e38 WHEN u < 30 THEN 3.4e38 / 3 ELSE 3.4e38 / 2 END FROM generate_series(0, 39) u
    UNION ALL SELECT u, 3, 1 FROM generate_series(0, 39) u WHERE u % 3 = 0 OR u >= 30$$, '{"binary": false, "lambda": 1}');

-- clean up
DROP TABLE ease_purchases;
DROP EXTENSION recsys;
