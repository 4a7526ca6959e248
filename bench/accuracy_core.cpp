// Accuracy of one algorithm under several parameter sets, with the protocol
// of issue 14: binary interactions, per-user random 80/20 split (seed 42;
// users with fewer than 5 items are train-only), seen items filtered, nDCG@10
// and recall@20. Prints one JSON line per parameter set.
//   bench/accuracy_core pairs.csv label algorithm '{params}' ['{params}' ...]
// pairs.csv: "user,item" lines after a header (bench/pairs.py writes them
// for every shared data set); label names the data in the output.
#include <chrono>
#include <cstdio>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    const auto sweep = bench::param_sweep(argc, argv);
    if (!sweep) return 2;
    const Context ctx = bench::context();
    for (const std::string& params : sweep->params) {
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(sweep->algorithm, sweep->split.train, params, ctx);
        const double seconds = bench::seconds_since(start);
        const auto r = bench::evaluate_at(m, sweep->split, {10, 20});
        std::printf("{\"bench\":\"accuracy_core\",\"data\":\"%s\",\"users\":%u,\"items\":%u,\"train_pairs\":%llu,"
                    "\"test_users\":%llu,\"algorithm\":\"%s\",\"params\":%s,\"train_seconds\":%.2f,"
                    "\"ndcg@10\":%.4f,\"recall@20\":%.4f}\n",
                    sweep->label.c_str(), m.n_users(), m.n_items(), (unsigned long long)sweep->split.train_pairs,
                    (unsigned long long)r[0].users, sweep->algorithm.c_str(), params.c_str(), seconds,
                    r[0].ndcg.value_or(0), r[1].recall.value_or(0));
        std::fflush(stdout);
    }
    return 0;
}
