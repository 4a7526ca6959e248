#!/usr/bin/env bash
# tune() against its budget on every shared data set: one JSON line per data
# set with the budget, the seconds tune() took, their ratio (goal: <= 1.05),
# candidates trained and skipped, why the search stopped and the choice.
# Usage: bench/tune_budget.sh [budget seconds, default 60]
# Needs ../shared/data; without PGHOST, builds, installs and starts a
# throwaway cluster (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-60}
DATA=${DATA:-../shared/data}
[ -d "$DATA" ] || { echo '{"bench": "tune_budget", "skipped": "no ../shared/data"}'; exit 0; }
. bench/lib.sh
tmp=$(mktemp -d /tmp/recsys-tune-budget.XXXXXX)
chmod 755 "$tmp"
for d in online-retail online-retail-ii complete-journey clickstream; do
    bench/pairs.py "$d" "$DATA" > "$tmp/$d.csv"
    chmod 644 "$tmp/$d.csv"
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
SET recsys.threads = 2;
DROP TABLE IF EXISTS bench_pairs;
CREATE TABLE bench_pairs (user_id text, item_id text);
COPY bench_pairs FROM '$tmp/$d.csv' WITH (FORMAT csv, HEADER true);
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT * FROM tune('bench_tune', 'SELECT user_id, item_id FROM bench_pairs', budget => interval '$BUDGET seconds');
\o
SELECT jsonb_build_object('bench', 'tune_budget', 'data', '$d', 'budget_seconds', $BUDGET,
       'seconds', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2),
       'ratio', round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) / $BUDGET)::numeric, 3),
       'candidates', jsonb_array_length(metrics -> 'tune' -> 'candidates'),
       'skipped', jsonb_array_length(metrics -> 'tune' -> 'skipped'),
       'stopped_by', metrics -> 'tune' -> 'stopped_by',
       'chosen', jsonb_build_object('algorithm', algorithm, 'params', metrics -> 'tune' -> 'chosen' -> 'params',
                                    'score', metrics -> 'tune' -> 'chosen' -> 'score'))
  FROM recsys_models WHERE name = 'bench_tune';
SQL
done
rm -rf "$tmp"
