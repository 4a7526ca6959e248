#!/usr/bin/env bash
# The ranker inside PostgreSQL on online-retail (../shared/data; issue 13's
# cleaning, all purchases): train_ranker end to end, cached recommend()
# latency (p50/p90 over 500 customers, one backend), recommend_all
# throughput with 1 and 2 threads, and each step's peak backend memory.
# One JSON line per step. Usage: bench/ranker_sql.sh [learner]   (default boosted)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then
    echo '{"bench": "ranker_sql", "skipped": "no ../shared/data"}'
    exit 0
fi
LEARNER=${1:-boosted}
export OMP_WAIT_POLICY=PASSIVE
. bench/lib.sh

step load 541909 "
DROP TABLE IF EXISTS retail_raw, retail;
CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                         unit_price numeric, customer_id numeric, country text);
COPY retail_raw FROM PROGRAM 'gzip -dc $(realpath $DATA)' WITH (FORMAT csv, HEADER true);
CREATE TABLE retail AS
SELECT customer_id::bigint AS customer_id, stock_code, invoice_date AT TIME ZONE 'UTC' AS ts, quantity,
       unit_price::float8 AS price
  FROM retail_raw
 WHERE customer_id IS NOT NULL AND invoice NOT LIKE 'C%' AND quantity > 0 AND unit_price > 0
   AND stock_code NOT IN ('POST', 'D', 'M', 'DOT', 'BANK CHARGES', 'C2', 'CRUK', 'PADS', 'AMAZONFEE', 'S', 'B');
ANALYZE retail" "SELECT jsonb_build_object('purchases', count(*)) FROM retail"

for t in 1 2; do
    RECSYS_THREADS=$t step "train_ranker_${LEARNER}_t$t" "(SELECT count(*) FROM retail)" \
        "SELECT train_ranker('bench_ranker', 'SELECT customer_id AS user_id, stock_code AS item_id, ts, quantity, price FROM retail',
                             params => '{\"learner\": \"$LEARNER\"}')" \
        "SELECT jsonb_build_object('model_mb', round(pg_column_size(model) / 1048576.0, 1)) FROM recsys_models WHERE name = 'bench_ranker' AND active"
done

# Cached recommend(): the first call loads the model, then 500 customers one by one.
step recommend_latency 500 "
CREATE TEMP TABLE lat (ms float8);
DO \$\$
DECLARE u bigint; t0 timestamptz;
BEGIN
    PERFORM count(*) FROM recommend(12347, 10, model => 'bench_ranker', exclude_seen => false);
    FOR u IN SELECT DISTINCT customer_id FROM retail ORDER BY customer_id LIMIT 500 LOOP
        t0 := clock_timestamp();
        PERFORM count(*) FROM recommend(u, 10, model => 'bench_ranker', exclude_seen => false);
        INSERT INTO lat VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END \$\$" \
    "SELECT jsonb_build_object('p50_ms', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                               'p90_ms', round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 2)) FROM lat"

for t in 1 2; do
    RECSYS_THREADS=$t step "recommend_all_t$t" "(SELECT count(DISTINCT customer_id) FROM retail)" "
    SELECT recsys_cache_stats();
    SELECT clock_timestamp() AS t1 \\gset
    SELECT count(*) FROM recommend_all(10, model => 'bench_ranker', exclude_seen => false)" \
        "SELECT jsonb_build_object('users_per_second',
                 round((SELECT count(DISTINCT customer_id) FROM retail)
                       / extract(epoch FROM clock_timestamp() - :'t1'::timestamptz)::numeric, 1),
                 'note', 'users_per_second excludes loading the model')"
done
