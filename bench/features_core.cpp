// Purchase features speed: time split (default: last 28 days are labels),
// FeatureBuilder, candidates (each user's re-buys + the base model's top N,
// here the N items with most buyers in the history, the same for everyone),
// their recall, and the feature matrix with two extra columns (base score and
// rank). One JSON line per step, then a total (one thread), then the feature
// matrix again on two threads.
// Data: synthetic, of online-retail scale (4.4k users, 3.7k items, 400k
// purchase rows in baskets over a year, 20 categories), or a file
// "user,item,ts,quantity,price" (header line; bench/retail_purchases.py
// writes the real online-retail purchases so, without categories).
//   bench/features_core [purchases.csv | -] [base_top_n]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "purchase_features.h"
#include "purchases_csv.h"
#include "rng.h"

using namespace recsys::features;

namespace {

struct Timer {
    std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
    std::clock_t cpu = std::clock();
    double total = 0, total_cpu = 0;  // of the steps reported
    // Prints the time since the last report or restart(), and restarts.
    void report(const char* step, const std::string& extra) {
        const double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
        const double c = double(std::clock() - cpu) / CLOCKS_PER_SEC;
        std::printf("{\"bench\":\"features_core\",\"step\":\"%s\",\"seconds\":%.4f,\"cpu_seconds\":%.4f%s}\n", step, w, c,
                    extra.c_str());
        std::fflush(stdout);
        total += w;
        total_cpu += c;
        restart();
    }
    void restart() {
        wall = std::chrono::steady_clock::now();
        cpu = std::clock();
    }
};

// Synthetic purchases: baskets of 1..40 rows; skewed users and items
// (squares of uniforms); 2% unknown prices, 5% of items without category.
void synthetic(std::vector<Purchase>& purchases, ItemAttributes& attributes, uint32_t& n_users, uint32_t& n_items) {
    const size_t n_rows = 400000;
    const uint32_t n_categories = 20;
    n_users = 4400;
    n_items = 3700;
    const int64_t start = 1'291'161'600;  // 2010-12-01, as in online retail
    recsys::SplitMix64 g(42);
    attributes.n_categories = n_categories;
    for (uint32_t i = 0; i < n_items; ++i) {
        attributes.category.push_back(g.below(20) == 0 ? kNoCategory : g.below(n_categories));
        attributes.list_price.push_back(g.below(10) == 0 ? std::nan("") : 0.5 + g.below(2000) / 100.0);
    }
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
}

}  // namespace

int main(int argc, char** argv) {
    const bool from_file = argc > 1 && std::string(argv[1]) != "-";
    const size_t base_top_n = argc > 2 ? std::stoul(argv[2]) : 100;
    std::vector<Purchase> purchases;
    ItemAttributes attributes;
    uint32_t n_users = 0, n_items = 0;
    if (from_file) {
        recsys::bench::PurchasesCsv csv = recsys::bench::read_purchases_csv(argv[1]);
        purchases = std::move(csv.purchases);
        n_users = uint32_t(csv.users.size());
        n_items = uint32_t(csv.items.size());
    } else {
        synthetic(purchases, attributes, n_users, n_items);
    }
    std::printf("{\"bench\":\"features_core\",\"data\":\"%s\",\"purchases\":%zu,\"users\":%u,\"items\":%u}\n",
                from_file ? argv[1] : "synthetic", purchases.size(), n_users, n_items);

    recsys::Context ctx;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    Timer t;
    const SplitTimes times = default_split_times(purchases);
    const TimeSplit split = time_split(purchases, times.cutoff, times.window, ctx);
    t.report("time_split", ",\"purchases\":" + std::to_string(purchases.size()) +
                               ",\"history\":" + std::to_string(split.history.size()) +
                               ",\"labels\":" + std::to_string(split.labels.size()));

    const FeatureBuilder fb(purchases, n_users, n_items, times.cutoff, attributes, {}, ctx);
    t.report("build", "");

    // The base model (not timed).
    std::vector<std::vector<uint32_t>> buyers(n_items);
    for (const Purchase& p : split.history) buyers[p.item].push_back(p.user);
    std::vector<std::pair<int64_t, uint32_t>> popular;  // (-distinct buyers, item)
    for (uint32_t i = 0; i < n_items; ++i) {
        std::sort(buyers[i].begin(), buyers[i].end());
        popular.push_back({-(std::unique(buyers[i].begin(), buyers[i].end()) - buyers[i].begin()), i});
    }
    std::sort(popular.begin(), popular.end());
    std::vector<uint32_t> top;
    std::vector<float> item_score(n_items, 0);
    for (size_t k = 0; k < popular.size() && k < base_top_n; ++k) {
        top.push_back(popular[k].second);
        item_score[popular[k].second] = float(-popular[k].first);
    }
    t.restart();
    const auto rebuy = rebuy_candidates(fb, 0, ctx);
    const std::vector<std::vector<std::vector<uint32_t>>> lists = {rebuy, std::vector<std::vector<uint32_t>>(n_users, top)};
    const std::vector<UserItem> candidates = union_candidates(lists, 0, n_items, ctx);
    t.report("candidates", ",\"pairs\":" + std::to_string(candidates.size()));

    const CandidateRecall recall = candidate_recall(candidates, split.labels, fb, ctx);
    char buf[128];
    std::snprintf(buf, sizeof buf, ",\"recall\":%.4f,\"new_recall\":%.4f", recall.recall(), recall.new_recall());
    t.report("recall", buf);

    // Base score and rank per candidate (not timed).
    std::vector<float> score(candidates.size()), rank(candidates.size());
    std::vector<uint32_t> rank_of(n_items, uint32_t(top.size()));
    for (size_t k = 0; k < top.size(); ++k) rank_of[top[k]] = uint32_t(k);
    for (size_t k = 0; k < candidates.size(); ++k) {
        score[k] = item_score[candidates[k].item];
        rank[k] = float(rank_of[candidates[k].item]);
    }
    t.restart();
    const std::vector<ExtraColumn> extra = {{"base_score", score}, {"base_rank", rank}};
    const FeatureMatrix m = fb.compute(candidates, extra, ctx);
    t.report("features", ",\"threads\":1,\"rows\":" + std::to_string(m.rows) + ",\"cols\":" + std::to_string(m.cols));
    std::printf("{\"bench\":\"features_core\",\"step\":\"total\",\"seconds\":%.4f,\"cpu_seconds\":%.4f,\"threads\":1}\n",
                t.total, t.total_cpu);
    ctx.threads = 2;
    t.restart();
    const FeatureMatrix m2 = fb.compute(candidates, extra, ctx);
    t.report("features", ",\"threads\":2,\"rows\":" + std::to_string(m2.rows) + ",\"cols\":" + std::to_string(m2.cols));
}
