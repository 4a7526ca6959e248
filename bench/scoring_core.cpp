// Batch scoring against the machine's GEMM speed, and thread scaling, on a
// pairs file (bench/retail_pairs.py > /tmp/pairs.csv): every user, every item.
//   bench/scoring_core pairs.csv [rounds=3] [k=10]
// Prints JSON lines:
//  - "sgemm": Eigen's single-precision GEMM of the shape ALS scoring has
//    (users x factors times factors x items), built for the best instruction
//    set of this CPU (the dense kernels of dense.h), GFLOP/s;
//  - "recommend_all" per model and thread count: users/s, and for ALS the
//    GFLOP/s of the scoring (2 x users x items x factors over the wall time of
//    the whole call, top-k included) and its ratio to the SGEMM of the same
//    round;
//  - "train" per model and thread count, and the 2-thread / 1-thread ratios.
// Each figure is the median of `rounds` rounds, the rounds interleaving the
// measurements so that a busy machine slows them alike.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "batch.h"
#include "bench_util.h"
#include "dense.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;
using recsys::bench::seconds_since;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

InteractionBuilder read_pairs(const char* path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    InteractionBuilder rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        const auto a = line.find(',');
        if (a == std::string::npos) continue;
        const auto b = line.find(',', a + 1);
        rows.add(std::string_view(line).substr(0, a),
                 std::string_view(line).substr(a + 1, b == std::string::npos ? b : b - a - 1), 1.0);
    }
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [rounds=3] [k=10]\n";
        return 2;
    }
    const InteractionBuilder rows = read_pairs(argv[1]);
    const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
    RecommendOptions options;
    options.k = argc > 3 ? size_t(std::stoul(argv[3])) : 10;
    Context ctx;
    ctx.memory_limit_bytes = uint64_t(8) << 30;

    const std::vector<std::pair<std::string, std::string>> models = {
        {"als", R"({"factors": 128, "iterations": 15})"},
        {"ease", R"({"lambda": 100})"},
        {"itemknn", R"({"neighbours": 50})"},
    };
    const uint32_t factors = 128;
    std::map<std::string, Model> trained;
    std::map<std::string, std::vector<double>> times;  // measurement -> seconds per round
    for (int round = 0; round < rounds; ++round) {
        for (const auto& [algorithm, params] : models)
            for (int threads : {1, 2}) {
                ctx.threads = threads;
                const auto start = std::chrono::steady_clock::now();
                Model m = train_model(algorithm, rows, params, ctx);
                times["train " + algorithm + " " + std::to_string(threads)].push_back(seconds_since(start));
                if (threads == 1 && round == 0) trained.emplace(algorithm, std::move(m));
            }
        // The GEMM reference: users x factors times factors x items.
        const Model& als = trained.at("als");
        const uint32_t n_users = als.n_users(), n_items = als.n_items();
        {
            std::vector<float> a(size_t(n_users) * factors), b(size_t(factors) * n_items),
                c(size_t(n_users) * n_items);
            for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 17) * 0.01f - 0.08f;
            for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 13) * 0.01f - 0.06f;
            const auto start = std::chrono::steady_clock::now();
            dense::multiply(a.data(), b.data(), c.data(), n_users, factors, n_items);
            times["sgemm"].push_back(seconds_since(start));
        }
        for (const auto& [algorithm, params] : models) {
            const Model& m = trained.at(algorithm);
            std::vector<uint32_t> users(m.n_users());
            std::iota(users.begin(), users.end(), 0u);
            for (int threads : {1, 2}) {
                ctx.threads = threads;
                size_t out = 0;
                const auto start = std::chrono::steady_clock::now();
                recommend_all(m, users, options, ctx, [&](uint32_t, std::span<const Recommendation> r) {
                    out += r.size();
                });
                times["recommend_all " + algorithm + " " + std::to_string(threads)].push_back(seconds_since(start));
            }
        }
    }

    const Model& als = trained.at("als");
    const double flops = 2.0 * als.n_users() * als.n_items() * factors;
    const double sgemm = flops / median(times["sgemm"]) * 1e-9;
    std::printf("{\"bench\":\"scoring_core\",\"measure\":\"sgemm\",\"isa\":\"%s\",\"m\":%u,\"k\":%u,\"n\":%u,"
                "\"seconds\":%.4f,\"gflops\":%.1f,\"rounds\":%d}\n",
                dense::isa(), als.n_users(), factors, als.n_items(), median(times["sgemm"]), sgemm, rounds);
    for (const auto& [algorithm, params] : models) {
        const Model& m = trained.at(algorithm);
        double one = 0;
        for (int threads : {1, 2}) {
            const double s = median(times["recommend_all " + algorithm + " " + std::to_string(threads)]);
            if (threads == 1) one = s;
            std::printf("{\"bench\":\"scoring_core\",\"measure\":\"recommend_all\",\"model\":\"%s\",\"threads\":%d,"
                        "\"users\":%u,\"items\":%u,\"k\":%zu,\"seconds\":%.4f,\"users_per_second\":%.0f",
                        algorithm.c_str(), threads, m.n_users(), m.n_items(), options.k, s, m.n_users() / s);
            if (algorithm == "als")
                std::printf(",\"gflops\":%.1f,\"ratio_to_sgemm\":%.2f", flops / s * 1e-9,
                            threads == 1 ? flops / s * 1e-9 / sgemm : 0.0);
            if (threads == 2) std::printf(",\"speedup_2_threads\":%.2f", one / s);
            std::printf(",\"rounds\":%d}\n", rounds);
        }
    }
    for (const auto& [algorithm, params] : models) {
        const double one = median(times["train " + algorithm + " 1"]), two = median(times["train " + algorithm + " 2"]);
        std::printf("{\"bench\":\"scoring_core\",\"measure\":\"train\",\"model\":\"%s\",\"params\":%s,"
                    "\"seconds_1_thread\":%.3f,\"seconds_2_threads\":%.3f,\"speedup_2_threads\":%.2f,\"rounds\":%d}\n",
                    algorithm.c_str(), params.c_str(), one, two, one / two, rounds);
    }
}
