// ALS training speed: loads "user,item" pairs (argv[1], binary weights) and
// prints one JSON line per (alpha, factors, threads) with seconds per iteration.
//   bench/als_core data.csv [iterations]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "als.h"
#include "dense.h"
#include "interactions.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [iterations]\n";
        return 2;
    }
    const uint32_t iterations = argc > 2 ? uint32_t(std::stoul(argv[2])) : 10;
    recsys::InteractionBuilder rows;
    std::ifstream in(argv[1]);
    std::string line;
    while (std::getline(in, line)) {
        const auto comma = line.find(',');
        if (comma == std::string::npos) continue;
        rows.add(std::string_view(line).substr(0, comma), std::string_view(line).substr(comma + 1), 1.0);
    }
    recsys::Context ctx;
    ctx.memory_limit_bytes = uint64_t(8) << 30;
    const recsys::Interactions data = rows.build(ctx);
    // alpha 0: the reference settings (confidence 1 on observed pairs, i.e.
    // implicit's alpha = 1); alpha 1: the default (confidence 2).
    for (float alpha : {0.0f, 1.0f}) {
        for (uint32_t factors : {32u, 64u, 128u}) {
            for (int threads : {1, 2}) {
                ctx.threads = threads;
                recsys::als::Options opt;
                opt.factors = factors;
                opt.iterations = iterations;
                opt.regularization = 0.01f;
                opt.alpha = alpha;
                double best = 1e300;
                ctx.progress = [&](const std::string& msg) {
                    // "..., 0.123 s": the iteration's own time, loss included.
                    const auto comma = msg.rfind(", ");
                    best = std::min(best, std::stod(msg.substr(comma + 2)));
                };
                const auto start = std::chrono::steady_clock::now();
                const std::clock_t cpu_start = std::clock();
                recsys::als::fit(data.matrix, opt, ctx);
                const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                // CPU time is the steadier figure on a busy machine.
                const double cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
                std::printf("{\"bench\":\"als_core\",\"isa\":\"%s\",\"users\":%u,\"items\":%u,\"nnz\":%llu,\"alpha\":%g,"
                            "\"factors\":%u,\"threads\":%d,"
                            "\"iterations\":%u,\"seconds_per_iteration\":%.5f,\"best_iteration_seconds\":%.5f,"
                            "\"cpu_seconds_per_iteration\":%.5f}\n",
                            recsys::dense::isa(), data.matrix.rows, data.matrix.cols,
                            (unsigned long long)data.matrix.nnz(), double(alpha), factors, threads,
                            iterations, total / iterations, best, cpu / iterations);
                std::fflush(stdout);
            }
        }
    }
}
