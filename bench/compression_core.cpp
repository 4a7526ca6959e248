// Compressed models (the "compression" and "top_m" parameters): size on
// disk and in memory, nDCG@10 and serving latency against the float32
// model, on the protocol of accuracy_core (binary interactions, per-user
// 80/20 split, seed 42, users with fewer than 5 items train-only).
//   bench/compression_core pairs.csv label algorithm '{params}' ['{params}' ...]
// The first parameter set is the baseline the others are compared with
// (normally '{}'). Each set is trained, serialised and decoded again from
// its bytes with an owner (as the serving cache loads a model); that
// decoded model is measured: "bytes" is the serialised size, "memory_bytes"
// describe_model's figure, "us_per_user" the mean time of one
// recommend_user(k = 10) over the test users, best of 5 rounds run in turn
// over all the models (the machine is shared). One JSON line per set.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    const auto sweep = bench::param_sweep(argc, argv);
    if (!sweep) return 2;
    const bench::Split& split = sweep->split;
    const Context ctx = bench::context();
    struct Run {
        std::string params;
        size_t bytes;
        Model model;
        double ndcg;
        double best_us = 1e300;
    };
    std::vector<Run> runs;
    for (const std::string& params : sweep->params) {
        const auto stored = train_model(sweep->algorithm, split.train, params, ctx).serialize();
        std::shared_ptr<uint8_t[]> owned(new uint8_t[stored.size()]);
        std::memcpy(owned.get(), stored.data(), stored.size());
        Model m = Model::deserialize(owned.get(), stored.size(), ctx, owned);
        const double ndcg = bench::evaluate(m, split).ndcg.value_or(0);
        runs.push_back({params, stored.size(), std::move(m), ndcg});
    }
    RecommendOptions options;
    options.k = 10;
    for (int round = 0; round < 5; ++round)
        for (Run& r : runs) {
            size_t n = 0;
            const auto start = std::chrono::steady_clock::now();
            for (const auto& [user, items] : split.test) {
                auto recs = recommend_user(r.model, r.model.users.find(user), options);
                n += recs.empty() ? 0 : 1;
            }
            const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
            r.best_us = std::min(r.best_us, us / double(std::max<size_t>(n, 1)));
        }
    const Run& base = runs.front();
    for (const Run& r : runs)
        std::printf("{\"bench\":\"compression_core\",\"data\":\"%s\",\"algorithm\":\"%s\",\"params\":%s,"
                    "\"items\":%u,\"bytes\":%zu,\"memory_bytes\":%llu,\"smaller_on_disk\":%.2f,"
                    "\"smaller_in_memory\":%.2f,\"ndcg@10\":%.4f,\"ndcg_loss\":%.4f,\"us_per_user\":%.1f,"
                    "\"baseline_us_per_user\":%.1f}\n",
                    sweep->label.c_str(), sweep->algorithm.c_str(), r.params.c_str(), r.model.n_items(), r.bytes,
                    (unsigned long long)r.model.memory_bytes(), double(base.bytes) / double(r.bytes),
                    double(base.model.memory_bytes()) / double(r.model.memory_bytes()), r.ndcg, base.ndcg - r.ndcg,
                    r.best_us, base.best_us);
    return 0;
}
