// Training time of the second-stage learners (learners.h) on synthetic
// purchase-like features.
//   bench/learners_core [rows (default 800000)] [threads (default 2)]
// Rows × 35 features: 30 uniform in [0, 1), 5 of them NaN 20% of the time,
// 5 binary; the label is a noisy logistic rule with a threshold and an
// interaction, so trees and the network can beat the linear model. Groups
// of 20 consecutive rows for boosted_rank. A validation set of 50,000 rows
// (early stopping for boosted, boosted_rank, mlp) and a test set of 50,000
// rows (AUC). Prints one JSON line per learner: fit seconds, single-thread
// prediction rate, model bytes and test AUC.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "learners.h"
#include "rng.h"

using namespace recsys;
using namespace recsys::learn;

namespace {

constexpr uint32_t kCols = 35;

struct Data {
    std::vector<float> x, y;
    std::vector<uint32_t> groups;
    TrainingSet view() const {
        TrainingSet t;
        t.x = x.data();
        t.rows = y.size();
        t.cols = kCols;
        t.y = y.data();
        t.groups = groups;
        return t;
    }
};

Data make(uint64_t n, uint64_t seed) {
    SplitMix64 rng(seed);
    Data s;
    s.x.resize(n * kCols);
    s.y.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
        float* r = s.x.data() + i * kCols;
        for (uint32_t j = 0; j < 30; ++j) r[j] = rng.uniform();
        for (uint32_t j = 30; j < 35; ++j) r[j] = rng.uniform() < 0.3f ? 1.0f : 0.0f;
        double m = 2.5 * (r[0] - 0.5) + 2 * (r[1] > 0.7f) - 1.5 * r[2] * r[3] + (r[30] == 1 ? 0.8 : 0) +
                   1.5 * (r[4] - 0.5) * (r[31] == 1 ? 1 : -1) - 1;
        for (uint32_t j = 5; j < 10; ++j)
            if (rng.uniform() < 0.2f) r[j] = NAN;
        m += std::isnan(r[5]) ? 0.5 : r[5] - 0.5;
        s.y[i] = rng.uniform() < 1 / (1 + std::exp(-m)) ? 1.0f : 0.0f;
    }
    s.groups.assign(n / 20, 20);
    if (n % 20) s.groups.push_back(uint32_t(n % 20));
    return s;
}

double auc(const std::vector<float>& score, const std::vector<float>& y) {
    std::vector<uint64_t> order(y.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return score[a] < score[b]; });
    // Mann-Whitney: sum of the positives' ranks, ties at their mean rank.
    double rank_sum = 0, pos = 0;
    for (uint64_t i = 0; i < order.size();) {
        uint64_t j = i;
        while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
        const double mean_rank = (double(i) + double(j - 1)) / 2 + 1;
        for (uint64_t k = i; k < j; ++k)
            if (y[order[k]] == 1) {
                rank_sum += mean_rank;
                ++pos;
            }
        i = j;
    }
    const double neg = double(y.size()) - pos;
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace

int main(int argc, char** argv) {
    const uint64_t rows = argc > 1 ? std::stoull(argv[1]) : 800000;
    Context ctx;
    ctx.threads = argc > 2 ? std::stoi(argv[2]) : 2;
    ctx.memory_limit_bytes = uint64_t(8) << 30;
    const Data train = make(rows, 1), valid = make(50000, 2), test = make(50000, 3);
    const TrainingSet v = valid.view();
    const std::vector<std::pair<std::string, std::string>> runs = {
        {"logistic", "{}"}, {"tree", "{}"}, {"forest", "{}"}, {"boosted", "{}"}, {"boosted_rank", "{}"}, {"mlp", "{}"},
    };
    for (const auto& [kind, params] : runs) {
        int lines = 0;
        std::string last;
        ctx.progress = [&](const std::string& line) {
            ++lines;
            last = line;
        };
        auto start = std::chrono::steady_clock::now();
        auto l = fit_learner(kind, train.view(), &v, Params::parse_json(params), ctx);
        const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<float> scores(test.y.size());
        start = std::chrono::steady_clock::now();
        l->predict(test.x.data(), test.y.size(), scores.data());
        const double predict_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // One row at a time, as a serving call scores one candidate.
        start = std::chrono::steady_clock::now();
        float sink = 0;
        for (uint64_t i = 0; i < 2000; ++i) sink += l->predict_one(test.x.data() + i * kCols);
        const double single_us =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 2000 * 1e6;
        ByteWriter w;
        l->write(w);
        std::printf("{\"bench\":\"learners_core\",\"learner\":\"%s\",\"params\":%s,\"rows\":%llu,\"features\":%u,"
                    "\"threads\":%d,\"fit_seconds\":%.2f,\"progress_lines\":%d,\"last_progress\":\"%s\","
                    "\"predict_rows_per_second\":%.0f,\"predict_one_us\":%.1f,\"model_bytes\":%zu,\"test_auc\":%.4f}\n",
                    kind.c_str(), l->params_json().c_str(), (unsigned long long)rows, kCols, ctx.threads, fit_s, lines,
                    last.c_str(), double(scores.size()) / predict_s, single_us + 0 * sink, w.size(),
                    auc(scores, test.y));
        std::fflush(stdout);
    }
    return 0;
}
