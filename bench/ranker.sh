#!/usr/bin/env bash
# The feature-aware ranker on issue 13's protocol (online-retail from
# ../shared/data: history before 2011-11-09, test = the distinct pairs on or
# after it of customers with history; service codes dropped), one JSON line
# per model: popularity of the last 30 days, the re-buy baseline, then the
# ranker with each learner. nDCG@10 / recall@20 on all pairs (re-buys allowed)
# and on new items only (seen items excluded), the served candidates' recall,
# training seconds (2 threads) and the training report (its own time split).
# Runs the core (bench/ranker_core.cpp), not PostgreSQL.
# Usage: [RANKER_DATA=name] bench/ranker.sh [learner | params JSON ...]
#   learners default: logistic tree forest boosted boosted_rank mlp auto; an
#   argument starting with { is a whole parameter set, e.g.
#   '{"learner": "mlp", "candidates_per_model": 200}'.
#   RANKER_DATA: online-retail (default; test from 2011-11-09), online-retail-ii
#   (the 2009-2010 year; test from 2010-11-09) or complete-journey (the grocery
#   panel sample of 2017; test from 2017-11-09): the same protocol, the last
#   month of each as the test.
set -euo pipefail
cd "$(dirname "$0")/.."
case ${RANKER_DATA:-online-retail} in
online-retail) DATA=../shared/data/online-retail/purchases.csv.gz; CUTOFF=2011-11-09 ;;
online-retail-ii) DATA=../shared/data/online-retail-ii-2009-2010/online_retail_ii_2009_2010.csv.gz; CUTOFF=2010-11-09 ;;
complete-journey) DATA=../shared/data/complete-journey/transactions_sample.csv.gz; CUTOFF=2017-11-09 ;;
*) echo "unknown RANKER_DATA $RANKER_DATA" >&2; exit 2 ;;
esac
if [ ! -f "$DATA" ]; then
    echo '{"bench": "ranker", "skipped": "no ../shared/data"}'
    exit 0
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target bench_ranker_core >/dev/null
CSV=$(mktemp)
trap 'rm -f "$CSV"' EXIT
python3 bench/retail_purchases.py "$DATA" > "$CSV"
PARAMS=()
if [ $# -eq 0 ]; then set -- logistic tree forest boosted boosted_rank mlp auto; fi
for a in "$@"; do
    case $a in
    "{"*) PARAMS+=("$a") ;;  # a parameter set as is
    *) PARAMS+=("{\"learner\": \"$a\"}") ;;
    esac
done
# XGBoost's OpenMP threads wait passively: busy waiting on shared cores is several times slower.
OMP_WAIT_POLICY=PASSIVE build/bench_ranker_core "$CSV" "$CUTOFF" "${PARAMS[@]}"
