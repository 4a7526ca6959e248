// Does a parameter's best value move when a model is retrained on more rows?
// tune() validates candidates trained on (1 - f) of each user's items and
// retrains the winner on all of them; this measures where the best value
// lies at both sizes without touching any held-out test part. On the
// training part of issue 14's split (per-user 80/20, seed 42, users with
// fewer than 5 items train-only, as bench/accuracy_core), a second per-user
// split (seed s; users with fewer than V_MIN items, default 5, train-only)
// holds out V; the rest, T, is split as tune() does (per user, seed 42,
// fraction f = 0.2, every user) into A and B. For each value of `param`:
// nDCG@10 trained on A scored on B (what tune() validates with) and trained
// on T scored on V (its retraining on more rows). The ratio of the two best
// values is how the parameter should move when the winner is retrained
// (tune.sql, recsys_tune_retrain_params). One JSON line per (seed, value).
//   bench/tune_rescale_core pairs.csv label algorithm '{base params}' param v1 v2 ... [-- seed ...]
// pairs.csv as written by bench/pairs.py; build with
//   cmake --build build --target bench_tune_rescale_core
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "bench_util.h"

using namespace recsys;

namespace {

using Rows = std::map<std::string, std::vector<std::string>>;  // user -> distinct items

struct Parts {
    Rows train, test;
};

// Per user, `fraction` of the items held out (hold_out_per_user), users with
// fewer than `min_items` train-only.
Parts split(const Rows& rows, double fraction, uint64_t seed, size_t min_items) {
    Parts p;
    for (const auto& [user, items] : rows) {
        std::vector<IdText> ids(items.begin(), items.end());
        std::vector<bool> is_test = hold_out_per_user(user, ids, fraction, seed);
        if (items.size() < min_items) is_test.assign(items.size(), false);
        for (size_t i = 0; i < items.size(); ++i) (is_test[i] ? p.test : p.train)[user].push_back(items[i]);
    }
    return p;
}

double ndcg10(const std::string& algorithm, const Rows& train, const Rows& test, const std::string& params,
              const Context& ctx) {
    InteractionBuilder b;
    for (const auto& [user, items] : train)
        for (const auto& item : items) b.add(std::string_view(user), std::string_view(item), 1.0);
    const Model m = train_model(algorithm, b, params, ctx);
    RankingMetrics at10(10, m.n_items());
    RecommendOptions options;
    options.k = 10;
    std::vector<uint32_t> ranked, held;
    for (const auto& [user, items] : test) {
        ranked.clear();
        held.clear();
        for (const auto& r : recommend_user(m, m.users.find(user), options)) ranked.push_back(r.item);
        for (const auto& item : items) held.push_back(m.items.find(item).value_or(m.n_items()));
        at10.add_user(ranked, held);
    }
    return at10.result().ndcg.value_or(0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::cerr << "usage: " << argv[0] << " pairs.csv label algorithm '{base params}' param v1 [v2 ...] [-- seed ...]\n";
        return 2;
    }
    std::vector<std::string> values;
    std::vector<uint64_t> seeds;
    bool after = false;
    for (int a = 6; a < argc; ++a) {
        if (std::strcmp(argv[a], "--") == 0) after = true;
        else if (after) seeds.push_back(std::stoull(argv[a]));
        else values.push_back(argv[a]);
    }
    if (seeds.empty()) seeds = {1};
    const double f = 0.2;  // tune()'s default validation_fraction
    // The training part of issue 14's split: the held-out 20% is never read.
    Rows all;
    {
        std::ifstream in(argv[1]);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            const auto comma = line.find(',');
            if (comma != std::string::npos) all[line.substr(0, comma)].push_back(line.substr(comma + 1));
        }
        for (auto& [user, items] : all) {
            std::sort(items.begin(), items.end());
            items.erase(std::unique(items.begin(), items.end()), items.end());
        }
    }
    const Rows rows = split(all, 0.2, 42, 5).train;
    Context ctx;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    ctx.threads = 2;
    std::string base = argv[4];
    while (!base.empty() && base.back() != '}') base.pop_back();
    base.pop_back();
    const bool empty = base.find(':') == std::string::npos;
    for (uint64_t seed : seeds) {
        const char* v_min = std::getenv("V_MIN");
        const Parts tv = split(rows, f, seed, v_min ? std::stoul(v_min) : 5);
        const Parts ab = split(tv.train, f, 42, 0);
        for (const auto& v : values) {
            const std::string params = base + (empty ? "" : ", ") + "\"" + argv[5] + "\": " + v + "}";
            const double small = ndcg10(argv[3], ab.train, ab.test, params, ctx);
            const double large = ndcg10(argv[3], tv.train, tv.test, params, ctx);
            std::printf("{\"bench\":\"tune_rescale_core\",\"data\":\"%s\",\"seed\":%llu,\"algorithm\":\"%s\","
                        "\"params\":%s,\"validation_ndcg@10\":%.4f,\"retrain_ndcg@10\":%.4f}\n",
                        argv[2], (unsigned long long)seed, argv[3], params.c_str(), small, large);
            std::fflush(stdout);
        }
    }
    return 0;
}
