// Purchase features speed on synthetic data of online-retail scale (4.4k
// users, 3.7k items, 400k purchase rows in ~20k baskets over a year, 20
// categories): time split, FeatureBuilder, re-buy and union candidates
// (re-buys + a random "base model" top 150 per user), their recall, and the
// feature matrix with two extra columns. One JSON line per step, then a
// total (one thread), then the feature matrix again on two threads.
//   bench/features_core [purchases] [model_top_n]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "purchase_features.h"
#include "rng.h"

using namespace recsys::features;

namespace {

struct Timer {
    std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
    std::clock_t cpu = std::clock();
    void report(const char* step, const std::string& extra) {
        const double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
        const double c = double(std::clock() - cpu) / CLOCKS_PER_SEC;
        std::printf("{\"bench\":\"features_core\",\"step\":\"%s\",\"seconds\":%.4f,\"cpu_seconds\":%.4f%s}\n", step, w, c,
                    extra.c_str());
        std::fflush(stdout);
        wall = std::chrono::steady_clock::now();
        cpu = std::clock();
    }
};

}  // namespace

int main(int argc, char** argv) {
    const size_t n_rows = argc > 1 ? std::stoul(argv[1]) : 400000;
    const size_t model_top_n = argc > 2 ? std::stoul(argv[2]) : 150;
    const uint32_t n_users = 4400, n_items = 3700, n_categories = 20;
    const int64_t start = 1'291'161'600;  // 2010-12-01, as in online retail
    recsys::SplitMix64 g(42);

    ItemAttributes attributes;
    attributes.n_categories = n_categories;
    for (uint32_t i = 0; i < n_items; ++i) {
        attributes.category.push_back(g.below(20) == 0 ? kNoCategory : g.below(n_categories));
        attributes.list_price.push_back(g.below(10) == 0 ? std::nan("") : 0.5 + g.below(2000) / 100.0);
    }
    // Baskets of ~20 rows; skewed users and items (squares of uniforms).
    std::vector<Purchase> purchases;
    purchases.reserve(n_rows);
    while (purchases.size() < n_rows) {
        const float a = g.uniform();
        const uint32_t user = uint32_t(float(n_users) * a * a);
        const int64_t ts = start + int64_t(g.below(365 * 86400));
        const uint32_t rows = 1 + g.below(40);
        for (uint32_t r = 0; r < rows && purchases.size() < n_rows; ++r) {
            const float b = g.uniform();
            Purchase p;
            p.user = user;
            p.item = uint32_t(float(n_items) * b * b);
            p.ts = ts;
            p.quantity = 1 + g.below(12);
            p.price = g.below(50) == 0 ? std::nan("") : 0.5 + g.below(2000) / 100.0;
            purchases.push_back(p);
        }
    }

    recsys::Context ctx;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    Timer total, t;
    const SplitTimes times = default_split_times(purchases);
    const TimeSplit split = time_split(purchases, times.cutoff, times.window, ctx);
    t.report("time_split", ",\"purchases\":" + std::to_string(purchases.size()) +
                               ",\"history\":" + std::to_string(split.history.size()) +
                               ",\"labels\":" + std::to_string(split.labels.size()));

    const FeatureBuilder fb(purchases, n_users, n_items, times.cutoff, attributes, {}, ctx);
    t.report("build", "");

    const auto rebuy = rebuy_candidates(fb, 0, ctx);
    std::vector<std::vector<uint32_t>> model(n_users);
    for (auto& items : model)
        for (size_t k = 0; k < model_top_n; ++k) items.push_back(g.below(n_items));
    const std::vector<std::vector<std::vector<uint32_t>>> lists = {rebuy, model};
    const std::vector<UserItem> candidates = union_candidates(lists, 0, n_items, ctx);
    t.report("candidates", ",\"pairs\":" + std::to_string(candidates.size()));

    const CandidateRecall recall = candidate_recall(candidates, split.labels, fb, ctx);
    char buf[128];
    std::snprintf(buf, sizeof buf, ",\"recall\":%.4f,\"new_recall\":%.4f", recall.recall(), recall.new_recall());
    t.report("recall", buf);

    std::vector<float> score(candidates.size()), rank(candidates.size());
    for (size_t k = 0; k < candidates.size(); ++k) {
        score[k] = g.uniform();
        rank[k] = float(k % 200);
    }
    const std::vector<ExtraColumn> extra = {{"base_score", score}, {"base_rank", rank}};
    const FeatureMatrix m = fb.compute(candidates, extra, ctx);
    t.report("features", ",\"threads\":1,\"rows\":" + std::to_string(m.rows) + ",\"cols\":" + std::to_string(m.cols));
    total.report("total", ",\"threads\":1");
    ctx.threads = 2;
    t = Timer{};
    const FeatureMatrix m2 = fb.compute(candidates, extra, ctx);
    t.report("features", ",\"threads\":2,\"rows\":" + std::to_string(m2.rows) + ",\"cols\":" + std::to_string(m2.cols));
}
