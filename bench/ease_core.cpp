// EASE quality and training time against item-kNN and popularity.
//   bench/ease_core pairs.csv [threads]
// pairs.csv: "user,item[,weight]" lines after a header line; the split and
// the metrics are those of bench_util.h. Prints one JSON line per model.
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
        std::cerr << "usage: " << argv[0] << " pairs.csv [threads]\n";
        return 2;
    }
    Split split = read_and_split(argv[1]);
    Context ctx;
    ctx.threads = argc > 2 ? std::stoi(argv[2]) : 2;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    ctx.progress = [](const std::string& msg) { std::cerr << msg << "\n"; };

    const std::vector<std::pair<std::string, std::string>> runs = {
        {"popularity", "{}"},
        {"itemknn", R"({"neighbours": 20})"},
        {"itemknn", R"({"neighbours": 50})"},
        {"itemknn", R"({"neighbours": 100})"},
        {"ease", R"({"lambda": 50})"},
        {"ease", R"({"lambda": 100})"},
        {"ease", R"({"lambda": 200})"},
        {"ease", R"({"lambda": 500})"},
        {"ease", R"({"lambda": 200, "max_items": 1000})"},
    };
    for (const auto& [algorithm, params] : runs) {
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(algorithm, split.train, params, ctx);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const RankingMetricsResult r = evaluate(m, split);
        std::printf("{\"bench\":\"ease_core\",\"algorithm\":\"%s\",\"params\":%s,\"threads\":%d,\"users\":%u,"
                    "\"items\":%u,\"train_pairs\":%llu,\"test_pairs\":%llu,\"train_seconds\":%.3f,"
                    "\"ndcg@10\":%.4f,\"recall@10\":%.4f,\"hit_rate@10\":%.4f}\n",
                    algorithm.c_str(), m.params_json.c_str(), ctx.threads, m.n_users(), m.n_items(),
                    (unsigned long long)split.train_pairs, (unsigned long long)split.test_pairs, seconds,
                    r.ndcg.value_or(0), r.recall.value_or(0), r.hit_rate.value_or(0));
        std::fflush(stdout);
    }
    return 0;
}
