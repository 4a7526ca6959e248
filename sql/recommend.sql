-- Serving: recommend, recommend_for_items, similar_items, explain_recommendation.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE recommend_purchases (customer_id bigint, stock_code text, quantity int);
INSERT INTO recommend_purchases VALUES
  (1, 'mug', 1), (1, 'tea', 2), (1, 'spoon', 1),
  (2, 'mug', 1), (2, 'tea', 1), (2, 'sugar', 1),
  (3, 'mug', 1), (3, 'sugar', 1), (3, 'milk', 1),
  (4, 'tea', 1), (4, 'sugar', 1),
  (5, 'lamp', 1), (5, 'bulb', 2),
  (6, 'lamp', 1), (6, 'bulb', 1), (6, 'shade', 1),
  (7, 'mug', 1);
SELECT train('shop', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM recommend_purchases',
             '{"neighbours": 3}') ->> 'items' AS items;

-- a known user: their own items are excluded; items the model has no score for are filled by popularity
SELECT * FROM recommend(7, 5, model => 'shop');
SELECT * FROM recommend(7, 3, model => 'shop', exclude_seen => false);
SELECT * FROM recommend(7, 3, model => 'shop', candidates => ARRAY['sugar', 'lamp', 'unknown']);
SELECT * FROM recommend(7, 3, model => 'shop', exclude => ARRAY['tea']);
-- an unknown (or NULL) user gets the most popular items
SELECT * FROM recommend(999, 3, model => 'shop');
SELECT * FROM recommend(NULL::bigint, 2, model => 'shop');
-- the id may be given as text; k beyond the catalogue returns the whole (unseen) catalogue
SELECT count(*) FROM recommend('7', 100, model => 'shop');
-- bad k and unknown models
SELECT * FROM recommend(7, 0, model => 'shop');
SELECT * FROM recommend(7, -3, model => 'shop');
SELECT * FROM recommend(7, NULL, model => 'shop');
SELECT * FROM recommend(7, 3, model => 'nope');

-- recommend inside queries
CREATE TABLE recommend_customers (customer_id bigint, name text);
INSERT INTO recommend_customers VALUES (1, 'Ann'), (5, 'Bo'), (42, 'New');
SELECT c.name, r.item_id, r.rank, r.source
FROM recommend_customers c CROSS JOIN LATERAL recommend(c.customer_id, 2, model => 'shop') r
ORDER BY c.name, r.rank;

-- anonymous baskets
SELECT * FROM recommend_for_items(ARRAY['lamp'], 3, model => 'shop');
SELECT * FROM recommend_for_items(ARRAY['lamp', 'nonexistent', 'bulb'], 2, model => 'shop');
SELECT * FROM recommend_for_items(ARRAY['tea', 'mug'], 2, model => 'shop', exclude_basket => false);
SELECT * FROM recommend_for_items(ARRAY['tea', 'lamp'], 2, model => 'shop', weights => ARRAY[1, 5]);
SELECT * FROM recommend_for_items(ARRAY[]::text[], 2, model => 'shop');
SELECT * FROM recommend_for_items(ARRAY['tea'], 2, model => 'shop', weights => ARRAY[1, 2]);
SELECT * FROM recommend_for_items(ARRAY['tea'], 2, model => 'shop', weights => ARRAY[-1]);
SELECT * FROM recommend_for_items(NULL, 2, model => 'shop');

-- similar items and explanations
SELECT * FROM similar_items('lamp', 5, model => 'shop');
SELECT * FROM similar_items('nonexistent', 5, model => 'shop');
SELECT * FROM explain_recommendation(4, 'mug', model => 'shop');
SELECT sum(contribution) = (SELECT score FROM recommend(4, 10, model => 'shop') WHERE item_id = 'mug') AS adds_up
FROM explain_recommendation(4, 'mug', model => 'shop');

-- integer item ids and text user ids
CREATE TABLE recommend_orders (account text, product bigint);
INSERT INTO recommend_orders VALUES ('ann', 10), ('ann', 20), ('bob', 10), ('bob', 30), ('cy', 20), ('cy', 30), ('cy', 40);
SELECT train('ints', 'itemknn', 'SELECT account AS user_id, product AS item_id FROM recommend_orders') ->> 'item_id_type';
SELECT * FROM recommend('ann', 2, model => 'ints');
SELECT * FROM similar_items(10, 2, model => 'ints');
SELECT * FROM similar_items('10', 2, model => 'ints');

-- popularity models cannot give similar items
SELECT train('pop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM recommend_purchases') ->> 'algorithm';
SELECT * FROM recommend(1, 2, model => 'pop');
SELECT * FROM similar_items('mug', 2, model => 'pop');
SELECT * FROM explain_recommendation(1, 'sugar', model => 'pop');

-- the default model: recsys.default_model if set, else the most recently trained
SELECT * FROM recommend(1, 1);
SET recsys.default_model = 'shop';
SELECT * FROM recommend(1, 1);
SET recsys.default_model = 'nope';
SELECT * FROM recommend(1, 1);
RESET recsys.default_model;

-- clean up
DROP TABLE recommend_purchases, recommend_customers, recommend_orders;
DROP EXTENSION recsys;
