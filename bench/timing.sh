#!/usr/bin/env bash
# Purchase timing (issue 19) on the shared retail data, one JSON line per
# rule or learner pair (bench/timing_core.cpp): online-retail at cutoffs
# 2011-11-09 (H = 30) and 2011-09-09 (H = 90), online-retail-ii-2009-2010
# at 2010-11-09 (H = 30). Each model trains on the purchases before the
# cutoff and is scored on those from it to the end of the data; customers
# with purchases on two days or more before it. Runs the core, not PostgreSQL.
# Usage: bench/timing.sh [params JSON ...]   (default: every learner pair)
set -euo pipefail
cd "$(dirname "$0")/.."
OR=../shared/data/online-retail/purchases.csv.gz
OR2=../shared/data/online-retail-ii-2009-2010/online_retail_ii_2009_2010.csv.gz
if [ ! -f "$OR" ]; then
    echo '{"bench": "timing", "skipped": "no ../shared/data"}'
    exit 0
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target bench_timing_core >/dev/null
A=$(mktemp) B=$(mktemp)
trap 'rm -f "$A" "$B"' EXIT
python3 bench/retail_purchases.py "$OR" > "$A"
PARAMS=("$@")
if [ ${#PARAMS[@]} -eq 0 ]; then
    PARAMS=('{"time_learner": "linear", "within_learner": "logistic"}'
            '{"time_learner": "forest", "within_learner": "forest"}'
            '{"time_learner": "boosted", "within_learner": "boosted"}'
            '{"time_learner": "aft", "within_learner": "boosted"}')
fi
# XGBoost's OpenMP threads wait passively: busy waiting on shared cores is several times slower.
export OMP_WAIT_POLICY=PASSIVE
build/bench_timing_core "$A" 2011-11-09 30 "${PARAMS[@]}" | sed 's/"data":"[^"]*"/"data":"online-retail"/'
build/bench_timing_core "$A" 2011-09-09 90 "${PARAMS[@]}" | sed 's/"data":"[^"]*"/"data":"online-retail"/'
if [ -f "$OR2" ]; then
    python3 bench/retail_purchases.py "$OR2" > "$B"
    build/bench_timing_core "$B" 2010-11-09 30 "${PARAMS[@]}" | sed 's/"data":"[^"]*"/"data":"online-retail-ii-2009-2010"/'
fi
