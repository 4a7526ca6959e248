#!/usr/bin/env bash
# Compressed EASE models through SQL (issue 18, item 5), one JSON line per
# model, on the online-retail data (../shared/data/online-retail), all
# purchases: train() with each parameter set, describe_model's "bytes"
# (stored) and "memory_bytes" (decoded, cached), a cold recommend() in a
# fresh backend (its fetch and decode times, recsys_cache_stats()), and
# cached recommend() latency p50/p90/p99 (pgbench, one client, prepared,
# random users; latencies in bench/lib.sh), each as a ratio to the first
# (float32) model; '{}' is EASE's default, float16. nDCG@10 is measured by bench/compression_core.
# Usage: [DATA=<the data folder, default ../shared/data>] bench/compression.sh [seconds per pgbench run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-5}
DATA=${DATA:-../shared/data}/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then echo '{"step": "compression", "skipped": "no ../shared/data"}'; exit 0; fi
. bench/lib.sh
WORK=$(mktemp -d /tmp/recsys-compression.XXXXXX)
chmod 777 "$WORK"
trap 'rm -rf "$WORK"; stop_cluster 2>/dev/null || true' EXIT

load_retail_pairs "$DATA"
N_USERS=$(psql -X -At -c "SELECT count(*) FROM bench_users")
USER1=$(psql -X -At -c "SELECT user_id FROM bench_users WHERE n = 1")

i=0
for params in '{"compression": "none"}' '{}' '{"compression": "int8"}' '{"top_m": 50}' \
              '{"top_m": 50, "compression": "int8"}'; do
    m=c$i
    i=$((i + 1))
    psql -X -q -v ON_ERROR_STOP=1 -c "SET recsys.threads = ${RECSYS_THREADS:-2}" \
         -c "SELECT train('$m', 'ease', 'SELECT user_id, item_id FROM retail_pairs', '$params')" >/dev/null
    SIZES=$(psql -X -At -c "SELECT jsonb_build_object('bytes', d -> 'bytes', 'memory_bytes', d -> 'memory_bytes')
                              FROM describe_model('$m') d")
    COLD=$(for run in 1 2 3; do
        psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM recommend($USER1::bigint, 10, model => '$m') \gset
SELECT json_build_object('ms', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1000, 1),
                         'fetch_ms', round((s ->> 'last_fetch_ms')::numeric, 1),
                         'decode_ms', round((s ->> 'last_decode_ms')::numeric, 1))
  FROM recsys_cache_stats() s;
SQL
    done | python3 -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
print(json.dumps({k: statistics.median(r[k] for r in runs) for k in ("ms", "fetch_ms", "decode_ms")}))')
    cat >"$WORK/rec.sql" <<SQL
\set n random(1, :nusers)
SELECT * FROM recommend((SELECT user_id FROM bench_users WHERE n = :n), 10, model => '$m');
SQL
    read -r R50 R90 R99 RN < <(latencies "$WORK/rec.sql")
    echo "{\"params\": $params, \"sizes\": $SIZES, \"cold\": $COLD, \"p50_us\": $R50, \"p90_us\": $R90, \"p99_us\": $R99, \"calls\": $RN}"
done | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
base = rows[0]
for r in rows:
    s = r["sizes"]
    print(json.dumps({"step": "compressed_ease", "params": r["params"], "bytes": s["bytes"],
                      "memory_bytes": s["memory_bytes"],
                      "smaller_on_disk": round(base["sizes"]["bytes"] / s["bytes"], 2),
                      "smaller_in_memory": round(base["sizes"]["memory_bytes"] / s["memory_bytes"], 2),
                      "cold_ms": r["cold"]["ms"], "fetch_ms": r["cold"]["fetch_ms"], "decode_ms": r["cold"]["decode_ms"],
                      "p50_us": r["p50_us"], "p90_us": r["p90_us"], "p99_us": r["p99_us"], "calls": r["calls"],
                      "p50_over_float32": round(r["p50_us"] / base["p50_us"], 2)}))'
