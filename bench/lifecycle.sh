#!/usr/bin/env bash
# Model lifecycle (issue 18): the cost of versions. One JSON line per step:
# train, retrain (the recipe run again: should cost what train costs),
# retrain with a promotion rule (two holdout evaluations on top), activate
# (a rollback), and serving 2000 users one call each right after a switch
# (one decode) and with 1 and with 20 stored versions of the model (the
# lookup reads the active row through a partial unique index: the number of
# versions should not matter).
# Usage: bench/lifecycle.sh [users (default 50000)] [items (default 5000)]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-50000} ITEMS=${2:-5000}
. bench/lib.sh

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
