#!/usr/bin/env bash
# Batch scoring against the machine's GEMM, and thread scaling, on the
# e-commerce data (../shared/data/online-retail): JSON lines from
# bench/scoring_core.cpp (see there): Eigen SGEMM GFLOP/s of the ALS scoring
# shape (users x 128 factors x items), ALS recommend_all GFLOP/s and its ratio
# to that SGEMM in the same run, EASE / item-kNN / ALS recommend_all users/s
# on 1 and 2 threads, training seconds on 1 and 2 threads and the ratios.
# Usage: bench/perf.sh [rounds=3]
#   BUILD=dir       the CMake build directory (default build/; configured and
#                   built here if needed)
#   BEFORE=binary   also run another build's bench_scoring_core (e.g. one built
#                   from main) first, its lines marked "build":"before"
#   PAIRS=file      the pairs CSV (default /tmp/recsys_retail_pairs.csv, made by
#                   bench/retail_pairs.py if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BUILD=${BUILD:-build}
DATA=${DATA:-../shared/data/online-retail/purchases.csv.gz}
PAIRS=${PAIRS:-/tmp/recsys_retail_pairs.csv}
if [ ! -s "$PAIRS" ]; then
    [ -f "$DATA" ] || { echo "perf.sh: no $DATA (set DATA or PAIRS)" >&2; exit 1; }
    python3 bench/retail_pairs.py "$DATA" > "$PAIRS"
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null; fi
cmake --build "$BUILD" -j2 --target bench_scoring_core >/dev/null
echo "{\"bench\":\"perf\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\",\"cores\":$(nproc),\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
if [ -n "${BEFORE:-}" ]; then
    "$BEFORE" "$PAIRS" "$ROUNDS" | sed 's/^{/{"build":"before",/'
fi
"$BUILD/bench_scoring_core" "$PAIRS" "$ROUNDS" | sed 's/^{/{"build":"this",/'
