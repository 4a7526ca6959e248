// Accuracy of one algorithm under several parameter sets, with the protocol
// of issue 14: binary interactions, per-user random 80/20 split (seed 42;
// users with fewer than 5 items are train-only), seen items filtered, nDCG@10
// and recall@20. Prints one JSON line per parameter set.
//   bench/accuracy_core pairs.csv label algorithm '{params}' ['{params}' ...]
// pairs.csv: "user,item" lines after a header (bench/pairs.py writes them
// for every shared data set); label names the data in the output.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " pairs.csv label algorithm '{params}' ['{params}' ...]\n";
        return 2;
    }
    const bench::Split split = bench::read_and_split(argv[1], [](double) { return 1.0; }, 5);
    Context ctx;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    ctx.threads = 2;
    for (int a = 4; a < argc; ++a) {
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(argv[3], split.train, argv[a], ctx);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        RankingMetrics at10(10, m.n_items()), at20(20, m.n_items());
        RecommendOptions options;
        options.k = 20;
        std::vector<uint32_t> ranked, test;
        for (const auto& [user, items] : split.test) {
            ranked.clear();
            test.clear();
            for (const auto& r : recommend_user(m, m.users.find(user), options)) ranked.push_back(r.item);
            for (const auto& item : items) test.push_back(m.items.find(item).value_or(m.n_items()));
            at20.add_user(ranked, test);
            if (ranked.size() > 10) ranked.resize(10);
            at10.add_user(ranked, test);
        }
        const RankingMetricsResult r10 = at10.result(), r20 = at20.result();
        std::printf("{\"bench\":\"accuracy_core\",\"data\":\"%s\",\"users\":%u,\"items\":%u,\"train_pairs\":%llu,"
                    "\"test_users\":%llu,\"algorithm\":\"%s\",\"params\":%s,\"train_seconds\":%.2f,"
                    "\"ndcg@10\":%.4f,\"recall@20\":%.4f}\n",
                    argv[2], m.n_users(), m.n_items(), (unsigned long long)split.train_pairs,
                    (unsigned long long)r10.users, argv[3], argv[a], seconds, r10.ndcg.value_or(0),
                    r20.recall.value_or(0));
        std::fflush(stdout);
    }
    return 0;
}
