// BPR training speed and quality on the per-user 80% training split (the
// reference figures were measured on that split: 213,535 pairs of the
// e-commerce data). Prints one JSON line per (factors, threads):
// train_seconds includes building the interaction matrix from the pairs,
// epochs_seconds only the epochs.
//   bench/bpr_core pairs.csv [epochs]
// pairs.csv: "user,item[,weight]" lines after a header line; the split and
// the metrics are those of bench_util.h.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include "bench_util.h"
#include "bpr.h"

using namespace recsys;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [epochs]\n";
        return 2;
    }
    const uint32_t epochs = argc > 2 ? uint32_t(std::stoul(argv[2])) : 100;
    bench::Split split = bench::read_and_split(argv[1]);
    Context ctx = bench::context();
    for (uint32_t factors : {32u, 64u, 128u}) {
        for (int threads : {1, 2}) {
            ctx.threads = threads;
            double best = 1e300, epochs_total = 0;
            ctx.progress = [&](const std::string& msg) {
                // "..., 0.123 s": the epoch's own time.
                const double seconds = std::stod(msg.substr(msg.rfind(", ") + 2));
                best = std::min(best, seconds);
                epochs_total += seconds;
            };
            const std::string params = "{\"factors\": " + std::to_string(factors) +
                                       ", \"iterations\": " + std::to_string(epochs) + "}";
            const auto start = std::chrono::steady_clock::now();
            const std::clock_t cpu_start = std::clock();
            const Model m = train_model("bpr", split.train, params, ctx);
            const double seconds = bench::seconds_since(start);
            const double cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
            const RankingMetricsResult r = bench::evaluate(m, split);
            std::printf("{\"bench\":\"bpr_core\",\"users\":%u,\"items\":%u,\"train_pairs\":%llu,\"factors\":%u,"
                        "\"threads\":%d,\"epochs\":%u,\"train_seconds\":%.3f,\"cpu_seconds\":%.3f,"
                        "\"epochs_seconds\":%.3f,\"best_epoch_seconds\":%.5f,\"ndcg@10\":%.4f,\"precision@10\":%.4f}\n",
                        m.n_users(), m.n_items(), (unsigned long long)split.train_pairs, factors, threads, epochs,
                        seconds, cpu, epochs_total, best, r.ndcg.value_or(0), r.precision.value_or(0));
            std::fflush(stdout);
        }
    }
    return 0;
}
