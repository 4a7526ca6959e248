#!/usr/bin/env bash
# Model lifecycle (issue 18): the cost of versions. One JSON line per step:
# train, retrain (the recipe run again: should cost what train costs),
# retrain with a promotion rule (two holdout evaluations on top), activate
# (a rollback), and serving 2000 users one call each right after a switch
# (one decode) and with 1 and with 20 stored versions of the model (the
# lookup reads the active row through a partial unique index: the number of
# versions should not matter).
# Then, on online-retail (../shared/data, if present), update_model against a
# full train on everything before 2011-11-09: each algorithm trained on the
# purchases before 2011-11-08 and updated with that day ("new": "day"), and
# trained on those before 2011-10-09 and updated with the month to 2011-11-09
# ("new": "month"); one line per algorithm and update with both times and
# both nDCG@10 on the purchases from 2011-11-09 on (evaluate(): customers new
# then get popularity).
# Usage: bench/lifecycle.sh [users (default 50000)] [items (default 5000)]
#        UPDATE_ONLY=1 bench/lifecycle.sh: the online-retail part only
#        ALGORITHMS="als bpr" bench/lifecycle.sh: those algorithms only (online-retail part)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-50000} ITEMS=${2:-5000}
. bench/lib.sh

if [ -z "${UPDATE_ONLY:-}" ]; then
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS lc_bench, lc_bench_holdout;
CREATE TABLE lc_bench AS
SELECT u AS user_id, (u * 7 + j * j * 13 + (u % 17) * j) % $ITEMS AS item_id
  FROM generate_series(1, $USERS) u, generate_series(1, 10) j;
CREATE TABLE lc_bench_holdout AS
SELECT u AS user_id, (u * 7 + 121 * 13 + (u % 17) * 11) % $ITEMS AS item_id FROM generate_series(1, $USERS, 10) u;
SQL
rows="(SELECT count(*) FROM lc_bench)"
serve="SELECT count(*) FROM generate_series(1, 2000) u, LATERAL recommend(u, 10, model => 'lc_bench') r"

step train "$rows" "SELECT train('lc_bench', 'itemknn', 'SELECT user_id, item_id FROM lc_bench', '{\"neighbours\": 50}')"
step serve_one_version 2000 "$serve"
step retrain "$rows" "SELECT retrain('lc_bench')"
step retrain_promote_if "$rows" \
    "SELECT retrain('lc_bench', promote_if => 'ndcg@10 >= active - 0.005', holdout => 'SELECT user_id, item_id FROM lc_bench_holdout')"
for _ in $(seq 1 17); do
    psql -X -q -At -c "SELECT retrain('lc_bench')" >/dev/null
done
step serve_twenty_versions 2000 "$serve" \
    "SELECT jsonb_build_object('versions', (SELECT count(*) FROM model_versions('lc_bench')))"
step activate 1 "SELECT activate('lc_bench', (SELECT min(version) FROM model_versions('lc_bench')))"
step serve_after_switch 2000 "$serve" "SELECT recsys_cache_stats() - 'limit_bytes' - 'cached_bytes'"
psql -X -q -c "SELECT drop_model('lc_bench')" -c "DROP TABLE lc_bench, lc_bench_holdout" >/dev/null
fi

DATA=../shared/data/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then
    echo '{"step": "update_model", "skipped": "no ../shared/data/online-retail"}'
    exit 0
fi
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS lc_raw, lc_retail;
CREATE TABLE lc_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                     unit_price float8, customer_id bigint, country text);
\copy lc_raw FROM PROGRAM 'gzip -dc $DATA' WITH (FORMAT csv, HEADER true)
CREATE TABLE lc_retail AS SELECT customer_id, stock_code, invoice_date FROM lc_raw
 WHERE customer_id IS NOT NULL AND quantity > 0;
DROP TABLE lc_raw;
-- as a shop selecting "the last day's purchases" would have
CREATE INDEX ON lc_retail (invoice_date);
ANALYZE lc_retail;
SQL
rows() {  # the purchases in [$1, $2) as (user_id, item_id)
    echo "SELECT customer_id AS user_id, stock_code AS item_id FROM lc_retail
          WHERE invoice_date >= '$1' AND invoice_date < '$2'"
}
union=$(rows 2000-01-01 2011-11-09)
test=$(rows 2011-11-09 2100-01-01)
seconds() {  # seconds of one statement in its own backend
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET recsys.max_threads = 64;
SET recsys.threads = ${RECSYS_THREADS:-1};
SET client_min_messages = warning;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
$1;
\o
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3);
SQL
}
ndcg() {
    psql -X -q -At -c "SELECT round(value::numeric, 4) FROM evaluate('$1', \$q\$$test\$q\$) WHERE metric = 'ndcg@10'"
}
# How far one day's rows reach: an item-kNN or RP3beta similarity row can
# change only for an item bought by a buyer of an item the day touched (its
# co-occurrences, its buyers' weights or a neighbour's normalisation
# change); an EASE weight anywhere (the inverse of the Gram matrix is dense).
psql -X -q -At <<SQL
WITH seen AS (SELECT DISTINCT customer_id, stock_code FROM lc_retail WHERE invoice_date < '2011-11-09'),
     day AS (SELECT DISTINCT customer_id, stock_code FROM lc_retail
              WHERE invoice_date >= '2011-11-08' AND invoice_date < '2011-11-09'),
     buyers AS (SELECT DISTINCT s.customer_id FROM seen s JOIN (SELECT DISTINCT stock_code FROM day) d USING (stock_code))
SELECT jsonb_build_object('step', 'update_reach', 'data', 'online-retail', 'new', 'day',
       'touched_users', (SELECT count(DISTINCT customer_id) FROM day),
       'touched_items', (SELECT count(DISTINCT stock_code) FROM day),
       'items', (SELECT count(DISTINCT stock_code) FROM seen),
       'similarity_rows_that_may_change', (SELECT count(DISTINCT s.stock_code) FROM seen s JOIN buyers USING (customer_id)))
SQL
for alg in ${ALGORITHMS:-popularity itemknn rp3beta ease als bpr}; do
    train_s=$(seconds "SELECT train('lc_full_$alg', '$alg', \$q\$$union\$q\$)")
    retrain_s=$(seconds "SELECT retrain('lc_full_$alg')")
    for new in day month; do
        if [ $new = day ]; then from=2011-11-08; else from=2011-10-09; fi
        psql -X -q -At -c "SELECT train('lc_up_$alg', '$alg', \$q\$$(rows 2000-01-01 $from)\$q\$)" >/dev/null
        update_s=$(seconds "SELECT update_model('lc_up_$alg', \$q\$$(rows $from 2011-11-09)\$q\$)")
        # (before evaluate(), which stores its own metrics in their place)
        parts=$(psql -X -q -At -c "SELECT metrics -> 'update' -> 'seconds' FROM recsys_models
                                    WHERE name = 'lc_up_$alg' AND active")
        same=$(psql -X -q -At -c "SELECT (SELECT model FROM recsys_models WHERE name = 'lc_up_$alg' AND active)
                                         = (SELECT model FROM recsys_models WHERE name = 'lc_full_$alg' AND active)")
        psql -X -q -At <<SQL
SELECT jsonb_build_object('step', 'update_model', 'data', 'online-retail', 'algorithm', '$alg', 'new', '$new',
       'new_rows', (SELECT count(*) FROM lc_retail WHERE invoice_date >= '$from' AND invoice_date < '2011-11-09'),
       'rows', (SELECT count(*) FROM lc_retail WHERE invoice_date < '2011-11-09'),
       'update_seconds', $update_s, 'train_seconds', $train_s, 'retrain_seconds', $retrain_s,
       'speedup_vs_retrain', round($retrain_s / greatest($update_s, 0.001), 2),
       'same_bytes_as_train', '$same'::boolean,
       'ndcg10_updated', $(ndcg lc_up_$alg), 'ndcg10_trained', $(ndcg lc_full_$alg),
       'ndcg10_delta', $(ndcg lc_up_$alg) - $(ndcg lc_full_$alg),
       'update_parts', '$parts'::jsonb,
       'update_store_and_sql_seconds', $update_s - (SELECT sum(value::numeric) FROM jsonb_each_text('$parts'::jsonb)))
SQL
        psql -X -q -c "SELECT drop_model('lc_up_$alg')" >/dev/null
    done
    psql -X -q -c "SELECT drop_model('lc_full_$alg')" >/dev/null
done
psql -X -q -c "DROP TABLE lc_retail" >/dev/null
