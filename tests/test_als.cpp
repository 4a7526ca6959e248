#include "als.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "batch.h"
#include "errors.h"
#include "expect_error.h"
#include "scorer_bytes.h"
#include "stop_check.h"

using recsys::Basket;
using recsys::CsrMatrix;
using namespace recsys::als;
using namespace scorer_bytes;

namespace {

// Rows of (column, weight), sorted by column.
CsrMatrix make_csr(const std::vector<std::map<uint32_t, float>>& rows, uint32_t cols) {
    CsrMatrix m;
    m.rows = uint32_t(rows.size());
    m.cols = cols;
    for (const auto& row : rows) {
        for (auto [c, w] : row) {
            m.indices.push_back(c);
            m.values.push_back(w);
        }
        m.indptr.push_back(m.indices.size());
    }
    return m;
}

CsrMatrix random_matrix(uint32_t users, uint32_t items, double density, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<std::map<uint32_t, float>> rows(users);
    for (auto& row : rows)
        for (uint32_t i = 0; i < items; ++i)
            if (u(gen) < density) row[i] = float(1 + int(u(gen) * 3));
    return make_csr(rows, items);
}

// Users in `groups` clusters, each buying mostly within its own block of items.
struct Planted {
    CsrMatrix train;
    std::vector<uint32_t> held_out;  // one in-group item per user, not in train
    std::vector<uint32_t> group;
    uint32_t groups, items_per_group;
};

Planted planted(uint32_t users, uint32_t groups, uint32_t items_per_group, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(0, 1);
    Planted p;
    p.groups = groups;
    p.items_per_group = items_per_group;
    const uint32_t items = groups * items_per_group;
    std::vector<std::map<uint32_t, float>> rows(users);
    for (uint32_t user = 0; user < users; ++user) {
        const uint32_t g = user % groups;
        p.group.push_back(g);
        std::vector<uint32_t> own;
        for (uint32_t i = 0; i < items; ++i) {
            const bool in_group = i / items_per_group == g;
            if (u(gen) < (in_group ? 0.5 : 0.02)) {
                rows[user][i] = 1.0f;
                if (in_group) own.push_back(i);
            }
        }
        if (own.empty()) own.push_back(g * items_per_group);
        const uint32_t h = own[gen() % own.size()];
        rows[user].erase(h);
        p.held_out.push_back(h);
    }
    p.train = make_csr(rows, items);
    return p;
}

// The objective by brute force, dense over all user-item pairs.
double dense_loss(const CsrMatrix& x, const FactorPair& m, const Options& opt) {
    double sum = 0;
    for (uint32_t u = 0; u < x.rows; ++u) {
        std::map<uint32_t, float> row;
        for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k) row[x.indices[k]] = x.values[k];
        for (uint32_t i = 0; i < x.cols; ++i) {
            const double s = m.users.row(u).cast<double>().dot(m.items.row(i).cast<double>());
            const auto it = row.find(i);
            const double c = it == row.end() ? 1.0 : 1.0 + double(opt.alpha) * it->second;
            const double p = it == row.end() ? 0.0 : 1.0;
            sum += c * (p - s) * (p - s);
        }
    }
    return sum + double(opt.regularization) *
                     (m.users.cast<double>().squaredNorm() + m.items.cast<double>().squaredNorm());
}

std::vector<float> scores(const recsys::Scorer& s, const Basket& b, std::optional<uint32_t> user, uint32_t items) {
    std::vector<float> out(items, 0.0f);
    s.score(b, user, out);
    return out;
}

Options small(uint32_t factors, uint32_t iterations) {
    Options o;
    o.factors = factors;
    o.iterations = iterations;
    o.regularization = 0.1f;
    o.alpha = 2.0f;
    o.regularization_exponent = 0.0f;  // plain lambda (the dense references below)
    return o;
}

}  // namespace

TEST(Als, RowSolveMatchesDenseNormalEquations) {
    // x = (Y^T C Y + lambda I)^-1 Y^T C p, with C and p dense over all items.
    std::mt19937 gen(7);
    std::normal_distribution<float> normal(0, 0.3f);
    // alpha = 0 (every confidence 1) takes the solver's shortcut.
    for (auto [f, alpha] : {std::pair{5u, 2.0f}, {8u, 2.0f}, {13u, 2.0f}, {8u, 0.0f}, {13u, 0.0f}}) {
        const uint32_t n_items = 40;
        Factors y(n_items, f);
        for (Eigen::Index k = 0; k < y.size(); ++k) y.data()[k] = normal(gen);
        const std::vector<uint32_t> items = {1, 4, 5, 9, 17, 22, 30, 39};
        const std::vector<float> weights = {1, 3, 0.5f, 2, 1, 7, 1, 0.25f};
        Options opt = small(f, 1);
        opt.alpha = alpha;
        Eigen::VectorXd c = Eigen::VectorXd::Ones(n_items), p = Eigen::VectorXd::Zero(n_items);
        for (size_t k = 0; k < items.size(); ++k) {
            c[items[k]] = 1.0 + opt.alpha * weights[k];
            p[items[k]] = 1.0;
        }
        const Eigen::MatrixXd yd = y.cast<double>();
        const Eigen::MatrixXd a = yd.transpose() * c.asDiagonal() * yd + opt.regularization * Eigen::MatrixXd::Identity(f, f);
        const Eigen::VectorXd want = a.inverse() * (yd.transpose() * c.asDiagonal() * p);

        const Eigen::VectorXf exact = solve_row_exact(y, items, weights, opt);
        // CG reaches the exact solution in f steps (in exact arithmetic).
        const Eigen::VectorXf cg = solve_row_cg(y, items, weights, opt, Eigen::VectorXf::Zero(f), 3 * f);
        for (uint32_t k = 0; k < f; ++k) {
            EXPECT_NEAR(exact[k], want[k], 1e-5 * want.norm()) << "f=" << f << " k=" << k;
            EXPECT_NEAR(cg[k], want[k], 1e-3 * want.norm()) << "f=" << f << " k=" << k;
        }
        // A few warm-started steps already get close; more steps get closer.
        const Eigen::VectorXf warm = want.cast<float>() + Eigen::VectorXf::Constant(f, 0.05f);
        const double e1 = (solve_row_cg(y, items, weights, opt, warm, 1).cast<double>() - want).norm();
        const double e3 = (solve_row_cg(y, items, weights, opt, warm, 3).cast<double>() - want).norm();
        EXPECT_LT(e3, e1);
        EXPECT_LT(e1, (warm.cast<double>() - want).norm());
    }
}

TEST(Als, EmptyRowSolvesToZero) {
    Factors y = Factors::Random(6, 4);
    Options opt = small(4, 1);
    EXPECT_EQ(solve_row_cg(y, {}, {}, opt, Eigen::VectorXf::Ones(4), 3).norm(), 0.0f);
    EXPECT_EQ(solve_row_exact(y, {}, {}, opt).norm(), 0.0f);
}

TEST(Als, LossDecreasesEveryIterationAndMatchesBruteForce) {
    const CsrMatrix x = random_matrix(40, 30, 0.2, 3);
    for (auto [cholesky, alpha] : {std::pair{false, 2.0f}, {true, 2.0f}, {false, 0.0f}}) {
        Options opt = small(6, 12);
        opt.cholesky = cholesky;
        opt.alpha = alpha;
        std::vector<double> dense, reported;
        recsys::Context ctx;
        int progress_lines = 0;
        ctx.progress = [&](const std::string& line) {
            EXPECT_EQ(line.rfind("iteration ", 0), 0u) << line;
            ++progress_lines;
        };
        fit(x, opt, ctx, [&](uint32_t, const FactorPair& m, double loss) {
            dense.push_back(dense_loss(x, m, opt));
            reported.push_back(loss);
            EXPECT_NEAR(recsys::als::loss(x, m, opt), dense.back(), 1e-6 * dense.back());
        });
        EXPECT_EQ(progress_lines, 12);
        ASSERT_EQ(dense.size(), 12u);
        for (size_t k = 0; k < dense.size(); ++k) {
            EXPECT_NEAR(reported[k], dense[k], 1e-4 * dense[k]) << "iteration " << k + 1;
            if (k > 0) {
                EXPECT_LE(dense[k], dense[k - 1] * (1 + 1e-6)) << "iteration " << k + 1 << " cholesky " << cholesky;
            }
        }
        EXPECT_LT(dense.back(), 0.9 * dense.front());
    }
}

TEST(Als, RecoversPlantedGroups) {
    const Planted p = planted(300, 5, 20, 11);
    Options opt;
    opt.factors = 8;
    opt.iterations = 15;
    opt.regularization = 0.1f;
    const auto scorer = make_scorer(fit(p.train, opt, recsys::Context{}), opt.alpha, opt.regularization);
    const uint32_t items = p.train.cols;
    int hits = 0;
    for (uint32_t u = 0; u < p.train.rows; ++u) {
        const auto s = scores(*scorer, history(p.train, u), u, items);
        // The held-out item beats every unbought item of other groups.
        bool best = true;
        for (uint32_t i = 0; i < items; ++i)
            if (i / p.items_per_group != p.group[u] && s[i] >= s[p.held_out[u]] &&
                !std::binary_search(p.train.indices.begin() + p.train.indptr[u],
                                    p.train.indices.begin() + p.train.indptr[u + 1], i))
                best = false;
        hits += best;
    }
    EXPECT_GT(hits, 0.9 * p.train.rows) << hits;
}

TEST(Als, BlockedConjugateGradientConvergesToTheExactSolves) {
    // Rows are solved 64 at a time; run to convergence, every row of every
    // block must land where the exact per-row solver puts it.
    const CsrMatrix x = random_matrix(150, 90, 0.1, 6);
    for (float alpha : {2.0f, 0.0f}) {
        Options opt = small(6, 2);
        opt.alpha = alpha;
        opt.cg_steps = 30;
        const FactorPair cg = fit(x, opt, recsys::Context{});
        opt.cholesky = true;
        const FactorPair exact = fit(x, opt, recsys::Context{});
        EXPECT_LT((cg.users - exact.users).norm(), 1e-3f * exact.users.norm()) << "alpha " << alpha;
        EXPECT_LT((cg.items - exact.items).norm(), 1e-3f * exact.items.norm()) << "alpha " << alpha;
    }
}

TEST(Als, ReproducibleAcrossRunsAndThreadCounts) {
    const CsrMatrix x = random_matrix(150, 90, 0.1, 5);
    Options opt = small(12, 4);
    auto run = [&](int threads, uint64_t seed) {
        recsys::Context ctx;
        ctx.threads = threads;
        opt.seed = seed;
        return payload(*make_scorer(fit(x, opt, ctx), opt.alpha, opt.regularization));
    };
    const auto a = run(1, 42);
    EXPECT_EQ(a, run(1, 42));
    EXPECT_EQ(a, run(2, 42));
    EXPECT_EQ(a, run(3, 42));
    EXPECT_NE(a, run(1, 43));
}

TEST(Als, FoldInOfOwnHistoryMatchesLearnedVector) {
    const CsrMatrix x = random_matrix(60, 40, 0.15, 9);
    Options opt = small(6, 300);
    opt.cholesky = true;
    const auto scorer = make_scorer(fit(x, opt, recsys::Context{}), opt.alpha, opt.regularization);
    for (uint32_t u : {0u, 7u, 31u, 59u}) {
        const Basket b = history(x, u);
        const auto known = scores(*scorer, b, u, x.cols);
        const auto folded = scores(*scorer, b, std::nullopt, x.cols);
        const float scale = *std::max_element(known.begin(), known.end());
        for (uint32_t i = 0; i < x.cols; ++i) EXPECT_NEAR(folded[i], known[i], 2e-3 * scale) << u << " " << i;
    }
}

TEST(Als, FoldInMergesDuplicatesAndIgnoresUnknownItems) {
    const CsrMatrix x = random_matrix(30, 20, 0.2, 4);
    Options opt = small(4, 5);
    const auto scorer = make_scorer(fit(x, opt, recsys::Context{}), opt.alpha, opt.regularization);
    const auto merged = scores(*scorer, Basket{{3, 5}, {2.0f, 1.0f}}, std::nullopt, x.cols);
    const auto split = scores(*scorer, Basket{{5, 3, 3, 999}, {1.0f, 1.5f, 0.5f, 1.0f}}, std::nullopt, x.cols);
    for (uint32_t i = 0; i < x.cols; ++i) EXPECT_NEAR(merged[i], split[i], 1e-6);
    const auto empty = scores(*scorer, Basket{}, std::nullopt, x.cols);
    for (float s : empty) EXPECT_EQ(s, 0.0f);
}

TEST(Als, ExplanationSumsToFoldInScore) {
    const CsrMatrix x = random_matrix(50, 35, 0.2, 6);
    Options opt = small(5, 8);
    const auto scorer = make_scorer(fit(x, opt, recsys::Context{}), opt.alpha, opt.regularization);
    const Basket anonymous{{2, 8, 9, 20}, {1.0f, 2.0f, 1.0f, 4.0f}};
    for (const Basket& b : {anonymous, history(x, 3), history(x, 17)}) {
        const auto folded = scores(*scorer, b, std::nullopt, x.cols);
        for (uint32_t item : {0u, 8u, 34u}) {
            std::vector<recsys::Contribution> parts;
            ASSERT_TRUE(scorer->explain(b, std::nullopt, item, parts));
            std::set<uint32_t> basket_items(b.items.begin(), b.items.end());
            ASSERT_EQ(parts.size(), basket_items.size());
            double sum = 0;
            for (const auto& c : parts) {
                EXPECT_TRUE(basket_items.count(c.item));
                sum += c.score;
            }
            EXPECT_NEAR(sum, folded[item], 1e-4 * (1 + std::abs(folded[item])));
            for (size_t k = 1; k < parts.size(); ++k) EXPECT_GE(parts[k - 1].score, parts[k].score);
        }
    }
}

TEST(Als, SimilarIsCosineOfItemFactors) {
    const CsrMatrix x = random_matrix(40, 25, 0.2, 8);
    Options opt = small(4, 3);
    const FactorPair m = fit(x, opt, recsys::Context{});
    const auto scorer = make_scorer(m, opt.alpha, opt.regularization);
    EXPECT_FALSE(scorer->zero_means_unknown());
    std::vector<float> out(x.cols, 0.0f);
    ASSERT_TRUE(scorer->similar(4, out));
    for (uint32_t j = 0; j < x.cols; ++j) {
        const double want = m.items.row(4).cast<double>().dot(m.items.row(j).cast<double>()) /
                            (m.items.row(4).cast<double>().norm() * m.items.row(j).cast<double>().norm());
        EXPECT_NEAR(out[j], want, 1e-5);
    }
    EXPECT_NEAR(out[4], 1.0f, 1e-6);
}

TEST(Als, PayloadRoundTripsAndRejectsCorruption) {
    const CsrMatrix x = random_matrix(20, 15, 0.3, 2);
    Options opt = small(3, 2);
    const auto scorer = make_scorer(fit(x, opt, recsys::Context{}), opt.alpha, opt.regularization);
    const auto bytes = payload(*scorer);
    EXPECT_EQ(payload(*read_whole(recsys::als::read, bytes, 20, 15)), bytes);
    auto read_with = [](const std::vector<uint8_t>& b, uint32_t users, uint32_t items) {
        return read_whole(recsys::als::read, b, users, items);
    };
    EXPECT_THROW(read_with(bytes, 21, 15), recsys::Error);
    EXPECT_THROW(read_with(bytes, 20, 16), recsys::Error);
    EXPECT_THROW(read_with(bytes, 19, 15), recsys::Error);
    EXPECT_THROW(read_with(std::vector<uint8_t>(bytes.begin(), bytes.end() - 4), 20, 15), recsys::Error);
    EXPECT_THROW(read_with(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 10), 20, 15), recsys::Error);
    auto zero_factors = bytes;
    std::fill(zero_factors.begin(), zero_factors.begin() + 4, 0);
    EXPECT_THROW(read_with(zero_factors, 20, 15), recsys::Error);
    auto nan_alpha = bytes;
    const float nan = std::nanf("");
    std::memcpy(nan_alpha.data() + 4, &nan, 4);
    EXPECT_THROW(read_with(nan_alpha, 20, 15), recsys::Error);
}

TEST(Als, ParametersAreValidated) {
    auto opts = [](const char* json) { return read_options(recsys::Params::parse_json(json)); };
    const Options d = opts("{}");
    EXPECT_EQ(d.factors, 128u);
    EXPECT_EQ(d.iterations, 15u);
    EXPECT_FLOAT_EQ(d.regularization, 10.0f);
    EXPECT_TRUE(d.binary);
    EXPECT_FALSE(opts(R"({"binary": false})").binary);
    EXPECT_FLOAT_EQ(d.alpha, 1.0f);
    EXPECT_EQ(d.seed, 42u);
    EXPECT_EQ(d.cg_steps, 3u);
    EXPECT_FALSE(d.cholesky);
    EXPECT_TRUE(opts(R"({"solver": "cholesky"})").cholesky);
    EXPECT_THROW(opts(R"({"solver": "lu"})"), recsys::Error);
    EXPECT_THROW(opts(R"({"factors": 0})"), recsys::Error);
    EXPECT_THROW(opts(R"({"alpha": -1})"), recsys::Error);
    EXPECT_THROW(opts(R"({"factor": 8})"), recsys::Error);
}

TEST(Als, CancelStopsTraining) {
    const CsrMatrix x = random_matrix(300, 100, 0.1, 1);
    recsys::Context ctx;
    int calls = 0;
    ctx.check_cancel = [&] {
        if (++calls > 3) throw recsys::Cancelled();
    };
    Options opt = small(8, 50);
    EXPECT_THROW(fit(x, opt, ctx), recsys::Cancelled);
    ctx.threads = 2;
    calls = 0;
    EXPECT_THROW(fit(x, opt, ctx), recsys::Cancelled);
}

TEST(Als, CancelMidIterationOnManyThreadsFreesEverything) {
    // Every iteration checks at least four times (each half step and each
    // Gramian): the 20th check after the first iteration comes long before
    // the last.
    const CsrMatrix x = random_matrix(3000, 400, 0.05, 2);
    stop_check::expect_iterations_cancelled(16, {1, 3, 20}, "iteration 50/",
                                            [&](const recsys::Context& ctx) { fit(x, small(32, 50), ctx); });
}

TEST(Als, OverflowingConfidenceIsAnError) {
    CsrMatrix x = random_matrix(20, 10, 0.3, 3);
    std::fill(x.values.begin(), x.values.end(), 1e38f);
    Options opt = small(4, 2);
    opt.alpha = 10;
    const recsys::Error e = recsys::expect_error([&] { fit(x, opt, recsys::Context{}); });
    EXPECT_STREQ(e.what(), "ALS confidence 1 + alpha * weight overflows: weight 1e+38 with alpha 10");
    EXPECT_NE(e.hint().find("log_weight"), std::string::npos) << e.hint();
    opt.alpha = 1;  // 1 + 1e38 is a float: accepted, then the solves overflow
    EXPECT_STREQ(recsys::expect_error([&] { fit(x, opt, recsys::Context{}); }).what(),
                 "ALS diverged: the factors became non-finite at iteration 1");
}

TEST(Als, DivergenceIsAnErrorNamingTheIteration) {
    // Confidences of 1e30 overflow the solves: nothing non-finite is kept.
    CsrMatrix x = random_matrix(40, 20, 0.3, 4);
    std::fill(x.values.begin(), x.values.end(), 1e30f);
    const recsys::Error e = recsys::expect_error([&] { fit(x, small(8, 5), recsys::Context{}); });
    EXPECT_STREQ(e.what(), "ALS diverged: the factors became non-finite at iteration 1");
    EXPECT_NE(e.hint().find("binary"), std::string::npos) << e.hint();
}

TEST(Als, MemoryLimitIsChecked) {
    const CsrMatrix x = random_matrix(100, 50, 0.1, 1);
    recsys::Context ctx;
    ctx.memory_limit_bytes = 1000;
    try {
        fit(x, small(8, 1), ctx);
        FAIL();
    } catch (const recsys::Error& e) {
        EXPECT_EQ(e.kind(), recsys::ErrorKind::ResourceLimit);
    }
}

TEST(Als, TrainsThroughTheRegistryAndSurvivesSerialisation) {
    recsys::InteractionBuilder rows;
    const CsrMatrix x = random_matrix(30, 20, 0.2, 12);
    for (uint32_t u = 0; u < x.rows; ++u)
        for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k)
            rows.add(int64_t(u), int64_t(x.indices[k]), double(x.values[k]));
    const recsys::Model m =
        recsys::train_model("als", rows, R"({"factors": 4, "iterations": 3, "alpha": 5})", recsys::Context{});
    const auto bytes = m.serialize();
    const recsys::Model back = recsys::Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.serialize(), bytes);
    const uint32_t u = *back.users.find(int64_t(3));
    EXPECT_EQ(scores(*back.scorer, back.history_of(u), u, back.n_items()),
              scores(*m.scorer, m.history_of(u), u, m.n_items()));
    EXPECT_THROW(recsys::train_model("als", rows, R"({"factor": 4})", recsys::Context{}), recsys::Error);
}

// The batch path scores a block of users item tile by item tile; every
// recommendation must equal the per-user path's, bit for bit.
TEST(Als, BatchRecommendationsEqualPerUser) {
    recsys::InteractionBuilder rows;
    const CsrMatrix x = random_matrix(90, 1300, 0.02, 5);  // more items than one tile
    for (uint32_t u = 0; u < x.rows; ++u)
        for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k)
            rows.add(int64_t(u), int64_t(x.indices[k]), double(x.values[k]));
    const recsys::Model m = recsys::train_model("als", rows, R"({"factors": 8, "iterations": 2})", recsys::Context{});
    std::vector<uint32_t> users(m.n_users());
    std::iota(users.begin(), users.end(), 0u);
    recsys::RecommendOptions options;
    options.k = 20;
    recsys::Context ctx;
    ctx.threads = 2;
    size_t checked = 0;
    recsys::recommend_all(m, users, options, ctx, [&](uint32_t user, std::span<const recsys::Recommendation> recs) {
        const auto single = recsys::recommend_user(m, user, options);
        ASSERT_EQ(single.size(), recs.size());
        for (size_t i = 0; i < recs.size(); ++i) {
            EXPECT_EQ(single[i].item, recs[i].item);
            EXPECT_EQ(single[i].score, recs[i].score);
        }
        ++checked;
    }, 7);
    EXPECT_EQ(checked, users.size());
}

TEST(Als, FrequencyScaledRegularisationMatchesBruteForceNormalEquations) {
    // lambda_r = scale n_r^nu, n_r = (other side's size) + alpha (row's weight
    // sum), scale = lambda (|U| + |I|) / sum over all rows of n_r^nu. The
    // item side is solved last, against the final user factors: each item's
    // row must be the dense solve (X^T C_i X + lambda_i I)^-1 X^T C_i p_i.
    const uint32_t n_users = 30, n_items = 20;
    const CsrMatrix x = random_matrix(n_users, n_items, 0.25, 5);
    const CsrMatrix xt = x.transpose();
    for (float nu : {0.5f, 1.0f, 2.0f}) {
        for (bool cholesky : {true, false}) {
            Options opt = small(5, 3);
            opt.regularization = 2.0f;
            opt.regularization_exponent = nu;
            opt.cholesky = cholesky;
            opt.cg_steps = 40;  // CG: converged to the exact solve
            auto total = [&](const CsrMatrix& m, uint32_t r) {
                double w = 0;
                for (float v : m.row_values(r)) w += v;
                return double(m.cols) + opt.alpha * w;
            };
            double sum = 0;
            for (uint32_t u = 0; u < n_users; ++u) sum += std::pow(total(x, u), nu);
            for (uint32_t i = 0; i < n_items; ++i) sum += std::pow(total(xt, i), nu);
            const double scale = opt.regularization * (n_users + n_items) / sum;
            const FactorPair m = fit(x, opt, recsys::Context{});
            EXPECT_NEAR(m.regularization.scale, scale, 1e-9 * scale);
            EXPECT_EQ(m.regularization.exponent, nu);
            const Eigen::MatrixXd xd = m.users.cast<double>();
            for (uint32_t i = 0; i < n_items; ++i) {
                Eigen::VectorXd c = Eigen::VectorXd::Ones(n_users), p = Eigen::VectorXd::Zero(n_users);
                for (uint64_t k = xt.indptr[i]; k < xt.indptr[i + 1]; ++k) {
                    c[xt.indices[k]] = 1.0 + opt.alpha * xt.values[k];
                    p[xt.indices[k]] = 1.0;
                }
                const double lambda_i = scale * std::pow(total(xt, i), nu);
                const Eigen::MatrixXd a =
                    xd.transpose() * c.asDiagonal() * xd + lambda_i * Eigen::MatrixXd::Identity(5, 5);
                const Eigen::VectorXd want = a.ldlt().solve(xd.transpose() * c.asDiagonal() * p);
                const double tolerance = (cholesky ? 1e-5 : 1e-3) * (want.norm() + 1e-3);
                for (int k = 0; k < 5; ++k)
                    EXPECT_NEAR(m.items(i, k), want[k], tolerance) << "nu " << nu << " item " << i << " k " << k;
            }
            // The objective with per-row lambdas, by brute force.
            double penalty = 0;
            for (uint32_t u = 0; u < n_users; ++u)
                penalty += scale * std::pow(total(x, u), nu) * m.users.row(u).cast<double>().squaredNorm();
            for (uint32_t i = 0; i < n_items; ++i)
                penalty += scale * std::pow(total(xt, i), nu) * m.items.row(i).cast<double>().squaredNorm();
            Options plain = opt;
            plain.regularization = 0.0f;
            plain.regularization_exponent = 0.0f;
            const double want_loss = dense_loss(x, m, plain) + penalty;
            EXPECT_NEAR(recsys::als::loss(x, m, opt), want_loss, 1e-6 * want_loss);
            // Fold-in uses the basket's own lambda: a user's history folds in
            // to the dense solve against the item factors with lambda_u.
            const auto scorer = make_scorer(m, opt.alpha, opt.regularization);
            const uint32_t u = 3;
            const Eigen::MatrixXd yd = m.items.cast<double>();
            Eigen::VectorXd c = Eigen::VectorXd::Ones(n_items), p = Eigen::VectorXd::Zero(n_items);
            for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k) {
                c[x.indices[k]] = 1.0 + opt.alpha * x.values[k];
                p[x.indices[k]] = 1.0;
            }
            const double lambda_u = scale * std::pow(total(x, u), nu);
            const Eigen::VectorXd xu = (yd.transpose() * c.asDiagonal() * yd + lambda_u * Eigen::MatrixXd::Identity(5, 5))
                                           .ldlt()
                                           .solve(yd.transpose() * c.asDiagonal() * p);
            const std::vector<float> got = scores(*scorer, history(x, u), std::nullopt, n_items);
            const Eigen::VectorXd want_scores = yd * xu;
            for (uint32_t i = 0; i < n_items; ++i) EXPECT_NEAR(got[i], want_scores[i], 1e-4);
            // The scale survives serialisation.
            const auto bytes = payload(*scorer);
            EXPECT_EQ(payload(*read_whole(recsys::als::read, bytes, n_users, n_items)), bytes);
        }
    }
    // nu = 0 (the default) is plain lambda for every row.
    Options opt = small(5, 2);
    EXPECT_EQ(read_options(recsys::Params::parse_json("{}")).regularization_exponent, 0.0f);
    const FactorPair m = fit(x, opt, recsys::Context{});
    EXPECT_EQ(m.regularization.exponent, 0.0f);
    EXPECT_EQ(m.regularization.scale, double(opt.regularization));
    EXPECT_THROW(read_options(recsys::Params::parse_json(R"({"regularization_exponent": -1})")), recsys::Error);
}

TEST(Als, ModelsWithoutTheRegularisationTailReadAsPlainLambda) {
    const CsrMatrix x = random_matrix(20, 15, 0.3, 4);
    Options opt = small(3, 2);
    const auto bytes = payload(*make_scorer(fit(x, opt, recsys::Context{}), opt.alpha, opt.regularization));
    const std::vector<uint8_t> old(bytes.begin(), bytes.end() - 12);  // 0.1.0 wrote no exponent and scale
    EXPECT_EQ(payload(*read_whole(recsys::als::read, old, 20, 15)), bytes);
}
