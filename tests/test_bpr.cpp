#include "bpr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "errors.h"
#include "expect_error.h"
#include "scorer_bytes.h"
#include "stop_check.h"

using recsys::Basket;
using recsys::CsrMatrix;
using namespace recsys::bpr;
using namespace scorer_bytes;

namespace {

// Users in `groups` clusters, each buying mostly within its own block of items.
CsrMatrix planted(uint32_t users, uint32_t groups, uint32_t items_per_group, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(0, 1);
    CsrMatrix m;
    m.rows = users;
    m.cols = groups * items_per_group;
    for (uint32_t user = 0; user < users; ++user) {
        for (uint32_t i = 0; i < m.cols; ++i) {
            if (u(gen) < (i / items_per_group == user % groups ? 0.4 : 0.02)) {
                m.indices.push_back(i);
                m.values.push_back(1.0f);
            }
        }
        m.indptr.push_back(m.indices.size());
    }
    return m;
}

// Mean over users of the share of (bought, not bought) pairs ranked right,
// by brute force over all pairs.
double training_auc(const recsys::Scorer& s, const CsrMatrix& x, bool fold_in) {
    double total = 0;
    int users = 0;
    for (uint32_t u = 0; u < x.rows; ++u) {
        const Basket b = history(x, u);
        if (b.items.empty() || b.items.size() == x.cols) continue;
        std::vector<float> score(x.cols, 0.0f);
        s.score(b, fold_in ? std::nullopt : std::optional<uint32_t>(u), score);
        std::vector<bool> bought(x.cols, false);
        for (uint32_t i : b.items) bought[i] = true;
        double right = 0, pairs = 0;
        for (uint32_t i = 0; i < x.cols; ++i)
            for (uint32_t j = 0; j < x.cols; ++j)
                if (bought[i] && !bought[j]) {
                    right += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
                    pairs += 1;
                }
        total += right / pairs;
        ++users;
    }
    return total / users;
}

Options small() {
    Options o;
    o.factors = 8;
    o.iterations = 60;
    o.learning_rate = 0.05f;
    return o;
}

}  // namespace

TEST(Bpr, LearnsPlantedGroups) {
    const CsrMatrix x = planted(200, 4, 25, 1);
    std::vector<EpochStats> epochs;
    const Options opt = small();
    const auto scorer = make_scorer(fit(x, opt, recsys::Context{}, [&](uint32_t, const EpochStats& s) {
        epochs.push_back(s);
    }), opt);
    ASSERT_EQ(epochs.size(), opt.iterations);
    EXPECT_GT(epochs.back().auc, epochs.front().auc);
    EXPECT_LT(epochs.back().loss, epochs.front().loss);
    EXPECT_GT(epochs.back().auc, 0.85);
    EXPECT_GT(training_auc(*scorer, x, false), 0.9);
    // Folding a user's history in ranks almost as well as their own vector.
    EXPECT_GT(training_auc(*scorer, x, true), 0.85);
}

TEST(Bpr, LearnsPlantedGroupsInStrata) {
    const CsrMatrix x = planted(200, 4, 25, 1);
    Options opt = small();
    opt.min_group_items = 12;  // 100 items: 8 groups of 12 or 13
    opt.factors = 13;          // a vector of 8 and a scalar tail in every step
    double last_auc = 0;
    recsys::Context ctx;
    ctx.threads = 2;
    const auto scorer = make_scorer(fit(x, opt, ctx, [&](uint32_t, const EpochStats& s) { last_auc = s.auc; }), opt);
    EXPECT_GT(last_auc, 0.85);
    EXPECT_GT(training_auc(*scorer, x, false), 0.9);
}

TEST(Bpr, ThreadCountDoesNotChangeTheModel) {
    const CsrMatrix x = planted(1500, 4, 25, 2);
    Options opt = small();
    opt.iterations = 3;
    opt.min_group_items = 4;  // 8 groups
    auto run = [&](int threads) {
        recsys::Context ctx;
        ctx.threads = threads;
        return payload(*make_scorer(fit(x, opt, ctx), opt));
    };
    const auto one = run(1);
    EXPECT_EQ(run(2), one);
    EXPECT_EQ(run(3), one);
    opt.min_group_items = 1000;  // one group: other strata, another model
    EXPECT_NE(run(1), one);
}

TEST(Bpr, InterleavedStepsGiveTheSameModelAsOneAfterTheOther) {
    const CsrMatrix x = planted(400, 4, 25, 5);
    Options opt = small();
    opt.iterations = 5;
    for (uint32_t factors : {8u, 13u}) {  // 13: a vector of 8 and a scalar tail
        opt.factors = factors;
        opt.interleave_steps = true;
        const auto interleaved = payload(*make_scorer(fit(x, opt, recsys::Context{}), opt));
        opt.interleave_steps = false;
        EXPECT_EQ(payload(*make_scorer(fit(x, opt, recsys::Context{}), opt)), interleaved);
    }
}

TEST(Bpr, OneThreadIsReproducible) {
    const CsrMatrix x = planted(60, 3, 10, 3);
    Options opt = small();
    opt.iterations = 5;
    auto run = [&](uint64_t seed) {
        opt.seed = seed;
        return payload(*make_scorer(fit(x, opt, recsys::Context{}), opt));
    };
    EXPECT_EQ(run(42), run(42));
    EXPECT_NE(run(42), run(7));
}

TEST(Bpr, PurchaseBitmapAndSearchGiveTheSameModel) {
    const CsrMatrix x = planted(300, 4, 15, 4);
    Options opt = small();
    opt.iterations = 5;
    for (uint32_t min_group_items : {1000u, 7u}) {  // 1 group, then 8
        opt.min_group_items = min_group_items;
        opt.max_bitmap_bytes = uint64_t(64) << 20;
        const auto with_bitmap = payload(*make_scorer(fit(x, opt, recsys::Context{}), opt));
        opt.max_bitmap_bytes = 0;  // search each user's items instead
        EXPECT_EQ(payload(*make_scorer(fit(x, opt, recsys::Context{}), opt)), with_bitmap);
    }
}

TEST(Bpr, ScoresAreDotPlusBiasAndFoldInIsDeterministic) {
    const CsrMatrix x = planted(40, 2, 10, 4);
    Options opt = small();
    opt.iterations = 10;
    const BprFactors m = fit(x, opt, recsys::Context{});
    const auto scorer = make_scorer(m, opt);
    EXPECT_FALSE(scorer->zero_means_unknown());
    std::vector<float> out(x.cols, 0.0f);
    scorer->score(history(x, 5), 5u, out);
    for (uint32_t i = 0; i < x.cols; ++i) EXPECT_NEAR(out[i], m.users.row(5).dot(m.items.row(i)) + m.bias[i], 1e-5);
    const Basket b{{1, 3, 3, 999}, {1, 1, 1, 1}};
    std::vector<float> a(x.cols, 0.0f), c(x.cols, 0.0f);
    scorer->score(b, std::nullopt, a);
    scorer->score(b, std::nullopt, c);
    EXPECT_EQ(a, c);
    // An empty basket still gets finite scores (the biases, nearly).
    std::vector<float> e(x.cols, 0.0f);
    scorer->score(Basket{}, std::nullopt, e);
    for (float s : e) EXPECT_TRUE(std::isfinite(s));
}

TEST(Bpr, SimilarIsCosineWithoutBias) {
    const CsrMatrix x = planted(40, 2, 10, 5);
    Options opt = small();
    opt.iterations = 5;
    const BprFactors m = fit(x, opt, recsys::Context{});
    const auto scorer = make_scorer(m, opt);
    std::vector<float> out(x.cols, 0.0f);
    ASSERT_TRUE(scorer->similar(3, out));
    for (uint32_t j = 0; j < x.cols; ++j)
        EXPECT_NEAR(out[j], m.items.row(3).dot(m.items.row(j)) / (m.items.row(3).norm() * m.items.row(j).norm()),
                    1e-5);
}

TEST(Bpr, PayloadRoundTripsAndRejectsCorruption) {
    const CsrMatrix x = planted(30, 3, 5, 6);
    Options opt = small();
    opt.iterations = 2;
    const auto bytes = payload(*make_scorer(fit(x, opt, recsys::Context{}), opt));
    auto read_with = [](const std::vector<uint8_t>& b, uint32_t users, uint32_t items) {
        return payload(*read_whole(recsys::bpr::read, b, users, items));
    };
    EXPECT_EQ(read_with(bytes, 30, 15), bytes);
    EXPECT_THROW(read_with(bytes, 31, 15), recsys::Error);
    EXPECT_THROW(read_with(bytes, 30, 14), recsys::Error);
    EXPECT_THROW(read_with(bytes, 29, 15), recsys::Error);
    EXPECT_THROW(read_with(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1), 30, 15), recsys::Error);
    auto bad = bytes;
    const uint32_t huge = 1u << 30;
    std::memcpy(bad.data(), &huge, 4);
    EXPECT_THROW(read_with(bad, 30, 15), recsys::Error);
}

TEST(Bpr, ParametersAreValidated) {
    auto opts = [](const char* json) { return read_options(recsys::Params::parse_json(json)); };
    const Options d = opts("{}");
    EXPECT_EQ(d.factors, 64u);
    EXPECT_EQ(d.iterations, 100u);
    EXPECT_FLOAT_EQ(d.learning_rate, 0.01f);
    EXPECT_FLOAT_EQ(d.regularization, 0.001f);
    EXPECT_EQ(d.seed, 42u);
    EXPECT_THROW(opts(R"({"learning_rate": 0})"), recsys::Error);
    EXPECT_THROW(opts(R"({"alpha": 1})"), recsys::Error);
}

TEST(Bpr, CancelStopsTraining) {
    const CsrMatrix x = planted(100, 4, 25, 7);
    recsys::Context ctx;
    int calls = 0;
    ctx.check_cancel = [&] {
        if (++calls > 2) throw recsys::Cancelled();
    };
    EXPECT_THROW(fit(x, small(), ctx), recsys::Cancelled);
    // with strata on two threads: the calling thread checks, the other stops
    Options opt = small();
    opt.min_group_items = 4;
    ctx.threads = 2;
    calls = 0;
    EXPECT_THROW(fit(x, opt, ctx), recsys::Cancelled);
    EXPECT_EQ(calls, 3);
}

TEST(Bpr, CancelMidEpochOnManyThreadsFreesEverything) {
    const CsrMatrix x = planted(2000, 4, 50, 9);
    Options opt = small();
    opt.min_group_items = 4;  // 8 groups of users and items: strata on 8 threads
    // Every epoch checks at least ten times (its start and each parallel loop).
    stop_check::expect_iterations_cancelled(8, {1, 3, 10}, "iteration 3/",
                                            [&](const recsys::Context& ctx) { fit(x, opt, ctx); });
}

TEST(Bpr, DivergenceIsAnErrorNamingTheIteration) {
    const CsrMatrix x = planted(100, 4, 25, 7);
    Options opt = small();
    opt.learning_rate = 10;
    opt.regularization = 1000;  // each step multiplies a factor by 1 - 10 x 1000
    const recsys::Error e = recsys::expect_error([&] { fit(x, opt, recsys::Context{}); });
    EXPECT_STREQ(e.what(), "BPR diverged: the factors became non-finite at iteration 1");
    EXPECT_NE(e.hint().find("learning_rate"), std::string::npos) << e.hint();
}

TEST(Bpr, TrainsThroughTheRegistryAndSurvivesSerialisation) {
    recsys::InteractionBuilder rows;
    const CsrMatrix x = planted(30, 3, 6, 8);
    for (uint32_t u = 0; u < x.rows; ++u)
        for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k) rows.add(int64_t(u), int64_t(x.indices[k]), 1.0);
    const recsys::Model m =
        recsys::train_model("bpr", rows, R"({"factors": 4, "iterations": 3})", recsys::Context{});
    const auto bytes = m.serialize();
    const recsys::Model back = recsys::Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.serialize(), bytes);
    std::vector<float> a(m.n_items(), 0.0f), b(m.n_items(), 0.0f);
    m.scorer->score(m.history_of(2), std::nullopt, a);
    back.scorer->score(back.history_of(2), std::nullopt, b);
    EXPECT_EQ(a, b);
}

namespace {

// Pearson's chi-square statistic of `draws` draws from `table` against
// probabilities proportional to `weights` (over indexes of positive weight;
// an index of weight 0 must never be drawn).
double chi_square(const AliasTable& table, const std::vector<double>& weights, uint64_t draws, uint64_t seed) {
    std::vector<uint64_t> seen(weights.size(), 0);
    recsys::SplitMix64 rng(seed);
    for (uint64_t n = 0; n < draws; ++n) ++seen[table.draw(rng)];
    double sum = 0;
    for (double w : weights) sum += w;
    double chi = 0;
    for (size_t k = 0; k < weights.size(); ++k) {
        if (weights[k] == 0) {
            EXPECT_EQ(seen[k], 0u) << "index " << k << " has weight 0";
            continue;
        }
        const double expected = double(draws) * weights[k] / sum;
        chi += (double(seen[k]) - expected) * (double(seen[k]) - expected) / expected;
    }
    return chi;
}

}  // namespace

TEST(Bpr, AliasTableDrawsInProportionToWeights) {
    // Degrees of freedom: positive weights - 1. The bounds are the 99.99%
    // quantiles of chi-square (df 7: 29.9; df 99: 163); the draws are
    // seeded, so the test is deterministic.
    const std::vector<double> weights{1, 2, 0, 5, 10, 100, 3, 0.5, 7};
    EXPECT_LT(chi_square(AliasTable(weights), weights, 1000000, 1), 29.9);
    std::vector<double> many(100);
    for (size_t k = 0; k < many.size(); ++k) many[k] = double((k * 37) % 23 + 1);
    EXPECT_LT(chi_square(AliasTable(many), many, 2000000, 2), 163);
    // All zero: uniform.
    const std::vector<double> zeros(5, 0.0), ones(5, 1.0);
    EXPECT_LT(chi_square(AliasTable(zeros), ones, 100000, 3), 18.5);  // df 4
    // One index: always it.
    recsys::SplitMix64 rng(4);
    EXPECT_EQ(AliasTable(std::vector<double>{3.0}).draw(rng), 0u);
}

TEST(Bpr, PopularitySamplingFollowsTheBuyersOfTheTrainingData) {
    const CsrMatrix x = planted(200, 4, 25, 11);
    std::vector<double> buyers(x.cols, 0.0);
    for (uint32_t i : x.indices) buyers[i] += 1;
    Options opt = small();
    opt.iterations = 2;
    opt.popularity_exponent = 1;
    const BprFactors popular = fit(x, opt, recsys::Context{});
    EXPECT_EQ(popular.sampling_weights, buyers);  // the weights training and fold-in draw negatives by
    EXPECT_LT(chi_square(AliasTable(popular.sampling_weights), buyers, 1000000, 5), 148.2);  // df 99
    opt.popularity_exponent = 0.5;
    const BprFactors root = fit(x, opt, recsys::Context{});
    ASSERT_EQ(root.sampling_weights.size(), buyers.size());
    for (size_t i = 0; i < buyers.size(); ++i) EXPECT_DOUBLE_EQ(root.sampling_weights[i], std::sqrt(buyers[i]));
    // The weights (and so fold-in's sampling) survive serialisation.
    const auto bytes = payload(*make_scorer(root, opt));
    EXPECT_EQ(payload(*read_whole(recsys::bpr::read, bytes, x.rows, x.cols)), bytes);
    // Uniform is still reachable, and is another model.
    const Options uniform_opt = read_options(recsys::Params::parse_json(R"({"negative_sampling": "uniform"})"));
    EXPECT_FALSE(uniform_opt.popularity_sampling);
    EXPECT_TRUE(read_options(recsys::Params::parse_json("{}")).popularity_sampling);
    EXPECT_THROW(read_options(recsys::Params::parse_json(R"({"negative_sampling": "zipf"})")), recsys::Error);
    opt.popularity_sampling = false;
    const BprFactors uniform = fit(x, opt, recsys::Context{});
    EXPECT_TRUE(uniform.sampling_weights.empty());
    EXPECT_NE(payload(*make_scorer(uniform, opt)), payload(*make_scorer(popular, small())));
    EXPECT_FLOAT_EQ(read_options(recsys::Params::parse_json("{}")).popularity_exponent, 0.25f);
    EXPECT_THROW(read_options(recsys::Params::parse_json(R"({"popularity_exponent": 2})")), recsys::Error);
}

TEST(Bpr, ModelsWithoutTheSamplingTailReadAsUniform) {
    // A model as 0.1.0 wrote it: today's uniform payload without the final
    // sampling byte. It reads, serves, and writes back with the byte.
    const CsrMatrix x = planted(30, 3, 5, 12);
    Options opt = small();
    opt.iterations = 2;
    opt.popularity_sampling = false;
    const auto bytes = payload(*make_scorer(fit(x, opt, recsys::Context{}), opt));
    ASSERT_EQ(bytes.back(), 0u);
    const std::vector<uint8_t> old(bytes.begin(), bytes.end() - 1);
    const auto s = read_whole(recsys::bpr::read, old, 30, 15);
    EXPECT_EQ(payload(*s), bytes);
    std::vector<float> a(15, 0.0f);
    s->score(Basket{{1, 2}, {1, 1}}, std::nullopt, a);
    for (float v : a) EXPECT_TRUE(std::isfinite(v));
    // A sampling byte other than 0 or 1 is corruption.
    auto bad = bytes;
    bad.back() = 2;
    EXPECT_THROW(read_whole(recsys::bpr::read, bad, 30, 15), recsys::Error);
}
