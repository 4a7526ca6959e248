#!/usr/bin/env bash
# Shared models (DESIGN.md, "Shared models"): the EASE model of online-retail
# (all purchases, float16 as trained by default) served by N backends one
# after the other, each in a fresh connection, with every model kept per
# backend (recsys not preloaded) and then shared (the same cluster restarted
# with shared_preload_libraries = recsys). One JSON line per mode: the sum of
# the backends' private resident memory once served (RssAnon, of which an
# idle backend's is given), the shared area's bytes, the first backend's
# cold recommend() (it copies the bytes in), the median cold recommend() of
# the others, and cached latencies (pgbench, one client); then the ratios.
# Needs its own throwaway cluster (PGHOST unset): it restarts it.
# Usage: [DATA=<the data folder, default ../shared/data>] bench/shared_models.sh [backends (default 8)] [seconds per pgbench run (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${1:-8} SECONDS_PER_RUN=${2:-3}
DATA=${DATA:-../shared/data}/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then echo '{"bench": "shared_models", "skipped": "no ../shared/data"}'; exit 0; fi
if [ -n "${PGHOST:-}" ]; then echo "bench/shared_models.sh restarts its cluster: run it with PGHOST unset" >&2; exit 1; fi
WORK=$(mktemp -d /tmp/recsys-shared-models.XXXXXX)
. bench/lib.sh
trap 'rm -rf "$WORK"; stop_cluster 2>/dev/null || true' EXIT

load_retail_pairs "$DATA"
N_USERS=$(psql -X -At -c "SELECT count(*) FROM bench_users")
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET recsys.max_threads = 64;
SET recsys.threads = 2;
SELECT train('r_ease', 'ease', 'SELECT user_id, item_id FROM retail_pairs', '{"lambda": 100}');
SQL
MODEL_BYTES=$(psql -X -At -c "SELECT model_bytes FROM recsys_models WHERE name = 'r_ease' AND active")

# measure MODE: the JSON line of one mode.
measure() {
    local idle
    idle=$(psql -X -At -c "SELECT recsys_cache_stats() IS NOT NULL" \
                -c "SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'RssAnon:\\s+(\\d+) kB')" |
           tail -1)
    for b in $(seq 1 "$BACKENDS"); do
        psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT user_id AS u FROM bench_users WHERE n = $b * 37 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM recommend(:u, 10, model => 'r_ease') \g /dev/null
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1000, 1) AS cold_ms \gset
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/status') AS status \gset
SELECT json_build_object('cold_ms', :cold_ms, 'rss_anon_kb', substring(:'status' FROM 'RssAnon:\\s+(\\d+) kB')::bigint,
                         'shared_bytes', coalesce((s ->> 'shared_bytes')::bigint, 0), 'mode', s ->> 'mode')
FROM recsys_cache_stats() s;
SQL
    done >"$WORK/backends"
    cat >"$WORK/rec.sql" <<'SQL'
\set n random(1, :nusers)
SELECT * FROM recommend((SELECT user_id FROM bench_users WHERE n = :n), 10, model => 'r_ease');
SQL
    read -r R50 R90 R99 RN < <(latencies "$WORK/rec.sql")
    python3 - "$WORK/backends" "$idle" "$MODEL_BYTES" "$R50" "$R90" "$R99" "$RN" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
idle_kb, model_bytes = int(sys.argv[2]), int(sys.argv[3])
p50, p90, p99, calls = map(int, sys.argv[4:8])
rss = sum(r["rss_anon_kb"] for r in rows)
shared = rows[-1]["shared_bytes"]
print(json.dumps({"bench": "shared_models", "mode": rows[-1]["mode"], "backends": len(rows), "model_bytes": model_bytes,
                  "private_mb_sum": round(rss / 1024, 1), "idle_backend_private_mb": round(idle_kb / 1024, 1),
                  "model_private_mb_per_backend": round((rss / len(rows) - idle_kb) / 1024, 1),
                  "shared_mb": round(shared / 1048576, 1), "total_mb": round(rss / 1024 + shared / 1048576, 1),
                  "cold_first_ms": rows[0]["cold_ms"], "cold_others_median_ms": statistics.median(r["cold_ms"] for r in rows[1:]),
                  "cached_p50_us": p50, "cached_p90_us": p90, "cached_p99_us": p99, "cached_calls": calls}))
PY
}

measure >"$WORK/per_backend.json"
cat "$WORK/per_backend.json"
pg_ctl_cluster restart "-c shared_preload_libraries=recsys"
measure >"$WORK/shared.json"
cat "$WORK/shared.json"
python3 - "$WORK/per_backend.json" "$WORK/shared.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(json.dumps({"bench": "shared_models", "compare": "shared / per-backend", "backends": a["backends"],
                  "total_memory": round(b["total_mb"] / a["total_mb"], 3),
                  "model_private_memory": round(b["model_private_mb_per_backend"] / a["model_private_mb_per_backend"], 3),
                  "cold_others_median": round(b["cold_others_median_ms"] / a["cold_others_median_ms"], 2),
                  "cached_p50": round(b["cached_p50_us"] / a["cached_p50_us"], 2)}))
PY
