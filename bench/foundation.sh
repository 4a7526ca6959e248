#!/usr/bin/env bash
# Foundation benchmark: prints one JSON line per step.
#  1. synthetic power-law purchases (default 100k users, 20k items, 2M rows)
#     generated inside PostgreSQL; train item-kNN and popularity; recommend
#     for a sample of users.
#  2. the public e-commerce data (../shared/data/online-retail, if present):
#     item-kNN trained over the table plus top-10 for every customer, side
#     by side with the plain-SQL item-kNN a DBA would write, and how far
#     their top-10 lists agree.
# Each step runs in its own connection; peak_rss_mb is that backend's peak
# resident memory (VmHWM). Usage: bench/foundation.sh [users items rows]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-100000} ITEMS=${2:-20000} ROWS=${3:-2000000}
. bench/lib.sh

step synthetic_generate "$ROWS" "
DROP TABLE IF EXISTS bench_purchases;
SELECT setseed(0.42);
CREATE TABLE bench_purchases AS
SELECT 1 + floor(random() * $USERS)::bigint AS customer_id,
       'SKU' || floor(exp(random() * ln($ITEMS)))::int AS stock_code,
       1 + floor(random() * 5)::int AS quantity
FROM generate_series(1, $ROWS);
ANALYZE bench_purchases"
step synthetic_train_itemknn "$ROWS" "SELECT train('synthetic_knn', 'itemknn',
  'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM bench_purchases', '{\"neighbours\": 50}')"
step synthetic_train_popularity "$ROWS" "SELECT train('synthetic_pop', 'popularity',
  'SELECT customer_id AS user_id, stock_code AS item_id FROM bench_purchases')"
step synthetic_recommend_10k_users 100000 "SELECT count(*) FROM generate_series(1, $USERS, greatest($USERS / 10000, 1)) u
  CROSS JOIN LATERAL recommend(u, 10, model => 'synthetic_knn')"

DATA=../shared/data/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then echo '{"step": "retail", "skipped": "no ../shared/data"}'; exit 0; fi
step retail_load 541909 "
DROP TABLE IF EXISTS retail_raw;
CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                         unit_price numeric, customer_id numeric, country text);
COPY retail_raw FROM PROGRAM 'gzip -dc $(realpath $DATA)' WITH (FORMAT csv, HEADER true);
DROP TABLE IF EXISTS retail_pairs;
CREATE TABLE retail_pairs AS
SELECT customer_id::bigint AS customer_id, stock_code, sum(quantity) AS quantity FROM retail_raw
WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE 'C%'
GROUP BY 1, 2;
ANALYZE retail_pairs"
step retail_recsys_itemknn_train_and_top10 "(SELECT count(*) FROM retail_pairs)" "
SELECT train('retail_knn', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM retail_pairs',
             '{\"neighbours\": 20, \"weighting\": \"none\"}');
DROP TABLE IF EXISTS retail_recsys_top10;
CREATE TABLE retail_recsys_top10 AS
SELECT c.customer_id, r.item_id, r.rank FROM (SELECT DISTINCT customer_id FROM retail_pairs) c
CROSS JOIN LATERAL recommend(c.customer_id, 10, model => 'retail_knn') r"
# The plain-SQL way: co-purchase counts by self-join, cosine-normalised, top-20
# neighbours per item with a window function, then every customer scored.
step retail_plain_sql_itemknn_top10 "(SELECT count(*) FROM retail_pairs)" "
DROP TABLE IF EXISTS retail_sql_top10;
CREATE TABLE retail_sql_top10 AS
WITH counts AS (SELECT stock_code, count(*) AS n FROM retail_pairs GROUP BY stock_code),
co AS (SELECT a.stock_code AS i, b.stock_code AS j, count(*) AS n
       FROM retail_pairs a JOIN retail_pairs b ON a.customer_id = b.customer_id AND a.stock_code <> b.stock_code
       GROUP BY 1, 2),
sim AS (SELECT co.i, co.j, co.n / sqrt(ci.n * cj.n) AS s FROM co JOIN counts ci ON ci.stock_code = co.i
        JOIN counts cj ON cj.stock_code = co.j),
nb AS (SELECT i, j, s FROM (SELECT i, j, s, row_number() OVER (PARTITION BY i ORDER BY s DESC, j) AS r FROM sim) x
       WHERE r <= 20),
scores AS (SELECT p.customer_id, nb.j AS item_id, sum(nb.s) AS score FROM retail_pairs p JOIN nb ON nb.i = p.stock_code
           WHERE NOT EXISTS (SELECT 1 FROM retail_pairs q WHERE q.customer_id = p.customer_id AND q.stock_code = nb.j)
           GROUP BY 1, 2)
SELECT customer_id, item_id, rank FROM (SELECT customer_id, item_id,
       row_number() OVER (PARTITION BY customer_id ORDER BY score DESC, item_id) AS rank FROM scores) x WHERE rank <= 10"
psql -X -q -At <<'SQL'
SELECT json_build_object('step', 'retail_top10_agreement',
       'customers', count(DISTINCT s.customer_id),
       'share_of_sql_top10_also_in_recsys_top10',
       round(avg((EXISTS (SELECT 1 FROM retail_recsys_top10 r WHERE r.customer_id = s.customer_id
                                                               AND r.item_id = s.item_id))::int), 4))
FROM retail_sql_top10 s;
SQL
