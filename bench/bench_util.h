// Shared by the quality benchmarks: reading "user,item[,weight]" pairs, the
// per-user 80/20 split and nDCG@10 evaluation through recommend_user().
//
// Split: per user, the hold_out_per_user rule of split.h (seed 42):
// round(20%) of the user's distinct items, those with the smallest hash of
// (user, item, seed), are held out, and every user keeps at least one
// training item. Each model ranks, for every user with held-out items, the
// top 10 of the items not in their training history (popularity fills in as
// in recommend()), scored with binary relevance by RankingMetrics:
// NDCG = DCG / IDCG, DCG = sum over ranks i < 10 of hit_i / log2(i + 2),
// IDCG over min(10, |test|) hits.
#pragma once

#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics.h"
#include "model.h"
#include "recommend.h"
#include "split.h"

namespace recsys::bench {

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

// `rank_user(user index or empty) -> ranked item indexes`; by default the
// model's own recommend_user(k = 10).
inline RankingMetricsResult evaluate(
    const Model& m, const Split& s,
    const std::function<std::vector<uint32_t>(std::optional<uint32_t>)>& rank_user = {}) {
    RankingMetrics metrics(10, m.n_items());
    RecommendOptions options;
    options.k = 10;
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
        metrics.add_user(ranked, test);
    }
    return metrics.result();
}

}  // namespace recsys::bench
