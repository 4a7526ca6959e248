// The second-stage learners (learners.h) on small data with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "expect_error.h"
#include "learner_detail.h"
#include "learners.h"
#include "rng.h"
#include "stop_check.h"

using namespace recsys;
using namespace recsys::learn;

namespace {

struct Data {
    std::vector<float> x, y;
    std::vector<uint32_t> groups;
    uint32_t d = 0;
    uint64_t rows() const { return y.size(); }
    TrainingSet view() const {
        TrainingSet t;
        t.x = x.data();
        t.rows = rows();
        t.cols = d;
        t.y = y.data();
        t.groups = groups;
        return t;
    }
    const float* row(uint64_t i) const { return x.data() + i * d; }
};

// Features uniform in [0, 1) (a fraction `missing` of features 1.. set to
// NaN); the label is label(row, rng).
template <typename Label>
Data make(uint64_t n, uint32_t d, uint64_t seed, double missing, Label label) {
    SplitMix64 rng(seed);
    Data s;
    s.d = d;
    s.x.resize(n * d);
    for (uint64_t i = 0; i < n; ++i) {
        float* r = s.x.data() + i * d;
        for (uint32_t j = 0; j < d; ++j) r[j] = rng.uniform();
        for (uint32_t j = 1; j < d; ++j)
            if (rng.uniform() < missing) r[j] = NAN;
        s.y.push_back(label(r, rng) ? 1.0f : 0.0f);
    }
    return s;
}

Data threshold_data(uint64_t n, uint64_t seed) {
    return make(n, 4, seed, 0.1, [](const float* r, SplitMix64&) { return r[0] > 0.6f; });
}
// A noisy logistic rule on two features.
Data linear_data(uint64_t n, uint64_t seed, double missing = 0.0) {
    return make(n, 5, seed, missing, [](const float* r, SplitMix64& g) {
        const double m = 6 * (r[0] - 0.5) - 4 * ((std::isnan(r[1]) ? 0.5 : r[1]) - 0.5);
        return g.uniform() < 1 / (1 + std::exp(-m));
    });
}
// XOR of two thresholds: no linear model does better than chance.
Data xor_data(uint64_t n, uint64_t seed) {
    return make(n, 3, seed, 0.0, [](const float* r, SplitMix64&) { return (r[0] > 0.5f) != (r[1] > 0.5f); });
}

std::vector<float> scores(const Learner& l, const Data& s) {
    std::vector<float> out(s.rows());
    l.predict(s.x.data(), s.rows(), out.data());
    return out;
}

// Area under the ROC curve by counting ordered pairs (ties count half).
double auc(const std::vector<float>& score, const std::vector<float>& y) {
    double pairs = 0, good = 0;
    for (size_t i = 0; i < y.size(); ++i)
        for (size_t j = 0; j < y.size(); ++j)
            if (y[i] == 1 && y[j] == 0) {
                ++pairs;
                good += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
            }
    return good / pairs;
}

std::unique_ptr<Learner> fit(const std::string& kind, const Data& train, const std::string& params = "{}",
                             const Data* valid = nullptr, int threads = 2) {
    Context ctx;
    ctx.threads = threads;
    const TrainingSet v = valid ? valid->view() : TrainingSet{};
    return fit_learner(kind, train.view(), valid ? &v : nullptr, Params::parse_json(params), ctx);
}

std::vector<uint8_t> bytes_of(const Learner& l) {
    ByteWriter w;
    l.write(w);
    return w.bytes();
}

std::unique_ptr<Learner> from_bytes(const std::vector<uint8_t>& b) {
    ByteReader r(b.data(), b.size());
    return read_learner(r);
}

// Small, quick parameters for each kind.
const std::vector<std::pair<std::string, std::string>> kKinds = {
    {"logistic", "{}"},
    {"tree", R"({"max_depth": 4})"},
    {"forest", R"({"n_trees": 25, "max_depth": 6})"},
    {"boosted", R"({"rounds": 30, "max_depth": 3})"},
    {"boosted_rank", R"({"rounds": 30, "max_depth": 3})"},
    {"mlp", R"({"hidden": 8, "epochs": 5})"},
    {"ensemble", R"({"members": "logistic,boosted", "boosted.rounds": 30, "boosted.max_depth": 3})"},
};

Data with_groups(Data s, uint32_t size) {
    s.groups.assign(s.rows() / size, size);
    if (s.rows() % size) s.groups.push_back(uint32_t(s.rows() % size));
    return s;
}

}  // namespace

TEST(Learners, LogisticMatchesGradientDescent) {
    const Data s = linear_data(300, 11);
    const double l2 = 2.0;
    auto m = fit("logistic", s, R"({"l2": 2, "tolerance": 1e-12})");
    // Reference: standardise (population std), then plain gradient descent
    // on sum of log-losses + (l2/2)|beta|^2 until it stops moving.
    const uint32_t d = s.d;
    const size_t n = s.rows();
    std::vector<double> mean(d, 0), sd(d, 0);
    for (size_t i = 0; i < n; ++i)
        for (uint32_t j = 0; j < d; ++j) mean[j] += s.row(i)[j] / double(n);
    for (size_t i = 0; i < n; ++i)
        for (uint32_t j = 0; j < d; ++j) sd[j] += std::pow(s.row(i)[j] - mean[j], 2) / double(n);
    for (auto& v : sd) v = std::sqrt(v);
    std::vector<std::vector<double>> z(n, std::vector<double>(d));
    for (size_t i = 0; i < n; ++i)
        for (uint32_t j = 0; j < d; ++j) z[i][j] = (s.row(i)[j] - mean[j]) / sd[j];
    std::vector<double> beta(d + 1, 0);  // last: intercept
    const double step = 1.0 / (0.25 * n * (d + 1) + l2);
    for (int it = 0; it < 200000; ++it) {
        std::vector<double> g(d + 1, 0);
        for (size_t i = 0; i < n; ++i) {
            double mgn = beta[d];
            for (uint32_t j = 0; j < d; ++j) mgn += beta[j] * z[i][j];
            const double r = 1 / (1 + std::exp(-mgn)) - s.y[i];
            for (uint32_t j = 0; j < d; ++j) g[j] += r * z[i][j];
            g[d] += r;
        }
        double moved = 0;
        for (uint32_t j = 0; j <= d; ++j) {
            if (j < d) g[j] += l2 * beta[j];
            beta[j] -= step * g[j];
            moved = std::max(moved, std::abs(step * g[j]));
        }
        if (moved < 1e-12) break;
    }
    std::vector<double> c;
    for (size_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(m->contributions(s.row(i), c));
        ASSERT_EQ(c.size(), d + 1);
        for (uint32_t j = 0; j < d; ++j) EXPECT_NEAR(c[j], beta[j] * z[i][j], 1e-6) << "row " << i << " feature " << j;
        EXPECT_NEAR(c[d], beta[d], 1e-6);
    }
    // The rule uses features 0 and 1 only.
    const auto imp = *m->importance();
    for (uint32_t j = 0; j < d; ++j) EXPECT_NEAR(imp[j], std::abs(beta[j]), 1e-6);
    EXPECT_GT(std::min(imp[0], imp[1]), 3 * std::max({imp[2], imp[3], imp[4]}));
}

TEST(Learners, LogisticMissingIndicatorLearnsFromMissingness) {
    // The label is whether feature 1 is missing: only the indicator tells.
    Data s = make(2000, 3, 5, 0.3, [](const float* r, SplitMix64&) { return std::isnan(r[1]); });
    auto with = fit("logistic", s);
    auto without = fit("logistic", s, R"({"missing_indicators": false})");
    const Data test = make(1000, 3, 6, 0.3, [](const float* r, SplitMix64&) { return std::isnan(r[1]); });
    EXPECT_GT(auc(scores(*with, test), test.y), 0.99);
    EXPECT_LT(auc(scores(*without, test), test.y), 0.6);
    EXPECT_GT((*with->importance())[1], 1.0);
}

TEST(Learners, LogisticSameBytesOnAnyThreadCount) {
    const Data s = linear_data(40000, 3, 0.2);
    EXPECT_EQ(bytes_of(*fit("logistic", s, "{}", nullptr, 1)), bytes_of(*fit("logistic", s, "{}", nullptr, 2)));
}

TEST(Learners, TreeRecoversThreshold) {
    const Data s = threshold_data(4000, 1);
    auto m = fit("tree", s, R"({"max_depth": 1})");
    std::vector<float> below = {0.55f, 0.5f, NAN, 0.5f}, above = {0.65f, 0.5f, 0.5f, NAN};
    EXPECT_LT(m->predict_one(below.data()), 0);
    EXPECT_GT(m->predict_one(above.data()), 0);
    const auto imp = *m->importance();
    EXPECT_GT(imp[0], 0);
    EXPECT_EQ(imp[1] + imp[2] + imp[3], 0);  // one split, on feature 0
    // Every training row away from the threshold is on its side.
    for (uint64_t i = 0; i < s.rows(); ++i)
        if (std::abs(s.row(i)[0] - 0.6f) > 0.02f) EXPECT_EQ(m->predict_one(s.row(i)) > 0, s.y[i] == 1) << i;
}

TEST(Learners, ForestAveragesItsTrees) {
    // Without sampling every tree of the forest is the single tree: the
    // average is that tree, whatever the number of rounds.
    const Data s = linear_data(2000, 13, 0.1);
    auto one = fit("tree", s, R"({"max_depth": 3})");
    for (int n : {1, 7, 20}) {
        auto forest = fit("forest", s,
                          R"({"max_depth": 3, "subsample": 1, "colsample_bynode": 1, "n_trees": )" + std::to_string(n) + "}");
        const auto a = scores(*one, s), b = scores(*forest, s);
        for (size_t i = 0; i < a.size(); i += 10) EXPECT_NEAR(a[i], b[i], 1e-5) << n << " trees, row " << i;
    }
    // With sampling the trees differ, and the forest beats one of them.
    const Data test = linear_data(1000, 14, 0.1);
    EXPECT_GT(auc(scores(*fit("forest", s, R"({"max_depth": 3})"), test), test.y),
              auc(scores(*fit("forest", s, R"({"max_depth": 3, "n_trees": 1})"), test), test.y) + 0.01);
}

TEST(Learners, SampledTreesDeterministicForASeed) {
    const Data s = linear_data(2000, 15, 0.1);
    for (const auto& [kind, p] : std::vector<std::pair<std::string, std::string>>{
             {"forest", R"({"n_trees": 20, "max_depth": 4)"}, {"boosted", R"({"rounds": 10, "subsample": 0.5)"}}) {
        SCOPED_TRACE(kind);
        const auto a = bytes_of(*fit(kind, s, p + R"(, "seed": 3})")), b = bytes_of(*fit(kind, s, p + R"(, "seed": 3})"));
        EXPECT_EQ(a, b);
        EXPECT_NE(a, bytes_of(*fit(kind, s, p + R"(, "seed": 4})")));
    }
}

TEST(Learners, HeldOutAuc) {
    const Data train = linear_data(3000, 21, 0.1), test = linear_data(1000, 22, 0.1);
    const Data rank_train = with_groups(train, 10), rank_test = with_groups(test, 10);
    // The Bayes rate of this rule is about 0.82 AUC.
    for (const auto& [kind, params] : kKinds) {
        SCOPED_TRACE(kind);
        const bool rank = kind == "boosted_rank";
        auto m = fit(kind, rank ? rank_train : train, kind == "mlp" ? R"({"epochs": 30})" : params);
        EXPECT_GT(auc(scores(*m, test), test.y), kind == "tree" ? 0.7 : 0.78);
    }
}

TEST(Learners, NonLinearData) {
    const Data train = xor_data(4000, 31), test = xor_data(1000, 32);
    EXPECT_LT(auc(scores(*fit("logistic", train), test), test.y), 0.6);
    for (const char* kind : {"tree", "forest", "boosted"})
        EXPECT_GT(auc(scores(*fit(kind, train), test), test.y), 0.97) << kind;
    std::string progress;
    Context ctx;
    ctx.progress = [&](const std::string& line) { progress += line + "\n"; };
    auto m = fit_learner("mlp", train.view(), nullptr,
                         Params::parse_json(R"({"hidden": 16, "learning_rate": 0.01, "epochs": 40, "patience": 5})"), ctx);
    EXPECT_GT(auc(scores(*m, test), test.y), 0.95);
    // Training loss falls from the first epoch to the last.
    std::vector<double> losses;
    for (size_t at = 0; (at = progress.find("training loss ", at)) != std::string::npos; at += 14)
        losses.push_back(std::stod(progress.substr(at + 14)));
    ASSERT_GE(losses.size(), 3u) << progress;
    EXPECT_LT(losses.back(), 0.5 * losses.front()) << progress;
}

TEST(Learners, MlpGradientMatchesFiniteDifferences) {
    learn::detail::MlpNet net;
    net.init(3, {4, 3}, 7);
    SplitMix64 rng(9);
    Eigen::MatrixXd Z(3, 6);
    Eigen::RowVectorXd y(6);
    for (Eigen::Index k = 0; k < Z.cols(); ++k) {
        for (Eigen::Index j = 0; j < 3; ++j) Z(j, k) = 4 * rng.uniform() - 2;
        y[k] = k % 2;
    }
    // Biases away from 0 so that no ReLU sits at its kink.
    for (auto& b : net.b)
        for (Eigen::Index i = 0; i < b.size(); ++i) b[i] = 0.3 * rng.uniform() + 0.05;
    const double l2 = 0.1, h = 1e-6;
    learn::detail::MlpNet grad, unused;
    net.loss_and_gradient(Z, y, l2, grad);
    for (size_t l = 0; l < net.W.size(); ++l) {
        auto check = [&](double& p, double analytic) {
            const double keep = p;
            p = keep + h;
            const double up = net.loss_and_gradient(Z, y, l2, unused);
            p = keep - h;
            const double down = net.loss_and_gradient(Z, y, l2, unused);
            p = keep;
            EXPECT_NEAR(analytic, (up - down) / (2 * h), 1e-7) << "layer " << l;
        };
        for (Eigen::Index i = 0; i < net.W[l].size(); ++i) check(net.W[l].data()[i], grad.W[l].data()[i]);
        for (Eigen::Index i = 0; i < net.b[l].size(); ++i) check(net.b[l][i], grad.b[l][i]);
    }
}

TEST(Learners, MlpDeterministicForASeed) {
    const Data s = linear_data(2000, 41, 0.1);
    const std::string p = R"({"hidden": 8, "hidden2": 4, "epochs": 3, "seed": 5})";
    EXPECT_EQ(bytes_of(*fit("mlp", s, p)), bytes_of(*fit("mlp", s, p)));
    EXPECT_NE(bytes_of(*fit("mlp", s, p)), bytes_of(*fit("mlp", s, R"({"hidden": 8, "hidden2": 4, "epochs": 3, "seed": 6})")));
    std::vector<double> c;
    EXPECT_FALSE(fit("mlp", s, p)->contributions(s.row(0), c));
    EXPECT_FALSE(fit("mlp", s, p)->importance().has_value());
}

TEST(Learners, ContributionsAddUpToTheMargin) {
    const Data train = linear_data(2000, 51, 0.2);
    const Data rank_train = with_groups(train, 10);
    for (const auto& [kind, params] : kKinds) {
        if (kind == "mlp") continue;
        SCOPED_TRACE(kind);
        auto m = fit(kind, kind == "boosted_rank" ? rank_train : train, params);
        std::vector<double> c;
        for (uint64_t i = 0; i < 50; ++i) {
            ASSERT_TRUE(m->contributions(train.row(i), c));
            ASSERT_EQ(c.size(), train.d + 1);
            const double sum = std::accumulate(c.begin(), c.end(), 0.0), margin = m->predict_one(train.row(i));
            EXPECT_NEAR(sum, margin, 1e-4 * (1 + std::abs(margin))) << "row " << i;
        }
        if (kind == "ensemble") continue;  // no importance: its members' are on unlike scales
        // Features 2..4 play no part in the label: SHAP puts most on 0 and 1.
        const auto imp = *m->importance();
        ASSERT_EQ(imp.size(), train.d);
        EXPECT_GT(imp[0], imp[2]);
        EXPECT_GT(imp[0], imp[4]);
    }
}

TEST(Learners, RoundTripGivesIdenticalPredictions) {
    const Data train = linear_data(1500, 61, 0.2), test = linear_data(300, 62, 0.3);
    const Data rank_train = with_groups(train, 10);
    for (const auto& [kind, params] : kKinds) {
        SCOPED_TRACE(kind);
        auto m = fit(kind, kind == "boosted_rank" ? rank_train : train, params);
        const std::vector<uint8_t> b = bytes_of(*m);
        auto back = from_bytes(b);
        EXPECT_EQ(back->kind(), kind);
        EXPECT_EQ(back->n_features(), train.d);
        EXPECT_EQ(back->params_json(), m->params_json());
        EXPECT_EQ(scores(*back, test), scores(*m, test));
        std::vector<double> c1, c2;
        EXPECT_EQ(m->contributions(test.row(3), c1), back->contributions(test.row(3), c2));
        EXPECT_EQ(c1, c2);
        EXPECT_EQ(m->importance(), back->importance());
        EXPECT_EQ(bytes_of(*back), b);
    }
}

TEST(Learners, CorruptBytesThrowCorrupted) {
    const Data train = linear_data(500, 71, 0.2);
    const Data rank_train = with_groups(train, 10);
    for (const auto& [kind, params] : kKinds) {
        SCOPED_TRACE(kind);
        const std::string small = kind == "forest" ? R"({"n_trees": 3, "max_depth": 3})" : params;
        const std::vector<uint8_t> good = bytes_of(*fit(kind, kind == "boosted_rank" ? rank_train : train, small));
        // Every truncation is refused.
        for (size_t len = 0; len < good.size(); len += len < 300 ? 1 : 37) {
            std::vector<uint8_t> cut(good.begin(), good.begin() + len);
            expect_error([&] { from_bytes(cut); }, ErrorKind::Corrupted);
        }
        // A flipped byte is refused or, where nothing can tell (a
        // coefficient, a parameter string), gives a working learner.
        SplitMix64 rng(3);
        for (int k = 0; k < 300; ++k) {
            std::vector<uint8_t> bad = good;
            bad[rng.below(uint32_t(bad.size()))] ^= uint8_t(1 + rng.below(255));
            try {
                auto l = from_bytes(bad);
                (void)scores(*l, train);
            } catch (const Error& e) {
                EXPECT_EQ(e.kind(), ErrorKind::Corrupted) << e.what();
            }
        }
    }
    // Inside the XGBoost model itself: the checksum refuses it.
    std::vector<uint8_t> b = bytes_of(*fit("boosted", train, R"({"rounds": 3})"));
    b[b.size() - 100] ^= 1;
    expect_error([&] { from_bytes(b); }, ErrorKind::Corrupted);
}

TEST(Learners, CancelStopsFit) {
    const Data train = linear_data(3000, 81, 0.1);
    const Data rank_train = with_groups(train, 10);
    const std::vector<std::pair<std::string, std::string>> runs = {
        {"logistic", R"({"tolerance": 0})"},  {"tree", "{}"},
        {"forest", R"({"n_trees": 200})"},   {"boosted", R"({"rounds": 500})"},
        {"boosted_rank", R"({"rounds": 500})"}, {"mlp", R"({"epochs": 100, "patience": 100})"}};
    for (const auto& [kind, params] : runs) {
        // A single tree is one round: a cancel point before it only.
        for (int polls : kind == "tree" ? std::vector<int>{1} : std::vector<int>{1, 3, 8}) {
            SCOPED_TRACE(kind + " after " + std::to_string(polls));
            Context ctx;
            ctx.threads = 2;
            int left = polls, lines = 0;
            ctx.check_cancel = [&] {
                if (--left <= 0) throw Cancelled();
            };
            ctx.progress = [&](const std::string&) { ++lines; };
            const TrainingSet t = (kind == "boosted_rank" ? rank_train : train).view();
            EXPECT_THROW(fit_learner(kind, t, nullptr, Params::parse_json(params), ctx), Cancelled);
            EXPECT_LT(lines, polls + 1);  // a cancel point at least per round or epoch
        }
    }
}

TEST(Learners, CancelFreesWhatFitAllocated) {
    const Data train = linear_data(3000, 82, 0.1);
    const Data rank_train = with_groups(train, 10);
    for (const auto& run : kKinds) {
        const std::string& kind = run.first;  // a structured binding cannot be captured (clang 14)
        const Params params = Params::parse_json(run.second);
        SCOPED_TRACE(kind);
        const TrainingSet t = (kind == "boosted_rank" ? rank_train : train).view();
        Context warm;
        warm.threads = 2;
        fit_learner(kind, t, nullptr, params, warm);  // OpenMP's threads start once
        for (int polls : kind == "tree" ? std::vector<int>{1} : std::vector<int>{2, 5}) {
            Context ctx;
            ctx.threads = 2;
            std::string progress;
            stop_check::cancel_after(ctx, "", polls, progress);
            stop_check::expect_cancelled_and_freed([&] { fit_learner(kind, t, nullptr, params, ctx); });
        }
    }
}

TEST(Learners, ThreadCounts) {
    const Data train = linear_data(5000, 91, 0.1), test = linear_data(500, 92, 0.1);
    for (const auto& [kind, params] : kKinds) {
        if (kind == "boosted_rank" || kind == "mlp") continue;
        auto one = fit(kind, train, params, nullptr, 1), two = fit(kind, train, params, nullptr, 2);
        const auto a = scores(*one, test), b = scores(*two, test);
        for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << kind;
    }
}

TEST(Learners, EarlyStoppingOnValidation) {
    // Pure-noise labels: validation log-loss only gets worse.
    auto noise = [](const float*, SplitMix64& g) { return g.uniform() < 0.5f; };
    const Data train = make(2000, 5, 101, 0.0, noise), valid = make(1000, 5, 102, 0.0, noise);
    std::string progress;
    Context ctx;
    ctx.progress = [&](const std::string& line) { progress += line + "\n"; };
    const TrainingSet v = valid.view();
    auto m = fit_learner("boosted", train.view(), &v,
                         Params::parse_json(R"({"rounds": 300, "eta": 0.3, "early_stopping_rounds": 5})"), ctx);
    EXPECT_NE(progress.find("validation log-loss"), std::string::npos) << progress;
    EXPECT_EQ(progress.find("iteration 100/300"), std::string::npos) << progress;
    // The kept trees are those up to the best round: fewer than trained.
    const size_t trained = std::count(progress.begin(), progress.end(), '\n');
    auto all = fit("boosted", train, "{\"rounds\": " + std::to_string(trained) + ", \"eta\": 0.3}");
    EXPECT_NE(scores(*m, valid), scores(*all, valid));
}

TEST(Learners, RankNeedsGroups) {
    const Data train = linear_data(200, 111);
    const Error e = expect_error([&] { fit("boosted_rank", train); });
    EXPECT_NE(std::string(e.what()).find("no groups"), std::string::npos);
    Data g = with_groups(train, 10);
    g.groups.back() += 1;
    expect_error([&] { fit("boosted_rank", g); });
    g = with_groups(train, 10);
    expect_error([&] { fit("boosted_rank", g, R"({"objective": "listwise"})"); });
    EXPECT_NO_THROW(fit("boosted_rank", g, R"({"objective": "pairwise", "rounds": 5})"));
    expect_error([&] { fit("boosted_rank", g, R"({"pair_samples": 0})"); });
}

// Groups of 10 whose relevant row is the one with the largest feature 0:
// the group's offset (a whole number up to 10) plus a permutation of 0..9.
// The per-row probability of relevance hardly depends on feature 0 (any
// value can be the top of some group), so binary boosting cannot find the
// relevant rows, while every ranking objective, which compares rows only
// within their group, must put the relevant row first in held-out groups.
TEST(Learners, RankObjectivesPutTheRelevantRowFirst) {
    auto groups_of = [](uint32_t n_groups, uint64_t seed) {
        SplitMix64 rng(seed);
        Data s;
        s.d = 3;
        for (uint32_t g = 0; g < n_groups; ++g) {
            const float offset = float(rng.next() % 11), level = rng.uniform();  // level: the same on the group's rows
            std::vector<int> order(10);
            std::iota(order.begin(), order.end(), 0);
            for (int k = 9; k > 0; --k) std::swap(order[k], order[rng.next() % (k + 1)]);
            for (int k = 0; k < 10; ++k) {
                s.x.insert(s.x.end(), {offset + float(order[k]), level, rng.uniform()});
                s.y.push_back(order[k] == 9 ? 1.0f : 0.0f);
            }
            s.groups.push_back(10);
        }
        return s;
    };
    const Data train = groups_of(300, 141), valid = groups_of(100, 142), test = groups_of(200, 143);
    auto firsts = [&](const Learner& m) {  // held-out groups whose top-scored row is the relevant one
        const std::vector<float> s = scores(m, test);
        int n = 0;
        for (size_t g = 0; g < test.groups.size(); ++g)
            n += test.y[size_t(std::max_element(s.begin() + g * 10, s.begin() + g * 10 + 10) - s.begin())] == 1;
        return n;
    };
    const std::string params = R"({"rounds": 100, "eta": 0.3, "max_depth": 3, "early_stopping_rounds": 0)";
    for (const char* objective : {"ndcg", "pairwise", "map"}) {
        std::string progress;
        Context ctx;
        ctx.progress = [&](const std::string& line) { progress += line + "\n"; };
        const TrainingSet v = valid.view();
        auto m = fit_learner("boosted_rank", train.view(), &v,
                             Params::parse_json(params + ", \"objective\": \"" + objective + "\"}"), ctx);
        EXPECT_NE(progress.find("iteration 100/100: validation ndcg "), std::string::npos) << progress;
        EXPECT_GE(firsts(*m), 190) << objective;  // 95% of the held-out groups
    }
    EXPECT_LE(firsts(*fit("boosted", train, params + "}")), 150);
}

// The ensemble's margin is the mean of its members', each fitted alone
// with the same parameters (the ensemble's seed passed on).
TEST(Learners, EnsembleAveragesItsMembers) {
    const Data train = linear_data(2000, 151, 0.2), valid = linear_data(500, 152, 0.2), test = linear_data(300, 153, 0.2);
    auto e = fit("ensemble", train,
                 R"({"members": "boosted, mlp", "seed": 4, "boosted.rounds": 40, "mlp.hidden": 8, "mlp.epochs": 6})",
                 &valid);
    auto b = fit("boosted", train, R"({"rounds": 40, "seed": 4})", &valid);
    auto m = fit("mlp", train, R"({"hidden": 8, "epochs": 6, "seed": 4})", &valid);
    const auto se = scores(*e, test), sb = scores(*b, test), sm = scores(*m, test);
    for (size_t i = 0; i < se.size(); ++i) EXPECT_NEAR(se[i], (sb[i] + sm[i]) / 2, 1e-5f) << i;
    EXPECT_NE(sb, sm);
    // Its parameters name every member's, defaults included.
    const std::string p = e->params_json();
    for (const char* key : {"\"members\":\"boosted, mlp\"", "\"seed\":4", "\"boosted.rounds\":40", "\"boosted.eta\":0.1",
                            "\"mlp.hidden\":8", "\"mlp.seed\":4"})
        EXPECT_NE(p.find(key), std::string::npos) << key << " in " << p;
    std::vector<double> c;
    EXPECT_FALSE(e->contributions(test.row(0), c));  // the mlp cannot explain
    EXPECT_FALSE(e->importance().has_value());
    // Refused: fewer than two members, unknown or unfit ones, another's parameters, other tasks.
    auto message = [&](const std::string& params) {
        return std::string(expect_error([&] { fit("ensemble", train, params); }).what());
    };
    EXPECT_NE(message(R"({"members": "boosted"})").find("two members or more"), std::string::npos);
    EXPECT_NE(message(R"({"members": "boosted,boosted_rank"})").find("\"boosted_rank\" is not"), std::string::npos);
    EXPECT_NE(message(R"({"members": "boosted,ensemble"})").find("\"ensemble\" is not"), std::string::npos);
    EXPECT_NE(message(R"({"members": "logistic,boosted,logistic"})").find("listed twice"), std::string::npos);
    EXPECT_NE(message(R"({"members": 3})").find("must be a string"), std::string::npos);
    EXPECT_NE(message(R"({"mlp.hidden": 8, "members": "logistic,boosted"})").find("unknown parameter \"mlp.hidden\""),
              std::string::npos);
    EXPECT_NE(message(R"({"rounds": 8})").find("unknown parameter \"rounds\""), std::string::npos);
    EXPECT_NE(message(R"({"members": "logistic,boosted", "logistic.rounds": 8})").find("unknown parameter \"rounds\""),
              std::string::npos);
    TrainingSet r = train.view();
    r.task = Task::Regression;
    expect_error([&] { fit_learner("ensemble", r, nullptr, Params::parse_json("{}"), Context{}); });
}

TEST(Learners, InvalidInput) {
    const Data s = linear_data(200, 121);
    auto message = [&](const std::string& kind, const std::string& params) {
        return std::string(expect_error([&] { fit(kind, s, params); }).what());
    };
    EXPECT_NE(message("svm", "{}").find("unknown learner"), std::string::npos);
    EXPECT_NE(message("tree", R"({"depth": 3})").find("unknown parameter \"depth\""), std::string::npos);
    expect_error([&] { fit("tree", s, R"({"max_depth": 0})"); });
    expect_error([&] { fit("forest", s, R"({"subsample": 1.5})"); });
    expect_error([&] { fit("boosted", s, R"({"eta": "fast"})"); });
    expect_error([&] { fit("logistic", s, R"({"l2": -1})"); });
    expect_error([&] { fit("mlp", s, R"({"hidden": 0})"); });
    expect_error([&] { fit("mlp", s, R"({"n_trees": 10})"); });
    Data bad = s;
    bad.y[3] = 2;
    expect_error([&] { fit("logistic", bad); });
    bad = s;
    std::fill(bad.y.begin(), bad.y.end(), 1.0f);
    EXPECT_NE(std::string(expect_error([&] { fit("boosted", bad); }).what()).find("single class"), std::string::npos);
    bad = s;
    bad.x[7] = INFINITY;
    expect_error([&] { fit("tree", bad); });
    const Data other = make(50, 3, 1, 0.0, [](const float* r, SplitMix64&) { return r[0] > 0.5f; });
    expect_error([&] { fit("boosted", s, "{}", &other); });
    Context small;
    small.memory_limit_bytes = 1000;
    expect_error([&] { fit_learner("boosted", s.view(), nullptr, Params{}, small); }, ErrorKind::ResourceLimit);
}
