// Blends against a brute-force reference: each component scored alone, its
// scores min-max normalised over the user's non-history items by naive loops,
// and summed with the weights.
#include "blend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "batch.h"
#include "context.h"
#include "errors.h"
#include "expect_error.h"
#include "recommend.h"

using namespace recsys;

namespace {

InteractionBuilder make_rows(uint32_t users, uint32_t items, double density, uint32_t seed) {
    InteractionBuilder rows;
    std::mt19937 rng(seed);
    std::bernoulli_distribution present(density);
    for (uint32_t u = 0; u < users; ++u)
        for (uint32_t i = 0; i < items; ++i)
            if (present(rng)) rows.add(int64_t(u), int64_t(i), 1.0 + double(rng() % 3));
    return rows;
}

std::shared_ptr<const Model> train(const InteractionBuilder& rows, const char* algorithm, const char* params = "{}") {
    return std::make_shared<const Model>(train_model(algorithm, rows, params, Context{}));
}

// The brute-force blended scores of one user.
std::vector<double> reference(const std::vector<std::shared_ptr<const Model>>& parts, const std::vector<double>& w,
                              uint32_t user) {
    const Model& m0 = *parts[0];
    Basket h = m0.history_of(user);
    std::vector<double> out(m0.n_items(), 0.0);
    double sum = 0;
    for (double x : w) sum += x;
    for (size_t c = 0; c < parts.size(); ++c) {
        std::vector<float> s(m0.n_items(), 0.0f);
        parts[c]->scorer->score(h, user, s);
        double lo = INFINITY, hi = -INFINITY;
        for (uint32_t i = 0; i < s.size(); ++i) {
            if (std::find(h.items.begin(), h.items.end(), i) != h.items.end()) continue;
            lo = std::min(lo, double(s[i]));
            hi = std::max(hi, double(s[i]));
        }
        if (!(hi > lo)) continue;
        for (uint32_t i = 0; i < s.size(); ++i) out[i] += w[c] / sum * (s[i] - lo) / (hi - lo);
    }
    return out;
}

struct Fixture : ::testing::Test {
    InteractionBuilder rows = make_rows(40, 30, 0.2, 7);
    std::shared_ptr<const Model> knn = train(rows, "itemknn");
    std::shared_ptr<const Model> als = train(rows, "als", "{\"factors\": 4, \"iterations\": 3}");
    std::shared_ptr<const Model> ease = train(rows, "ease", "{\"lambda\": 10}");
};

TEST_F(Fixture, ScoresAreTheNormalisedWeightedSum) {
    const std::vector<double> w = {3, 2, 1};
    Model b = blend::make({knn, als, ease}, w);
    EXPECT_EQ(b.algorithm, "blend");
    EXPECT_EQ(b.params_json,
              "{\"algorithm_1\": \"itemknn\", \"algorithm_2\": \"als\", \"algorithm_3\": \"ease\", \"normalisation\": "
              "\"min-max\", \"weight_1\": 0.5, \"weight_2\": 0.3333333333333333, \"weight_3\": 0.16666666666666666}");
    std::vector<uint32_t> users;
    for (uint32_t u = 0; u < b.n_users(); ++u) {
        users.push_back(u);
        std::vector<float> s(b.n_items(), 0.0f);
        b.scorer->score(b.history_of(u), u, s);
        auto ref = reference({knn, als, ease}, w, u);
        for (uint32_t i = 0; i < b.n_items(); ++i) ASSERT_NEAR(s[i], ref[i], 1e-5) << "user " << u << " item " << i;
        // The shares add up to the score, each its weight times a value in [0, 1].
        for (uint32_t i = 0; i < b.n_items(); ++i) {
            auto sh = blend::shares(b, b.history_of(u), u, i);
            ASSERT_EQ(sh.size(), 3u);
            double total = 0;
            for (const auto& x : sh) total += x.share;
            ASSERT_NEAR(total, ref[i], 1e-5);
        }
    }
    // The batch path (score_block, one matrix product per component) ranks
    // exactly as the per-user path.
    RecommendOptions options;
    options.k = 5;
    size_t seen = 0;
    recommend_all(b, users, options, Context{}, [&](uint32_t u, std::span<const Recommendation> recs) {
        auto one = recommend_user(b, u, options);
        ASSERT_EQ(one.size(), recs.size());
        for (size_t r = 0; r < recs.size(); ++r) {
            EXPECT_EQ(one[r].item, recs[r].item);
            EXPECT_FLOAT_EQ(one[r].score, recs[r].score);
        }
        ++seen;
    });
    EXPECT_EQ(seen, users.size());
}

TEST_F(Fixture, WeightOneZeroRanksAsTheFirstComponent) {
    Model b = blend::make({ease, knn}, {1, 0});
    RecommendOptions options;
    options.k = 10;
    for (uint32_t u = 0; u < b.n_users(); ++u) {
        auto mine = recommend_user(b, u, options), first = recommend_user(*ease, u, options);
        ASSERT_EQ(mine.size(), first.size());
        for (size_t r = 0; r < mine.size(); ++r) EXPECT_EQ(mine[r].item, first[r].item) << "user " << u << " rank " << r;
    }
}

TEST_F(Fixture, SerialisationRoundTrips) {
    Model b = blend::make({knn, ease}, {0.7, 0.3});
    auto bytes = b.serialize();
    Model back = Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.algorithm, "blend");
    EXPECT_EQ(back.params_json, b.params_json);
    EXPECT_EQ(back.serialize(), bytes);
    auto parts = blend::components(back);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].first->algorithm, "itemknn");
    EXPECT_DOUBLE_EQ(parts[1].second, 0.3);
    for (uint32_t u = 0; u < b.n_users(); ++u) {
        std::vector<float> s1(b.n_items(), 0.0f), s2(b.n_items(), 0.0f);
        b.scorer->score(b.history_of(u), u, s1);
        back.scorer->score(back.history_of(u), u, s2);
        EXPECT_EQ(s1, s2);
    }
    // A flipped byte inside a component is caught by the outer checksum; one
    // re-sealed is caught by the component's own.
    auto broken = bytes;
    broken[bytes.size() / 2] ^= 1;
    expect_error([&] { Model::deserialize(broken.data(), broken.size()); }, ErrorKind::Corrupted);
    Model::seal(broken.data(), broken.size());
    expect_error([&] { Model::deserialize(broken.data(), broken.size()); }, ErrorKind::Corrupted);
}

// A blend's payload, written by hand, with a blend among its components:
// blend::make refuses to build one, and decoding refuses to read one.
class NestedPayload : public Scorer {
public:
    explicit NestedPayload(std::vector<const Model*> parts) : parts_(std::move(parts)) {}
    void score(const Basket&, std::optional<uint32_t>, std::span<float>) const override {}
    void write(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(parts_.size()));
        for (const Model* m : parts_) {
            w.put<double>(1.0 / double(parts_.size()));
            w.put_padding_for_array(64);
            w.put_array(m->serialize());
        }
    }

private:
    std::vector<const Model*> parts_;
};

TEST_F(Fixture, BlendInsideABlendIsCorrupt) {
    Model inner = blend::make({knn, ease}, {1, 1});
    auto wrap = [&](std::vector<const Model*> parts) {
        Model m;
        m.algorithm = "blend";
        m.params_json = inner.params_json;
        m.users = knn->users;
        m.items = knn->items;
        m.history = knn->history;
        m.popularity = knn->popularity;
        m.scorer = std::make_unique<NestedPayload>(std::move(parts));
        return m.serialize();
    };
    auto plain = wrap({knn.get(), ease.get()});  // the format itself, written by hand, reads back
    EXPECT_EQ(blend::components(Model::deserialize(plain.data(), plain.size())).size(), 2u);
    auto nested = wrap({knn.get(), &inner});
    auto e = expect_error([&] { Model::deserialize(nested.data(), nested.size()); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "model is corrupted (a blend inside a blend)");
    // Decoding is not left half-way: a plain blend still reads afterwards.
    EXPECT_EQ(blend::components(Model::deserialize(plain.data(), plain.size())).size(), 2u);
}

TEST_F(Fixture, BadInput) {
    auto e = expect_error([&] { blend::make({knn}, {1}); });
    EXPECT_STREQ(e.what(), "a blend needs 2 to 8 models, got 1");
    e = expect_error([&] { blend::make({knn, ease}, {1}); });
    EXPECT_STREQ(e.what(), "a blend needs one weight per model: 2 models, 1 weights");
    e = expect_error([&] { blend::make({knn, ease}, {1, -0.5}); });
    EXPECT_STREQ(e.what(), "blend weights must be finite and non-negative, got -0.5");
    e = expect_error([&] { blend::make({knn, ease}, {0, 0}); });
    EXPECT_STREQ(e.what(), "blend weights must not all be zero");
    e = expect_error([&] { blend::make({knn, ease}, {NAN, 1}); });
    auto other = train(make_rows(40, 30, 0.2, 8), "itemknn");
    e = expect_error([&] { blend::make({knn, other}, {1, 1}); });
    EXPECT_STREQ(e.what(),
                 "blended models must be trained on the same rows, but model 2 (itemknn) has other users, items or "
                 "histories than model 1 (itemknn)");
    auto b = std::make_shared<const Model>(blend::make({knn, ease}, {1, 1}));
    e = expect_error([&] { blend::make({knn, b}, {1, 1}); });
    EXPECT_STREQ(e.what(), "a blend cannot contain another blend (model 2)");
    e = expect_error([&] { blend::shares(*knn, knn->history_of(0), 0u, 0); });
    EXPECT_STREQ(e.what(), "model is a itemknn model, not a blend");
    e = expect_error([&] { explain(*b, b->history_of(0), 0u, 0); });
    EXPECT_STREQ(e.what(), "explain_recommendation is not available for blend models");
}

// Forward selection against brute force. Enough items that the pools
// (each candidate's top 64) leave candidates out, so the bound and the
// re-scoring both run; a neighbourhood-only library exercises the popularity
// fill.
class BlendSelect : public ::testing::TestWithParam<std::tuple<double, size_t>> {};

TestSet make_test(const Model& m) {
    // A few random non-history items per user; one user with none (skipped),
    // one unknown user, and items the model has never seen.
    std::mt19937 rng(3);
    TestSet test;
    for (uint32_t u = 0; u < m.n_users(); ++u) {
        std::vector<uint32_t> items;
        if (u != 5) {
            auto h = m.history_of(u).items;
            for (int j = 0; j < 4; ++j) {
                const uint32_t i = rng() % m.n_items();
                if (std::find(h.begin(), h.end(), i) == h.end()) items.push_back(i);
            }
            items.push_back(m.n_items() + u);
        }
        test.add(u, items);
    }
    const std::vector<uint32_t> unknown_items = {0, 1, 2};
    test.add(std::nullopt, unknown_items);
    return test;
}

double ndcg_of(const std::vector<std::shared_ptr<const Model>>& comps, const std::vector<double>& w, const TestSet& test,
               size_t k, EvaluationResult* out = nullptr) {
    std::vector<std::shared_ptr<const Model>> used;
    std::vector<double> used_w;
    for (size_t c = 0; c < comps.size(); ++c)
        if (w[c] > 0) used.push_back(comps[c]), used_w.push_back(w[c]);
    EvaluationResult r = used.size() == 1 ? evaluate(*used[0], test, k, Context{})
                                          : evaluate(blend::make(used, used_w), test, k, Context{});
    if (out) *out = r;
    return *r.all.ndcg;
}

// Every selection: its reported metrics are exactly evaluate() of the blend
// its weights make, and it never scores below the start.
TEST_P(BlendSelect, EqualsEvaluateOfItsBlendAndBeatsTheStart) {
    const auto [density, pool] = GetParam();
    InteractionBuilder rows = make_rows(60, 400, density, 11);
    auto knn = train(rows, "itemknn");
    auto rp3 = train(rows, "rp3beta");
    auto ease = train(rows, "ease", "{\"lambda\": 10}");
    auto als = train(rows, "als", "{\"factors\": 4, \"iterations\": 3}");
    auto pop = train(rows, "popularity");
    const TestSet test = make_test(*knn);
    Context ctx;
    ctx.threads = 2;
    const size_t k = 5;
    size_t blends = 0;
    for (const auto& comps : {std::vector<std::shared_ptr<const Model>>{ease, knn, rp3, als, pop},
                              std::vector<std::shared_ptr<const Model>>{knn, rp3},
                              std::vector<std::shared_ptr<const Model>>{als, ease, knn}}) {
        const double start = ndcg_of(comps, std::vector<double>{1, 0, 0, 0, 0}, test, k);
        blend::SelectOptions options;
        options.pool_per_component = pool;
        const auto sel = blend::select_forward(comps, start, test, k, &RankingMetricsResult::ndcg, options, ctx);
        ASSERT_EQ(sel.weights.size(), comps.size());
        double sum = 0;
        for (double w : sel.weights) {
            EXPECT_GE(w, 0);
            sum += w;
        }
        EXPECT_NEAR(sum, 1.0, 1e-12);
        if (!sel.result) {
            EXPECT_EQ(sel.weights[0], 1.0);
            continue;
        }
        ++blends;
        EvaluationResult ref;
        const double got = ndcg_of(comps, sel.weights, test, k, &ref);
        ASSERT_EQ(sel.result->all.ndcg, ref.all.ndcg);
        EXPECT_EQ(sel.result->all.recall, ref.all.recall);
        EXPECT_EQ(sel.result->all.map, ref.all.map);
        EXPECT_EQ(sel.result->all.coverage, ref.all.coverage);
        EXPECT_EQ(sel.result->known.ndcg, ref.known.ndcg);
        EXPECT_EQ(sel.result->unknown.ndcg, ref.unknown.ndcg);
        EXPECT_EQ(sel.result->users, ref.users);
        EXPECT_EQ(sel.result->skipped_users, ref.skipped_users);
        EXPECT_GT(got, start);
        EXPECT_GT(sel.steps + sel.refined, 0u);
    }
    EXPECT_GT(blends, 0u);
}

// Pool 0: the default (64 per component); pools of 2 and 6 make trials that
// the pool cannot prove, re-scored in full; the sparse rows leave
// neighbourhood blends fewer than k scored items, filled by popularity.
INSTANTIATE_TEST_SUITE_P(Pools, BlendSelect,
                         ::testing::Values(std::tuple{0.04, size_t(0)}, std::tuple{0.04, size_t(2)},
                                           std::tuple{0.01, size_t(0)}, std::tuple{0.01, size_t(6)}));

// Where the greedy search is provably exhaustive: two candidates, one step,
// shortlists holding every item (the estimate is then exact). Its first step
// tries every 0.05 mix of the two, so it finds the best of brute force over
// the start alone and every mix.
TEST(BlendSelect, TwoCandidatesOneStepEqualsExhaustiveGrid) {
    for (uint32_t seed : {11u, 12u, 13u}) {
        InteractionBuilder rows = make_rows(60, 200, 0.05, seed);
        auto ease = train(rows, "ease", "{\"lambda\": 10}");
        auto knn = train(rows, "itemknn");
        const TestSet test = make_test(*ease);
        const size_t k = 5;
        for (const auto& comps : {std::vector<std::shared_ptr<const Model>>{ease, knn},
                                  std::vector<std::shared_ptr<const Model>>{knn, ease}}) {
            const double start = ndcg_of(comps, {1, 0}, test, k);
            double best_blend = -1;
            for (int j = 1; j < 20; ++j) best_blend = std::max(best_blend, ndcg_of(comps, {1 - j / 20.0, j / 20.0}, test, k));
            const double best = std::max(start, best_blend);
            blend::SelectOptions options;
            options.max_steps = 1;
            options.shortlist = 1000;
            options.pool_per_component = 1000;
            const auto sel =
                blend::select_forward(comps, start, test, k, &RankingMetricsResult::ndcg, options, Context{});
            const double got = sel.result ? *sel.result->all.ndcg : start;
            EXPECT_EQ(got, best) << "seed " << seed;
            EXPECT_EQ(sel.result.has_value(), best_blend > start);
        }
    }
}

// Limits: the components stay within max_components and max_cost, the
// clock stops the steps, and bad input is refused with clear messages.
TEST(BlendSelect, LimitsAndBadInput) {
    InteractionBuilder rows = make_rows(60, 400, 0.04, 11);
    std::vector<std::shared_ptr<const Model>> comps = {
        train(rows, "ease", "{\"lambda\": 10}"), train(rows, "itemknn"), train(rows, "rp3beta"),
        train(rows, "als", "{\"factors\": 4, \"iterations\": 3}"), train(rows, "itemknn", "{\"neighbours\": 5}")};
    const TestSet test = make_test(*comps[0]);
    const double start = ndcg_of(comps, {1, 0, 0, 0, 0}, test, 5);
    const blend::Metric ndcg = &RankingMetricsResult::ndcg;
    blend::SelectOptions options;
    options.costs = {1, 1, 1, 1, 1};
    options.max_cost = 1.5;  // the start and nothing else
    auto sel = blend::select_forward(comps, start, test, 5, ndcg, options, Context{});
    EXPECT_FALSE(sel.result);
    EXPECT_EQ(sel.weights, (std::vector<double>{1, 0, 0, 0, 0}));
    options.max_cost = INFINITY;
    options.max_components = 2;
    sel = blend::select_forward(comps, start, test, 5, ndcg, options, Context{});
    EXPECT_LE(std::count_if(sel.weights.begin(), sel.weights.end(), [](double w) { return w > 0; }), 2);
    options.max_components = 8;
    options.seconds = 0;
    sel = blend::select_forward(comps, start, test, 5, ndcg, options, Context{});
    EXPECT_TRUE(sel.out_of_time);
    EXPECT_EQ(sel.trials, 0u);
    EXPECT_FALSE(sel.result);

    auto e = expect_error([&] { blend::select_forward({comps[0]}, start, test, 5, ndcg, {}, Context{}); });
    EXPECT_STREQ(e.what(), "forward selection needs 2 to 16 candidate models, got 1");
    blend::SelectOptions bad;
    bad.costs = {1, 2};
    e = expect_error([&] { blend::select_forward(comps, start, test, 5, ndcg, bad, Context{}); });
    EXPECT_STREQ(e.what(), "forward selection needs one cost per candidate: 5 candidates, 2 costs");
    bad.costs = {1, 1, 1, 1, -1};
    e = expect_error([&] { blend::select_forward(comps, start, test, 5, ndcg, bad, Context{}); });
    EXPECT_STREQ(e.what(), "candidate costs must be finite and non-negative, got -1");
    bad.costs = {};
    bad.max_components = 9;
    e = expect_error([&] { blend::select_forward(comps, start, test, 5, ndcg, bad, Context{}); });
    EXPECT_STREQ(e.what(), "a blend has 2 to 8 components, got at most 9");
}

}  // namespace
