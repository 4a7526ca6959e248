#!/usr/bin/env bash
# Serving cache memory (issue #16, D8): 8 backends each serve three large
# EASE models in turn; one JSON line per recsys.cache_memory setting with the
# backends' peak resident memory (VmHWM: sum and largest), their resident
# private memory once served (RssAnon: the cache's share, without shared
# buffers) and the decodes.
# Without a bound every backend keeps all three decoded models.
# Usage: bench/cache_memory.sh [items per model (default 4000)] [backends (default 8)]
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-4000} BACKENDS=${2:-8}
. bench/lib.sh

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET recsys.max_threads = 64;
SET recsys.threads = 2;
SET recsys.memory_limit = '4GB';
DROP TABLE IF EXISTS cache_bench;
CREATE TABLE cache_bench AS
SELECT u AS user_id, (u * 7 + j * j * 13) % $ITEMS AS item_id
FROM generate_series(1, 20000) u, generate_series(1, 12) j;
SELECT train('cache_ease_' || m, 'ease', 'SELECT user_id, item_id FROM cache_bench WHERE user_id % 3 <> ' || m, '{"lambda": 100}')
FROM generate_series(0, 2) m;
SQL
model_mb=$(psql -X -At -c "SELECT round(avg(model_bytes) / 1048576.0) FROM recsys_models WHERE name LIKE 'cache_ease_%'")

for cache in 4GB 256MB 100MB; do
    pids=()
    for b in $(seq 1 "$BACKENDS"); do
        psql -X -At -v ON_ERROR_STOP=1 > "/tmp/cache_bench_$b" <<SQL &
SET recsys.cache_memory = '$cache';
SELECT count(*) FROM recommend($b, 10, model => 'cache_ease_0') \g /dev/null
SELECT count(*) FROM recommend($b, 10, model => 'cache_ease_1') \g /dev/null
SELECT count(*) FROM recommend($b, 10, model => 'cache_ease_2') \g /dev/null
SELECT count(*) FROM recommend($b, 10, model => 'cache_ease_0') \g /dev/null
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/status') AS status \gset
SELECT substring(:'status' FROM 'VmHWM:\\s+(\\d+) kB')::bigint / 1024, substring(:'status' FROM 'RssAnon:\\s+(\\d+) kB')::bigint / 1024,
       recsys_cache_stats() ->> 'decodes';
SQL
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    cat /tmp/cache_bench_* | awk -F'|' -v cache="$cache" -v n="$BACKENDS" -v items="$ITEMS" -v mb="$model_mb" '
        { sum += $1; if ($1 + 0 > max + 0) max = $1; rss += $2; dec += $3 }
        END { printf "{\"bench\": \"cache_memory\", \"cache_memory\": \"%s\", \"backends\": %d, \"models\": 3, \"items\": %d, \"model_mb\": %d, \"peak_rss_mb_sum\": %d, \"peak_rss_mb_max\": %d, \"private_after_mb_sum\": %d, \"decodes\": %d}\n", cache, n, items, mb, sum, max, rss, dec }'
    rm -f /tmp/cache_bench_*
done
