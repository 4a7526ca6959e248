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
#   RANKER_SEEDS=n: each parameter set n times, with "seed" (the validation
#   customers' draw) and, for a named learner, "learner.seed" = 0..n-1, then
#   a "ranker_mean" line with the means (one run moves by about ±.005).
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
SEEDS=${RANKER_SEEDS:-1}
if [ "$SEEDS" -gt 1 ]; then
    mapfile -t PARAMS < <(python3 - "$SEEDS" "${PARAMS[@]}" <<'PY'
import json, sys
for p in sys.argv[2:]:
    for s in range(int(sys.argv[1])):
        q = json.loads(p)
        q["seed"] = s
        # auto trains each learner with its defaults; logistic and tree are deterministic (no seed)
        if q.get("learner", "boosted") not in ("auto", "logistic", "tree"):
            q["learner.seed"] = s
        print(json.dumps(q))
PY
)
fi
# XGBoost's OpenMP threads wait passively: busy waiting on shared cores is several times slower.
OMP_WAIT_POLICY=PASSIVE build/bench_ranker_core "$CSV" "$CUTOFF" "${PARAMS[@]}" | python3 -c '
import json, sys
seeds, runs = int(sys.argv[1]), {}
for line in sys.stdin:
    print(line, end="", flush=True)
    r = json.loads(line)
    if r.get("step") != "ranker" or seeds < 2:
        continue
    params = {k: v for k, v in r["params"].items() if k not in ("seed", "learner.seed", "now")}
    same = runs.setdefault(json.dumps(params, sort_keys=True), [])
    same.append(r)
    if len(same) == seeds:
        mean = {k: round(sum(x[k] for x in same) / seeds, 4)
                for k in ("ndcg@10", "ndcg@10_new", "recall@20", "recall@20_new", "candidate_recall", "train_seconds")}
        print(json.dumps({"bench": "ranker_mean", "params": params, "seeds": seeds, **mean}), flush=True)
' "$SEEDS"
