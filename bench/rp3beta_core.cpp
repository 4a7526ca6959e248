// RP3beta quality and training time over its parameters, against
// popularity, item-kNN and EASE at their defaults.
//   bench/rp3beta_core pairs.csv [threads] [grid | params.json ...]
// pairs.csv: "user,item[,weight]" lines after a header line (bench/retail_pairs.py);
// the split and the metrics are those of bench_util.h. Without "grid", the
// baselines and rp3beta at its defaults and at each tune() value; with it,
// every alpha x beta x neighbours x normalise of a wider grid; with JSON
// objects, the baselines and rp3beta with each of them. Prints one
// JSON line per model.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.h"

using namespace recsys;
using recsys::bench::evaluate;
using recsys::bench::read_and_split;
using recsys::bench::Split;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [threads] [grid]\n";
        return 2;
    }
    const Split split = read_and_split(argv[1]);
    Context ctx;
    ctx.threads = argc > 2 ? std::stoi(argv[2]) : 2;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    const bool grid = argc > 3 && std::string(argv[3]) == "grid";

    std::vector<std::pair<std::string, std::string>> runs = {
        {"popularity", "{}"}, {"itemknn", "{}"}, {"ease", "{}"}, {"rp3beta", "{}"}};
    if (argc > 3 && argv[3][0] == '{') {
        for (int a = 3; a < argc; ++a) runs.emplace_back("rp3beta", argv[a]);
    } else if (grid) {
        for (const char* normalise : {"true", "false"})
            for (double alpha : {0.25, 0.5, 0.75, 1.0, 1.25})
                for (double beta : {0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8})
                    for (int k : {10, 20, 50, 100, 200}) {
                        char p[160];
                        std::snprintf(p, sizeof p,
                                      "{\"alpha\": %g, \"beta\": %g, \"neighbours\": %d, \"normalise\": %s}", alpha,
                                      beta, k, normalise);
                        runs.emplace_back("rp3beta", p);
                    }
    } else {
        for (const char* p : {R"({"alpha": 0.5})", R"({"beta": 0.3})", R"({"beta": 0.7})", R"({"beta": 0})",
                              R"({"neighbours": 50})", R"({"neighbours": 200})", R"({"normalise": false})"})
            runs.emplace_back("rp3beta", p);
    }
    for (const auto& [algorithm, params] : runs) {
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(algorithm, split.train, params, ctx);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const RankingMetricsResult r = evaluate(m, split);
        std::printf("{\"bench\":\"rp3beta_core\",\"algorithm\":\"%s\",\"params\":%s,\"threads\":%d,\"users\":%u,"
                    "\"items\":%u,\"train_pairs\":%llu,\"test_pairs\":%llu,\"train_seconds\":%.3f,"
                    "\"ndcg@10\":%.4f,\"recall@10\":%.4f}\n",
                    algorithm.c_str(), m.params_json.c_str(), ctx.threads, m.n_users(), m.n_items(),
                    (unsigned long long)split.train_pairs, (unsigned long long)split.test_pairs, seconds,
                    r.ndcg.value_or(0), r.recall.value_or(0));
        std::fflush(stdout);
    }
    return 0;
}
