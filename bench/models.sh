#!/usr/bin/env bash
# Model benchmarks: one JSON line per step. On the public e-commerce data
# (../shared/data/online-retail, if present; per-customer 80/20 split) and a
# synthetic power-law table: training seconds (per iteration for ALS/BPR) at
# factors 32/64/128 with 1 and 2 threads, peak backend memory, and
# precision/nDCG@10 on the held-out split; EASE at 1k/4k(/10k) items;
# recommend_all vs a LATERAL recommend over 100k users.
# Usage: bench/models.sh [synthetic users] [items] [rows]   (BENCH_EASE_10K=1 adds EASE at 10k items)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-100000} ITEMS=${2:-20000} ROWS=${3:-2000000}
. bench/lib.sh

quality() {  # the held-out metrics of model $1 on table $2's test rows, as jsonb
    echo "SELECT jsonb_build_object('precision@10', round((m -> 'all' ->> 'precision')::numeric, 4),
                                  'ndcg@10', round((m -> 'all' ->> 'ndcg')::numeric, 4))
          FROM recsys_evaluate('$1', 'SELECT user_id, item_id FROM $2 WHERE is_test', 10, current_setting('search_path')) AS m"
}
per_iteration() {  # seconds per iteration of model $1, from its training time
    echo "SELECT jsonb_build_object('seconds_per_iteration',
                 round((train_seconds / (params ->> 'iterations')::int)::numeric, 4))
          FROM recsys_models WHERE name = '$1' AND active"
}

DATA=../shared/data/online-retail/purchases.csv.gz
if [ -f "$DATA" ]; then
    step retail_load_and_split 541909 "
    DROP TABLE IF EXISTS retail_raw, retail_split;
    CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                             unit_price numeric, customer_id numeric, country text);
    COPY retail_raw FROM PROGRAM 'gzip -dc $(realpath $DATA)' WITH (FORMAT csv, HEADER true);
    CREATE TABLE retail_split AS SELECT * FROM split_per_user(
        'SELECT customer_id::bigint AS user_id, stock_code AS item_id, 1.0 AS weight FROM retail_raw
         WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE ''C%''', 0.2);
    ANALYZE retail_split" "SELECT jsonb_build_object('pairs', (SELECT count(DISTINCT (user_id, item_id)) FROM retail_split))"
    TRAIN="SELECT user_id, item_id FROM retail_split WHERE NOT is_test"
    for f in 32 64 128; do
        for t in 1 2; do
            RECSYS_THREADS=$t step "retail_als_f${f}_t${t}" "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
                "SELECT train('r_als', 'als', '$TRAIN', '{\"factors\": $f, \"iterations\": 15, \"regularization\": 0.01, \"alpha\": 0, \"cg_steps\": 3}')" \
                "($(per_iteration r_als)) || ($(quality r_als retail_split))"
        done
    done
    for t in 1 2; do
        RECSYS_THREADS=$t step "retail_bpr_100_epochs_t${t}" "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
            "SELECT train('r_bpr', 'bpr', '$TRAIN', '{\"iterations\": 100}')" "$(quality r_bpr retail_split)"
    done
    for t in 1 2; do
        RECSYS_THREADS=$t step "retail_ease_lambda100_t${t}" "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
            "SELECT train('r_ease', 'ease', '$TRAIN', '{\"lambda\": 100}')" "$(quality r_ease retail_split)"
    done
    step retail_itemknn "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
        "SELECT train('r_knn', 'itemknn', '$TRAIN')" "$(quality r_knn retail_split)"
    step retail_rp3beta "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
        "SELECT train('r_rp3', 'rp3beta', '$TRAIN')" "$(quality r_rp3 retail_split)"
    step retail_popularity "(SELECT count(*) FROM retail_split WHERE NOT is_test)" \
        "SELECT train('r_pop', 'popularity', '$TRAIN')" "$(quality r_pop retail_split)"
else
    echo '{"step": "retail", "skipped": "no ../shared/data"}'
fi

step synthetic_generate_and_split "$ROWS" "
DROP TABLE IF EXISTS synth_split;
SELECT setseed(0.42);
CREATE TABLE synth_split AS SELECT * FROM split_per_user(
  'SELECT 1 + floor(random() * $USERS)::bigint AS user_id, ''SKU'' || floor(exp(random() * ln($ITEMS)))::int AS item_id
   FROM generate_series(1, $ROWS)', 0.2);
ANALYZE synth_split"
STRAIN="SELECT user_id, item_id FROM synth_split WHERE NOT is_test"
for f in 32 64 128; do
    for t in 1 2; do
        RECSYS_THREADS=$t step "synthetic_als_f${f}_t${t}" "(SELECT count(*) FROM synth_split WHERE NOT is_test)" \
            "SELECT train('s_als', 'als', '$STRAIN', '{\"factors\": $f, \"iterations\": 5}')" "$(per_iteration s_als)"
    done
done
RECSYS_THREADS=2 step synthetic_als_f64_quality "(SELECT count(*) FROM synth_split WHERE NOT is_test)" \
    "SELECT train('s_als64', 'als', '$STRAIN', '{\"factors\": 64, \"iterations\": 15}')" "$(quality s_als64 synth_split)"
for n in 1000 4000 ${BENCH_EASE_10K:+10000}; do
    RECSYS_THREADS=2 step "synthetic_ease_${n}_items" "(SELECT count(*) FROM synth_split WHERE NOT is_test)" "
    SET recsys.memory_limit = '4GB';
    SELECT train('s_ease', 'ease', '$STRAIN', '{\"max_items\": $n}')"
done

# Batch scoring: every user's top 10 from a 64-factor ALS model, as rows,
# against one recommend() call per user.
RECSYS_THREADS=2 step synthetic_recommend_all_als64_t2 "(SELECT n_users FROM recsys_models WHERE name = 's_als64' AND active)" \
    "SELECT count(*) FROM recommend_all(10, model => 's_als64')"
RECSYS_THREADS=1 step synthetic_recommend_all_als64_t1 "(SELECT n_users FROM recsys_models WHERE name = 's_als64' AND active)" \
    "SELECT count(*) FROM recommend_all(10, model => 's_als64')"
RECSYS_THREADS=1 step synthetic_lateral_recommend_als64 "(SELECT n_users FROM recsys_models WHERE name = 's_als64' AND active)" \
    "SELECT count(*) FROM (SELECT DISTINCT user_id FROM synth_split WHERE NOT is_test) u
     CROSS JOIN LATERAL recommend(u.user_id, 10, model => 's_als64')"
