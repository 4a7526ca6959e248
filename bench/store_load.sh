#!/usr/bin/env bash
# Storing and loading models (issue 20), one JSON line per measurement, on
# the online-retail data (../shared/data/online-retail), all purchases:
#   - train('ease') end to end (one thread) against numpy float64 (Gram +
#     Cholesky-or-LU inverse, the faster, + weights, same lambda, one BLAS
#     thread), as a ratio;
#   - EASE's nDCG@10 with float32 weights against float64 (Eigen LLT, one
#     thread, the same Gram matrix; bench/ease_precision_core on an 80/20
#     split) and the time of each;
#   - per model, a cold recommend() in a fresh backend (3 runs, median) with
#     its detoast (fetch) and decode times from recsys_cache_stats();
#   - per model, cached recommend() latency p50/p90/p99 (pgbench, one client,
#     prepared, random users, the first, cold call left out) against a
#     trivial indexed SELECT of the same user table, as ratios.
# Usage: [DATA=<the data folder, default ../shared/data>] bench/store_load.sh [seconds per pgbench run, default 5]
# (STORE_LOAD_NUMPY=0 and STORE_LOAD_PRECISION=0 leave out the slow
# comparisons of training, to measure loading and serving alone.)
# Needs numpy for /usr/bin/python3 (Debian: python3-numpy; another Python: NUMPY_PYTHON=...) and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-5}
DATA=${DATA:-../shared/data}/online-retail/purchases.csv.gz
if [ ! -f "$DATA" ]; then echo '{"step": "store_load", "skipped": "no ../shared/data"}'; exit 0; fi
. bench/lib.sh
WORK=$(mktemp -d /tmp/recsys-store-load.XXXXXX)
chmod 777 "$WORK"
trap 'rm -rf "$WORK"; stop_cluster 2>/dev/null || true' EXIT

load_retail_pairs "$DATA"
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy retail_pairs TO '$WORK/pairs.csv' WITH (FORMAT csv, HEADER true)" >/dev/null
N_USERS=$(psql -X -At -c "SELECT count(*) FROM bench_users")

# numpy float64, one thread (slow: numpy's dense Gram; STORE_LOAD_NUMPY=0
# leaves it and the ratio out, to measure serving alone).
NUMPY=""
if [ "${STORE_LOAD_NUMPY:-1}" != 0 ]; then
# X dense 0/1, G = XᵀX + λI, P = G⁻¹, B = I − P diag(1/diag P).
NUMPY=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "${NUMPY_PYTHON:-/usr/bin/python3}" - "$WORK/pairs.csv" <<'PY'
import csv, json, sys, time
import numpy as np
users, items, rows, cols = {}, {}, [], []
reader = csv.reader(open(sys.argv[1]))
next(reader)  # header
for u, i in reader:
    rows.append(users.setdefault(u, len(users))); cols.append(items.setdefault(i, len(items)))
X = np.zeros((len(users), len(items)))
X[rows, cols] = 1.0
lam = 100.0
def weights(P):
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B
def by_inverse():
    G = X.T @ X
    G[np.diag_indices_from(G)] += lam
    return weights(np.linalg.inv(G))
def by_cholesky():
    G = X.T @ X
    G[np.diag_indices_from(G)] += lam
    L = np.linalg.cholesky(G)
    Linv = np.linalg.inv(L)  # triangular, via the general inverse: numpy has no potri
    return weights(Linv.T @ Linv)
best = {}
for name, f in (("inverse", by_inverse), ("cholesky", by_cholesky)):
    t0 = time.perf_counter()
    f()
    best[name] = time.perf_counter() - t0
print(json.dumps({"users": len(users), "items": len(items), "numpy_inverse_seconds": round(best["inverse"], 3),
                  "numpy_cholesky_seconds": round(best["cholesky"], 3), "numpy_seconds": round(min(best.values()), 3)}))
PY
)
NUMPY_SECONDS=$(echo "$NUMPY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["numpy_seconds"])')
fi

# float32 against float64 (core only, on the split of bench_util.h; slow:
# Eigen's LLT inverse; STORE_LOAD_PRECISION=0 leaves it out).
if [ "${STORE_LOAD_PRECISION:-1}" != 0 ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j2 --target bench_ease_precision_core >/dev/null
    build/bench_ease_precision_core "$WORK/pairs.csv" 100
fi

# train() end to end, one thread, each in a fresh backend; EASE twice (best of 2).
TRAIN="SELECT user_id, item_id FROM retail_pairs"
train_seconds() {  # name algorithm params -> seconds
    RECSYS_THREADS=1 step "train_$1" 0 "SELECT train('$1', '$2', '$TRAIN', '$3')" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
E1=$(train_seconds r_ease ease '{"lambda": 100}')
E2=$(train_seconds r_ease ease '{"lambda": 100}')
python3 - "$E1" "$E2" "$NUMPY" <<'PY'
import json, sys
e = min(float(sys.argv[1]), float(sys.argv[2]))
if sys.argv[3]:
    n = json.loads(sys.argv[3])
    print(json.dumps({"step": "train_ease_vs_numpy", "train_seconds": e, **n,
                      "ratio_to_numpy": round(e / n["numpy_seconds"], 2)}))
else:
    print(json.dumps({"step": "train_ease", "train_seconds": e}))
PY
train_seconds r_als als '{"factors": 64, "iterations": 15}' >/dev/null
train_seconds r_itemknn itemknn '{}' >/dev/null
train_seconds r_rp3beta rp3beta '{}' >/dev/null
train_seconds r_bpr bpr '{"iterations": 20}' >/dev/null
train_seconds r_popularity popularity '{}' >/dev/null
MODELS="r_ease r_als r_itemknn r_rp3beta r_bpr r_popularity"

# Cold: a fresh backend's first recommend(), its fetch (detoast) and decode.
USER1=$(psql -X -At -c "SELECT user_id FROM bench_users WHERE n = 1")
for m in $MODELS; do
    for run in 1 2 3; do
        psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM recommend($USER1::bigint, 10, model => '$m') \gset
SELECT json_build_object('ms', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1000, 1),
                         'fetch_ms', round((s ->> 'last_fetch_ms')::numeric, 1),
                         'decode_ms', round((s ->> 'last_decode_ms')::numeric, 1),
                         'bytes', (SELECT model_bytes FROM recsys_models WHERE name = '$m' AND active))
  FROM recsys_cache_stats() s;
SQL
    done | python3 -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
med = lambda k: statistics.median(r[k] for r in runs)
print(json.dumps({"step": "cold_recommend", "model": sys.argv[1], "model_bytes": runs[0]["bytes"],
                  "cold_ms": med("ms"), "fetch_ms": med("fetch_ms"), "decode_ms": med("decode_ms"),
                  "runs_ms": [r["ms"] for r in runs]}))' "$m"
done

# Cached: pgbench, one client, prepared statements, random users (latencies, bench/lib.sh).
cat >"$WORK/select.sql" <<'SQL'
\set n random(1, :nusers)
SELECT user_id FROM bench_users WHERE n = :n;
SQL
read -r S50 S90 S99 SN < <(latencies "$WORK/select.sql")
echo "{\"step\": \"indexed_select\", \"p50_us\": $S50, \"p90_us\": $S90, \"p99_us\": $S99, \"calls\": $SN}"
for m in $MODELS; do
    cat >"$WORK/rec.sql" <<SQL
\set n random(1, :nusers)
SELECT * FROM recommend((SELECT user_id FROM bench_users WHERE n = :n), 10, model => '$m');
SQL
    read -r R50 R90 R99 RN < <(latencies "$WORK/rec.sql")
    python3 -c '
import json, sys
m, r50, r90, r99, n, s50 = sys.argv[1], *map(int, sys.argv[2:7])
print(json.dumps({"step": "cached_recommend", "model": m, "p50_us": r50, "p90_us": r90, "p99_us": r99, "calls": n,
                  "p90_over_p50": round(r90 / r50, 2), "p50_over_indexed_select": round(r50 / s50, 2)}))' \
        "$m" "$R50" "$R90" "$R99" "$RN" "$S50"
done
