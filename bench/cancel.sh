#!/usr/bin/env bash
# Cancel latency: every long-running SQL function is run under a
# statement_timeout (1 s unless given) on generated data that keeps it busy
# for many seconds; one JSON line per function with seconds_after_timeout,
# the time from the timeout to the statement's end, and the error the
# statement ended with. No external data needed.
# Usage: bench/cancel.sh [timeout in seconds; a later one strikes later steps,
# e.g. 12 EASE's inverse]
set -euo pipefail
cd "$(dirname "$0")/.."
TIMEOUT=${1:-1}
. bench/lib.sh

# Inputs (not timed). For training, small enough to be read in well under a
# second, so that the timeout strikes the computation itself: cancel_dense,
# 25 users who bought all of 16,000 items (item-kNN's worst case), and
# cancel_items, 1,000 users with 80 of 8,000 items each (EASE's dense 8,000 x
# 8,000 solve, ALS with 1,024 factors, BPR). cancel_rows: 200,000 users with
# 20 of 20,000 items each, 4 million rows, to split, and for the ALS model
# (128 factors) that evaluate and recommend_all score.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS cancel_dense, cancel_items, cancel_rows;
CREATE TABLE cancel_dense AS SELECT u AS user_id, i AS item_id FROM generate_series(1, 25) u, generate_series(1, 16000) i;
CREATE TABLE cancel_items AS
SELECT u AS user_id, 1 + (u * 80 + k) % 8000 AS item_id FROM generate_series(1, 1000) u, generate_series(1, 80) k;
CREATE TABLE cancel_rows AS
SELECT 1 + g % 200000 AS user_id, 1 + (g / 200000 * 7919 + g % 200000 * 31) % 20000 AS item_id
FROM generate_series(0, 3999999) g;
ANALYZE cancel_dense, cancel_items, cancel_rows;
SET recsys.threads = 2;
SELECT train('cancel_als', 'als', 'SELECT user_id, item_id FROM cancel_rows', '{"factors": 128, "iterations": 1}');
SQL

# cancel NAME THREADS SQL: runs SQL in a fresh backend under the timeout.
cancel() {
    local name=$1 threads=$2 sql=$3
    psql -X -q -At 2>/dev/null <<SQL
SET recsys.threads = $threads;
SET recsys.memory_limit = '4GB';
SET client_min_messages = warning;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '${TIMEOUT}s';
\o /dev/null
$sql;
\o
RESET statement_timeout;
SELECT jsonb_build_object('function', '$name', 'threads', $threads,
       'seconds_after_timeout', round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) - $TIMEOUT)::numeric, 3),
       'error', nullif(:'LAST_ERROR_MESSAGE', ''));
SQL
}

ITEMS="SELECT user_id, item_id FROM cancel_items"
ROWS="SELECT user_id, item_id FROM cancel_rows"
cancel train_popularity 2 "SELECT train('c', 'popularity', '$ROWS')"
cancel train_itemknn 2 "SELECT train('c', 'itemknn', 'SELECT user_id, item_id FROM cancel_dense')"
cancel train_als 2 "SELECT train('c', 'als', '$ITEMS', '{\"factors\": 1024, \"iterations\": 1000}')"
cancel train_bpr 2 "SELECT train('c', 'bpr', '$ITEMS', '{\"iterations\": 100000}')"
for t in 2 8 64; do
    cancel train_ease "$t" "SELECT train('c', 'ease', '$ITEMS')"
done
cancel tune 2 "SELECT * FROM tune('c', '$ROWS', max_candidates => 2)"
cancel split_per_user 2 "SELECT count(*) FROM split_per_user('$ROWS', 0.2)"
cancel evaluate 2 "SELECT * FROM evaluate('cancel_als', 'SELECT user_id, item_id FROM cancel_rows WHERE item_id % 20 = 0')"
cancel recommend_all 2 "SELECT count(*) FROM recommend_all(10, model => 'cancel_als')"
