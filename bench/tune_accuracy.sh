#!/usr/bin/env bash
# tune()'s choice on held-out data, with and without blends, under issue 14's
# protocol (as bench/accuracy_core: binary pairs, per-user random 80/20 split
# with seed 42, users with fewer than 5 items train-only, seen items left out):
# tune() searches on the 80% (its own validation split inside it), and its
# stored choice is evaluated on the 20%. One JSON line per (data set, blend):
# the choice, its validation score and the best single model's, test nDCG@10
# and recall@20, and the seconds tune() took.
# Usage: bench/tune_accuracy.sh [budget seconds, default 120]   (SETS="online-retail ..." to choose data)
# Needs ../shared/data; without PGHOST, builds, installs and starts a
# throwaway cluster (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-120}
DATA=${DATA:-../shared/data}
SETS=${SETS:-online-retail}
[ -d "$DATA" ] || { echo '{"bench": "tune_accuracy", "skipped": "no ../shared/data"}'; exit 0; }
. bench/lib.sh
tmp=$(mktemp -d /tmp/recsys-tune-accuracy.XXXXXX)
chmod 755 "$tmp"
for d in $SETS; do
    bench/pairs.py "$d" "$DATA" > "$tmp/$d.csv"
    chmod 644 "$tmp/$d.csv"
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_pairs, bench_split;
CREATE TABLE bench_pairs (user_id text, item_id text);
COPY bench_pairs FROM '$tmp/$d.csv' WITH (FORMAT csv, HEADER true);
CREATE TABLE bench_split AS
SELECT s.user_id, s.item_id, s.is_test AND count(*) OVER (PARTITION BY s.user_id) >= 5 AS is_test
  FROM split_per_user('SELECT DISTINCT user_id, item_id FROM bench_pairs', 0.2, 42) s;
SQL
    for blend in false true; do
        psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
SET recsys.threads = 2;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT * FROM tune('bench_tune', 'SELECT user_id, item_id FROM bench_split WHERE NOT is_test',
                   budget => interval '$BUDGET seconds', blend => $blend);
\o
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
WITH test AS (SELECT (SELECT value FROM evaluate('bench_tune', 'SELECT user_id, item_id FROM bench_split WHERE is_test', 10)
                      WHERE metric = 'ndcg@10') AS ndcg10,
                     (SELECT value FROM evaluate('bench_tune', 'SELECT user_id, item_id FROM bench_split WHERE is_test', 20)
                      WHERE metric = 'recall@20') AS recall20)
SELECT jsonb_build_object('bench', 'tune_accuracy', 'data', '$d', 'blend', $blend, 'budget_seconds', $BUDGET,
       'seconds', round(:seconds::numeric, 1),
       'chosen', jsonb_build_object('algorithm', m.algorithm, 'params', m.metrics -> 'tune' -> 'chosen' -> 'params'),
       'retrained_params', m.metrics -> 'tune' -> 'retrained_params',
       'validation_score', round((m.metrics -> 'tune' -> 'chosen' ->> 'score')::numeric, 4),
       'best_single_validation', round((m.metrics -> 'tune' -> 'best_single' ->> 'score')::numeric, 4),
       'best_blend_validation', round((m.metrics -> 'tune' -> 'best_blend' ->> 'score')::numeric, 4),
       'candidates', jsonb_array_length(m.metrics -> 'tune' -> 'candidates'),
       'ndcg@10', round(t.ndcg10::numeric, 4), 'recall@20', round(t.recall20::numeric, 4))
  FROM recsys_models m, test t WHERE m.name = 'bench_tune' AND m.active;
SQL
    done
done
rm -rf "$tmp"
