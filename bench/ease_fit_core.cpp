// EASE at its default max_items (as many items as fit the memory limit)
// against popularity, on a catalogue larger than the limit allows.
//   bench/ease_fit_core pairs.csv [memory_limit_mb=1024] [threads=2] [max_items ...]
// pairs.csv as for ease_core (bench_util.h: split and metrics). Prints one
// JSON line per model: the items in the training split, the max_items used
// (derived unless given), the notice, training seconds and nDCG@10.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [memory_limit_mb] [threads] [max_items ...]\n";
        return 2;
    }
    bench::Split split = bench::read_and_split(argv[1]);
    Context ctx;
    ctx.memory_limit_bytes = uint64_t(argc > 2 ? std::stoull(argv[2]) : 1024) << 20;
    ctx.threads = argc > 3 ? std::stoi(argv[3]) : 2;
    std::string notice;
    ctx.notice = [&](const std::string& m, const std::string&) { notice = m; };
    ctx.progress = [](const std::string& line) { std::cerr << line << "\n"; };

    std::vector<std::pair<std::string, std::string>> runs = {{"popularity", "{}"}, {"ease", "{}"}};
    for (int a = 4; a < argc; ++a) runs.emplace_back("ease", std::string(R"({"max_items": )") + argv[a] + "}");
    for (const auto& [algorithm, params] : runs) {
        notice.clear();
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(algorithm, split.train, params, ctx);
        const double seconds = bench::seconds_since(start);
        const RankingMetricsResult r = bench::evaluate(m, split);
        const nlohmann::json line = {{"bench", "ease_fit_core"},
                                     {"algorithm", algorithm},
                                     {"params", nlohmann::json::parse(m.params_json)},
                                     {"memory_limit_mb", ctx.memory_limit_bytes >> 20},
                                     {"threads", ctx.threads},
                                     {"users", m.n_users()},
                                     {"items", m.n_items()},
                                     {"train_pairs", split.train_pairs},
                                     {"notice", notice},
                                     {"train_seconds", std::round(seconds * 1000) / 1000},
                                     {"ndcg@10", std::round(r.ndcg.value_or(0) * 1e4) / 1e4},
                                     {"recall@10", std::round(r.recall.value_or(0) * 1e4) / 1e4}};
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    }
    return 0;
}
