// Batch recommendation speed: recommend_all against a loop of recommend_user
// on a synthetic power-law dataset with an item-kNN model. Prints one JSON
// line per (method, threads) with users per second.
//   bench/batch_core [users=100000] [items=20000] [scored_users=20000] [k=10]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "batch.h"
#include "bench_util.h"
#include "model.h"
#include "recommend.h"

using recsys::bench::seconds_since;

int main(int argc, char** argv) {
    const uint32_t n_users = argc > 1 ? uint32_t(std::stoul(argv[1])) : 100000;
    const uint32_t n_items = argc > 2 ? uint32_t(std::stoul(argv[2])) : 20000;
    const uint32_t scored = argc > 3 ? uint32_t(std::stoul(argv[3])) : 20000;
    const size_t k = argc > 4 ? size_t(std::stoul(argv[4])) : 10;

    // Items drawn from a Zipf-like law (p(rank r) ~ 1/(r+1)^1.1) by inverse
    // transform on the cumulative weights; basket sizes geometric, mean ~8.
    std::mt19937_64 rng(42);
    std::vector<double> cumulative(n_items);
    double total = 0;
    for (uint32_t r = 0; r < n_items; ++r) cumulative[r] = total += 1.0 / std::pow(double(r) + 1.0, 1.1);
    std::uniform_real_distribution<double> uniform(0.0, total);
    std::geometric_distribution<int> basket(1.0 / 8.0);
    recsys::InteractionBuilder rows;
    for (uint32_t u = 0; u < n_users; ++u) {
        const int n = 1 + basket(rng);
        for (int j = 0; j < n; ++j) {
            const auto item = uint32_t(std::lower_bound(cumulative.begin(), cumulative.end(), uniform(rng)) -
                                       cumulative.begin());
            rows.add(int64_t(u), int64_t(std::min(item, n_items - 1)), 1.0);
        }
    }
    recsys::Context ctx;
    ctx.memory_limit_bytes = uint64_t(8) << 30;
    ctx.threads = 2;
    auto start = std::chrono::steady_clock::now();
    const recsys::Model model = recsys::train_model("itemknn", rows, "{}", ctx);
    std::printf("{\"bench\":\"batch_core\",\"phase\":\"train\",\"users\":%u,\"items\":%u,\"nnz\":%llu,"
                "\"seconds\":%.3f}\n",
                model.n_users(), model.n_items(), (unsigned long long)model.history.nnz(), seconds_since(start));
    std::fflush(stdout);

    std::vector<uint32_t> users(std::min(scored, model.n_users()));
    std::iota(users.begin(), users.end(), 0u);
    recsys::RecommendOptions options;
    options.k = k;
    auto report = [&](const char* method, int threads, double wall, double cpu, size_t rows_out) {
        std::printf("{\"bench\":\"batch_core\",\"method\":\"%s\",\"threads\":%d,\"users\":%zu,\"items\":%u,"
                    "\"k\":%zu,\"rows\":%zu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"users_per_second\":%.0f}\n",
                    method, threads, users.size(), model.n_items(), k, rows_out, wall, cpu,
                    double(users.size()) / wall);
        std::fflush(stdout);
    };

    {
        size_t rows_out = 0;
        start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        for (uint32_t u : users) rows_out += recsys::recommend_user(model, u, options).size();
        report("recommend_user_loop", 1, seconds_since(start), double(std::clock() - cpu_start) / CLOCKS_PER_SEC,
               rows_out);
    }
    for (int threads : {1, 2}) {
        ctx.threads = threads;
        size_t rows_out = 0;
        start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        recsys::recommend_all(model, users, options, ctx,
                              [&](uint32_t, std::span<const recsys::Recommendation> r) { rows_out += r.size(); });
        report("recommend_all", threads, seconds_since(start), double(std::clock() - cpu_start) / CLOCKS_PER_SEC,
               rows_out);
    }
}
