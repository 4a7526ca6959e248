// Shared by the core benchmarks: timing and the Context they train with;
// for the quality benchmarks, reading "user,item[,weight]" pairs, the
// per-user 80/20 split, evaluation through recommend_user() and the JSON
// lines of a model comparison.
//
// Split: per user, the hold_out_per_user rule of split.h (seed 42):
// round(20%) of the user's distinct items, those with the smallest hash of
// (user, item, seed), are held out, and every user keeps at least one
// training item. Each model ranks, for every user with held-out items, the
// top k (10 unless evaluate_at says otherwise) of the items not in their
// training history (popularity fills in as in recommend()), scored with
// binary relevance by RankingMetrics: NDCG = DCG / IDCG, DCG = sum over
// ranks i < k of hit_i / log2(i + 2), IDCG over min(k, |test|) hits.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "metrics.h"
#include "model.h"
#include "recommend.h"
#include "split.h"

namespace recsys::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What the benchmarks train with: `threads` threads and 4 GiB of memory.
inline Context context(int threads = 2) {
    Context ctx;
    ctx.threads = threads;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    return ctx;
}

struct Split {
    InteractionBuilder train;
    std::map<std::string, std::vector<std::string>> test;  // user -> held-out items
    uint64_t train_pairs = 0, test_pairs = 0;
};

// pairs.csv: "user,item[,weight]" lines after a header line (weight 1 if
// absent; duplicate pairs sum). `transform`, if set, maps each pair's summed
// weight to the weight trained on (e.g. log scaling); the split itself does
// not depend on weights.
// Users with fewer than `min_items_for_test` distinct items keep them all
// in training (0: every user is split).
inline Split read_and_split(const char* path, const std::function<double(double)>& transform = {},
                            size_t min_items_for_test = 0) {
    std::map<std::string, std::map<std::string, double>> pairs;  // user -> item -> summed weight
    std::ifstream in(path);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        const auto a = line.find(','), b = line.find(',', a + 1);
        if (a == std::string::npos) continue;
        const double w = b == std::string::npos ? 1.0 : std::stod(line.substr(b + 1));
        pairs[line.substr(0, a)][line.substr(a + 1, b == std::string::npos ? b : b - a - 1)] += w;
    }
    Split s;
    for (const auto& [user, items] : pairs) {
        std::vector<IdText> ids;
        for (const auto& [item, w] : items) ids.emplace_back(item);
        std::vector<bool> is_test = hold_out_per_user(user, ids, 0.2, 42);
        if (ids.size() < min_items_for_test) is_test.assign(ids.size(), false);
        size_t k = 0;
        for (const auto& [item, w] : items) {
            if (is_test[k++]) {
                s.test[user].push_back(item);
                ++s.test_pairs;
            } else {
                s.train.add(std::string_view(user), std::string_view(item), transform ? transform(w) : w);
                ++s.train_pairs;
            }
        }
    }
    return s;
}

using RankUser = std::function<std::vector<uint32_t>(std::optional<uint32_t>)>;

// The metrics at each cutoff of `ks`, from one ranking of max(ks) items per
// test user. `rank_user(user index or empty) -> ranked item indexes`; by
// default the model's own recommend_user.
inline std::vector<RankingMetricsResult> evaluate_at(const Model& m, const Split& s, const std::vector<size_t>& ks,
                                                     const RankUser& rank_user = {}) {
    std::vector<RankingMetrics> metrics;
    for (size_t k : ks) metrics.emplace_back(int64_t(k), m.n_items());
    RecommendOptions options;
    options.k = *std::max_element(ks.begin(), ks.end());
    std::vector<uint32_t> ranked, test;
    for (const auto& [user, items] : s.test) {
        ranked.clear();
        test.clear();
        if (rank_user) {
            ranked = rank_user(m.users.find(user));
        } else {
            for (const auto& r : recommend_user(m, m.users.find(user), options)) ranked.push_back(r.item);
        }
        for (const auto& item : items) test.push_back(m.items.find(item).value_or(m.n_items()));  // unseen: a miss
        for (RankingMetrics& at_k : metrics) at_k.add_user(ranked, test);  // past its k, ranked is ignored
    }
    std::vector<RankingMetricsResult> results;
    for (const RankingMetrics& at_k : metrics) results.push_back(at_k.result());
    return results;
}

// The metrics at 10.
inline RankingMetricsResult evaluate(const Model& m, const Split& s, const RankUser& rank_user = {}) {
    return evaluate_at(m, s, {10}, rank_user).front();
}

using Runs = std::vector<std::pair<std::string, std::string>>;  // (algorithm, params)

// Trains each run on the split, timed, and prints one JSON line per model:
// the bench's name, the algorithm, the parameters the model records, threads,
// users, items, train_pairs, test_pairs, train_seconds, ndcg@10, recall@10
// and, with `hit_rate`, hit_rate@10.
inline void compare_models(const char* bench, const Runs& runs, const Split& split, const Context& ctx,
                           bool hit_rate) {
    for (const auto& [algorithm, params] : runs) {
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model(algorithm, split.train, params, ctx);
        const double seconds = seconds_since(start);
        const RankingMetricsResult r = evaluate(m, split);
        std::printf("{\"bench\":\"%s\",\"algorithm\":\"%s\",\"params\":%s,\"threads\":%d,\"users\":%u,"
                    "\"items\":%u,\"train_pairs\":%llu,\"test_pairs\":%llu,\"train_seconds\":%.3f,"
                    "\"ndcg@10\":%.4f,\"recall@10\":%.4f",
                    bench, algorithm.c_str(), m.params_json.c_str(), ctx.threads, m.n_users(), m.n_items(),
                    (unsigned long long)split.train_pairs, (unsigned long long)split.test_pairs, seconds,
                    r.ndcg.value_or(0), r.recall.value_or(0));
        if (hit_rate) std::printf(",\"hit_rate@10\":%.4f", r.hit_rate.value_or(0));
        std::printf("}\n");
        std::fflush(stdout);
    }
}

// The command line and protocol of accuracy_core and compression_core (issue
// 14): binary interactions, users with fewer than 5 items kept for training.
//   pairs.csv label algorithm '{params}' ['{params}' ...]
struct ParamSweep {
    Split split;
    std::string label, algorithm;
    std::vector<std::string> params;
};

// Empty, after printing the usage, when arguments are missing.
inline std::optional<ParamSweep> param_sweep(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " pairs.csv label algorithm '{params}' ['{params}' ...]\n";
        return std::nullopt;
    }
    return ParamSweep{read_and_split(argv[1], [](double) { return 1.0; }, 5), argv[2], argv[3],
                      std::vector<std::string>(argv + 4, argv + argc)};
}

}  // namespace recsys::bench
