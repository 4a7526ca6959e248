-- The recsys demo: real purchases in, recommendations out.
\set ON_ERROR_STOP on
\pset footer off
CREATE EXTENSION recsys;           -- installs into schema recsys
SET search_path = public, recsys;

CREATE TABLE raw_purchases (invoice text, stock_code text, description text, quantity int,
                            invoice_date timestamp, unit_price numeric, customer_id bigint, country text);
\copy raw_purchases FROM PROGRAM 'gzip -dc data/online-retail-sample.csv.gz' WITH (FORMAT csv, HEADER true)

-- what a shop would train on: real sales with a known customer
CREATE VIEW purchases AS
SELECT customer_id, stock_code, quantity, invoice_date, unit_price
FROM raw_purchases
WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE 'C%';
CREATE VIEW products AS
SELECT stock_code, min(description) AS description FROM raw_purchases GROUP BY stock_code;

\echo '== train item-kNN and popularity over the purchases'
SELECT train('shop', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM purchases')
       - 'params' AS shop;
SELECT train('bestsellers', 'popularity',
             'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases') ->> 'items' AS bestseller_items;
SELECT name, algorithm, n_users, n_items, n_interactions, round(train_seconds::numeric, 3) AS seconds
FROM recsys_list_models();

\echo '== top 5 for three customers, with product names'
SELECT r.user_id AS customer_id, r.rank, r.item_id, p.description, round(r.score::numeric, 3) AS score, r.source
FROM (VALUES (12883), (14911), (99999)) AS c(user_id)
CROSS JOIN LATERAL (SELECT c.user_id, x.* FROM recommend(c.user_id, 5, model => 'shop') x) r
JOIN products p ON p.stock_code = r.item_id
ORDER BY r.user_id, r.rank;

\echo '== customers who bought the WHITE HANGING HEART T-LIGHT HOLDER also bought'
SELECT s.rank, s.item_id, p.description, round(s.score::numeric, 3) AS similarity
FROM similar_items('85123A', 5, model => 'shop') s JOIN products p ON p.stock_code = s.item_id
ORDER BY s.rank;

\echo '== an anonymous basket: a jam making set and a cake stand'
SELECT r.rank, r.item_id, p.description
FROM recommend_for_items(ARRAY['22961', '22423'], 5, model => 'shop') r JOIN products p ON p.stock_code = r.item_id
ORDER BY r.rank;
