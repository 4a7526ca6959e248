// Batch recommendation (recommend_all) against the per-user path
// (recommend_user), and offline evaluation (evaluate) against hand-computed
// metrics.
#include "batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "errors.h"
#include "metrics.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;

namespace {

// ~80 users x 40 items; item popularity skewed, weights 1..3, some repeats.
InteractionBuilder random_rows(uint32_t seed) {
    std::mt19937 rng(seed);
    InteractionBuilder b;
    std::uniform_int_distribution<int> n_items(1, 9), weight(1, 3);
    for (int64_t u = 0; u < 80; ++u) {
        int n = n_items(rng);
        for (int j = 0; j < n; ++j) {
            // Squaring a uniform draw favours small item ids (power-law-ish).
            double x = std::uniform_real_distribution<double>(0, 1)(rng);
            int64_t item = 1000 + int64_t(x * x * 40);
            b.add(u, item, double(weight(rng)));
        }
    }
    return b;
}

struct Models {
    Model pop = train_model("popularity", random_rows(7), "{}", Context{});
    Model knn = train_model("itemknn", random_rows(7), R"({"neighbours": 5, "binary": false})", Context{});
    // Scored in blocks by dense kernels (dense.h); 13 factors: not a multiple of any vector width.
    Model als = train_model("als", random_rows(7), R"({"factors": 13, "iterations": 3})", Context{});
    Model ease = train_model("ease", random_rows(7), R"({"lambda": 5})", Context{});
    Model ease_part = train_model("ease", random_rows(7), R"({"lambda": 5, "max_items": 20})", Context{});
};

const Models& models() {
    static const Models m;
    return m;
}

std::vector<uint32_t> all_users(const Model& m) {
    std::vector<uint32_t> u(m.n_users());
    std::iota(u.begin(), u.end(), 0u);
    return u;
}

// Some users twice and out of order.
std::vector<uint32_t> mixed_users(const Model& m) {
    std::vector<uint32_t> u = all_users(m);
    u.insert(u.end(), {3, 0, 3, m.n_users() - 1});
    std::mt19937 rng(1);
    std::shuffle(u.begin(), u.end(), rng);
    return u;
}

std::vector<RecommendOptions> option_variants(const Model& m) {
    std::vector<RecommendOptions> out;
    out.push_back({});  // k = 10, exclude seen
    RecommendOptions o;
    o.k = 3;
    out.push_back(o);
    o.k = 25;
    o.exclude_seen = false;
    out.push_back(o);
    o = {};
    o.k = 100;  // more than the catalogue: everything allowed, filled by popularity
    out.push_back(o);
    o = {};
    o.k = 0;
    out.push_back(o);
    o = {};
    o.k = 6;
    o.candidates = std::vector<uint32_t>{};
    for (uint32_t i = 0; i < m.n_items(); i += 3) o.candidates->push_back(i);
    o.exclude = {0, 4, 5, 6};
    out.push_back(o);
    o = {};
    o.k = 8;
    o.exclude = {1, 2, 3, 7, 11};
    out.push_back(o);
    o = {};
    o.k = 4;
    o.candidates = std::vector<uint32_t>{};  // nothing allowed
    out.push_back(o);
    return out;
}

struct Row {
    uint32_t user;
    std::vector<Recommendation> recs;
};

std::vector<Row> run_all(const Model& m, const std::vector<uint32_t>& users, const RecommendOptions& o, int threads,
                         size_t block) {
    Context ctx;
    ctx.threads = threads;
    std::vector<Row> rows;
    recommend_all(m, users, o, ctx,
                  [&](uint32_t u, std::span<const Recommendation> r) {
                      rows.push_back({u, std::vector<Recommendation>(r.begin(), r.end())});
                  },
                  block);
    return rows;
}

void expect_same_recs(const std::vector<Recommendation>& got, const std::vector<Recommendation>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t r = 0; r < got.size(); ++r) {
        EXPECT_EQ(got[r].item, want[r].item) << "rank " << r;
        EXPECT_EQ(got[r].score, want[r].score) << "rank " << r;  // bit-identical, not approximately
        EXPECT_EQ(got[r].source, want[r].source) << "rank " << r;
    }
}

}  // namespace

TEST(RecommendAll, TestDataExercisesBothSources) {
    // Guard for the equality tests below: the item-kNN model must leave some
    // users short of k positive scores, so popularity fill-in is compared too.
    const Model& m = models().knn;
    size_t model_recs = 0, popular_recs = 0;
    for (uint32_t u = 0; u < m.n_users(); ++u)
        for (const auto& r : recommend_user(m, u, RecommendOptions{}))
            (r.source == Source::Model ? model_recs : popular_recs)++;
    EXPECT_GT(model_recs, 0u);
    EXPECT_GT(popular_recs, 0u);
}

TEST(RecommendAll, EqualsRecommendUserForEveryUser) {
    for (const Model* m : {&models().pop, &models().knn, &models().als, &models().ease, &models().ease_part}) {
        SCOPED_TRACE(m->algorithm);
        const auto users = mixed_users(*m);
        const auto variants = option_variants(*m);
        for (size_t v = 0; v < variants.size(); ++v) {
            for (int threads : {1, 3}) {
                for (size_t block : {size_t(1), size_t(7), size_t(1024)}) {
                    SCOPED_TRACE("options " + std::to_string(v) + " threads " + std::to_string(threads) +
                                 " block " + std::to_string(block));
                    auto rows = run_all(*m, users, variants[v], threads, block);
                    ASSERT_EQ(rows.size(), users.size());
                    for (size_t i = 0; i < users.size(); ++i) {
                        ASSERT_EQ(rows[i].user, users[i]) << "position " << i;
                        SCOPED_TRACE("user " + std::to_string(users[i]));
                        expect_same_recs(rows[i].recs, recommend_user(*m, users[i], variants[v]));
                    }
                }
            }
        }
    }
}

TEST(RecommendAll, OneAndThreeThreadsGiveIdenticalOutput) {
    const Model& m = models().knn;
    const auto users = mixed_users(m);
    RecommendOptions o;
    o.k = 7;
    auto one = run_all(m, users, o, 1, 5);
    auto three = run_all(m, users, o, 3, 5);
    ASSERT_EQ(one.size(), three.size());
    for (size_t i = 0; i < one.size(); ++i) {
        EXPECT_EQ(one[i].user, three[i].user);
        expect_same_recs(three[i].recs, one[i].recs);
    }
}

TEST(RecommendAll, SinkRunsOnCallingThreadInInputOrder) {
    const Model& m = models().knn;
    const auto users = mixed_users(m);
    Context ctx;
    ctx.threads = 3;
    const auto caller = std::this_thread::get_id();
    std::vector<uint32_t> seen;
    std::vector<std::thread::id> threads;
    recommend_all(m, users, RecommendOptions{}, ctx,
                  [&](uint32_t u, std::span<const Recommendation>) {
                      seen.push_back(u);
                      threads.push_back(std::this_thread::get_id());
                  },
                  4);
    EXPECT_EQ(seen, users);
    for (auto id : threads) EXPECT_EQ(id, caller);
}

namespace {

// Wraps a scorer and counts the users it has scored, to observe blocking.
class CountingScorer : public Scorer {
public:
    CountingScorer(const Scorer& inner, std::atomic<size_t>& scored) : inner_(inner), scored_(scored) {}
    void score(const Basket& b, std::optional<uint32_t> u, std::span<float> out) const override {
        inner_.score(b, u, out);
        scored_++;
    }
    bool zero_means_unknown() const override { return inner_.zero_means_unknown(); }
    void write(ByteWriter& w) const override { inner_.write(w); }

private:
    const Scorer& inner_;
    std::atomic<size_t>& scored_;
};

Model wrap(const Model& m, std::atomic<size_t>& scored) {
    Model copy;
    copy.algorithm = m.algorithm;
    copy.users = m.users;
    copy.items = m.items;
    copy.history = m.history;
    copy.popularity = m.popularity;
    copy.scorer = std::make_unique<CountingScorer>(*m.scorer, scored);
    return copy;
}

}  // namespace

TEST(RecommendAll, HoldsOneBlockAtATime) {
    // When the sink sees the i-th user, at most the users of i's block have
    // been scored: results are handed over block by block, not all at the end.
    std::atomic<size_t> scored{0};
    Model m = wrap(models().knn, scored);
    const auto users = all_users(m);
    const size_t block = 10;
    for (int threads : {1, 3}) {
        scored = 0;
        Context ctx;
        ctx.threads = threads;
        size_t i = 0;
        recommend_all(m, users, RecommendOptions{}, ctx,
                      [&](uint32_t, std::span<const Recommendation>) {
                          const size_t block_end = std::min(users.size(), (i / block + 1) * block);
                          EXPECT_EQ(scored.load(), block_end) << "user " << i;
                          ++i;
                      },
                      block);
        EXPECT_EQ(i, users.size());
        EXPECT_EQ(scored.load(), users.size());  // the default score_block scored each user once
    }
}

TEST(RecommendAll, EmptyUserListCallsNothing) {
    int calls = 0;
    recommend_all(models().knn, {}, RecommendOptions{}, Context{},
                  [&](uint32_t, std::span<const Recommendation>) { ++calls; });
    EXPECT_EQ(calls, 0);
}

TEST(RecommendAll, RejectsIndexesOutOfRangeBeforeAnyOutput) {
    const Model& m = models().knn;
    int calls = 0;
    auto sink = [&](uint32_t, std::span<const Recommendation>) { ++calls; };
    std::vector<uint32_t> users = {0, 1, m.n_users()};
    try {
        recommend_all(m, users, RecommendOptions{}, Context{}, sink);
        FAIL() << "expected invalid_input";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
    }
    RecommendOptions o;
    o.candidates = std::vector<uint32_t>{0, m.n_items()};
    EXPECT_THROW(recommend_all(m, std::vector<uint32_t>{0}, o, Context{}, sink), Error);
    o = {};
    o.exclude = {m.n_items() + 5};
    EXPECT_THROW(recommend_all(m, std::vector<uint32_t>{0}, o, Context{}, sink), Error);
    EXPECT_EQ(calls, 0);
}

TEST(RecommendAll, CancelAndSinkErrorsPropagate) {
    const Model& m = models().knn;
    const auto users = all_users(m);
    for (int threads : {1, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        Context ctx;
        ctx.threads = threads;
        int checks = 0, calls = 0;
        ctx.check_cancel = [&] {
            if (++checks > 3) throw Cancelled();
        };
        EXPECT_THROW(recommend_all(m, users, RecommendOptions{}, ctx,
                                   [&](uint32_t, std::span<const Recommendation>) { ++calls; }, 5),
                     Cancelled);
        EXPECT_LT(size_t(calls), users.size());

        Context plain;
        plain.threads = threads;
        calls = 0;
        EXPECT_THROW(recommend_all(m, users, RecommendOptions{}, plain,
                                   [&](uint32_t, std::span<const Recommendation>) {
                                       if (++calls == 12) throw std::runtime_error("sink failed");
                                   },
                                   5),
                     std::runtime_error);
        EXPECT_EQ(calls, 12);  // nothing after the failing call
    }
}

TEST(RecommendAll, CancelIsPolledOnTheCallingThread) {
    const Model& m = models().knn;
    Context ctx;
    ctx.threads = 3;
    const auto caller = std::this_thread::get_id();
    std::atomic<int> wrong_thread{0}, checks{0};
    ctx.check_cancel = [&] {
        checks++;
        if (std::this_thread::get_id() != caller) wrong_thread++;
    };
    recommend_all(m, all_users(m), RecommendOptions{}, ctx, [](uint32_t, std::span<const Recommendation>) {}, 8);
    EXPECT_GT(checks.load(), 0);
    EXPECT_EQ(wrong_thread.load(), 0);
}

// ---------------------------------------------------------------------------
// evaluate

namespace {

// Purchases (user: items), integer ids:
//   1: 10 20        2: 10 20 30      3: 30 40
//   4: 40 50        5: 50            6: 30          7: 60
// Buyers per item: 10:2 20:2 30:3 40:2 50:2 60:1, so the popularity order
// (ties by smaller index = smaller id) is 30, 10, 20, 40, 50, 60.
InteractionBuilder shop() {
    InteractionBuilder b;
    const std::vector<std::pair<int64_t, int64_t>> rows = {{1, 10}, {1, 20}, {2, 10}, {2, 20}, {2, 30}, {3, 30},
                                                           {3, 40}, {4, 40}, {4, 50}, {5, 50}, {6, 30}, {7, 60}};
    for (auto [u, i] : rows) b.add(u, i, 1.0);
    return b;
}

void expect_metrics(const RankingMetricsResult& r, uint64_t users, uint64_t skipped, double precision, double recall,
                    double ndcg, double map, double hit_rate, double coverage) {
    EXPECT_EQ(r.users, users);
    EXPECT_EQ(r.skipped_users, skipped);
    ASSERT_TRUE(r.precision && r.recall && r.ndcg && r.map && r.hit_rate && r.coverage);
    EXPECT_NEAR(*r.precision, precision, 1e-12);
    EXPECT_NEAR(*r.recall, recall, 1e-12);
    EXPECT_NEAR(*r.ndcg, ndcg, 1e-12);
    EXPECT_NEAR(*r.map, map, 1e-12);
    EXPECT_NEAR(*r.hit_rate, hit_rate, 1e-12);
    EXPECT_NEAR(*r.coverage, coverage, 1e-12);
}

void expect_same(const RankingMetricsResult& a, const RankingMetricsResult& b) {
    EXPECT_EQ(a.users, b.users);
    EXPECT_EQ(a.skipped_users, b.skipped_users);
    EXPECT_EQ(a.precision, b.precision);  // exact: the result may not depend on threads or blocks
    EXPECT_EQ(a.recall, b.recall);
    EXPECT_EQ(a.ndcg, b.ndcg);
    EXPECT_EQ(a.map, b.map);
    EXPECT_EQ(a.hit_rate, b.hit_rate);
    EXPECT_EQ(a.coverage, b.coverage);
}

void expect_same(const EvaluationResult& a, const EvaluationResult& b) {
    expect_same(a.all, b.all);
    expect_same(a.known, b.known);
    expect_same(a.unknown, b.unknown);
    EXPECT_EQ(a.users, b.users);
    EXPECT_EQ(a.unknown_users, b.unknown_users);
    EXPECT_EQ(a.skipped_users, b.skipped_users);
}

}  // namespace

TEST(Evaluate, HandComputedPopularityExample) {
    Model m = train_model("popularity", shop(), "{}", Context{});
    auto item = [&](int64_t id) { return *m.items.find(id); };
    auto user = [&](int64_t id) { return *m.users.find(id); };
    // Indexes follow the ids, so "smaller index" ties are "smaller id" ties.
    ASSERT_LT(item(10), item(20));
    ASSERT_LT(item(20), item(30));
    ASSERT_LT(item(40), item(50));
    const uint32_t unknown_item = m.n_items();  // an item the model never saw (id 99)

    // k = 2. Rankings (training items excluded, popularity 30,10,20,40,50,60):
    //   user 1 (bought 10 20) -> 30, 40   test {40, 99}: hit at rank 2
    //   user 5 (bought 50)    -> 30, 10   test {30}:     hit at rank 1
    //   user 7 (bought 60)    -> 30, 10   test {}:       skipped
    //   unknown A             -> 30, 10   test {20}:     no hit
    //   unknown B             -> 30, 10   test {10, 50, 60}: hit at rank 2
    TestSet test;
    std::vector<uint32_t> t1 = {item(40), unknown_item}, t5 = {item(30)}, tA = {item(20)},
                          tB = {item(10), item(50), item(60), item(10)};  // duplicate counts once
    test.add(user(1), t1);
    test.add(user(5), t5);
    test.add(user(7), {});
    test.add(std::nullopt, tA);
    test.add(std::nullopt, tB);

    // Per user (g = 1/log2(3), the discount of rank 2; IDCG over min(k, |test|)):
    //            hits  precision recall  ndcg            AP                   hit
    //   user 1   1     1/2       1/2     g / (1 + g)     (1/2) / 2 = 1/4      1
    //   user 5   1     1/2       1       1 / 1 = 1       (1/1) / 1 = 1        1
    //   A        0     0         0       0               0                    0
    //   B        1     1/2       1/3     g / (1 + g)     (1/2) / 2 = 1/4      1
    const double g = 1.0 / std::log2(3.0);
    const double n1 = g / (1 + g);
    // Known users 1 and 5 (7 skipped): recommended {30, 40} u {30, 10} = 3 of 6 items.
    // Unknown users A and B: recommended {30, 10} = 2 of 6 items.
    // All four: precision = hits / (users * k) = 3 / 8; coverage {10, 30, 40} = 3/6.
    for (int threads : {1, 2, 3}) {
        Context ctx;
        ctx.threads = threads;
        EvaluationResult r = evaluate(m, test, 2, ctx);
        SCOPED_TRACE("threads " + std::to_string(threads));
        expect_metrics(r.known, 2, 1, 2.0 / 4, (0.5 + 1) / 2, (n1 + 1) / 2, (0.25 + 1) / 2, 1.0, 3.0 / 6);
        expect_metrics(r.unknown, 2, 0, 1.0 / 4, (0 + 1.0 / 3) / 2, (0 + n1) / 2, (0 + 0.25) / 2, 0.5, 2.0 / 6);
        expect_metrics(r.all, 4, 1, 3.0 / 8, (0.5 + 1 + 0 + 1.0 / 3) / 4, (n1 + 1 + 0 + n1) / 4,
                       (0.25 + 1 + 0 + 0.25) / 4, 3.0 / 4, 3.0 / 6);
        EXPECT_EQ(r.users, 4u);
        EXPECT_EQ(r.unknown_users, 2u);
        EXPECT_EQ(r.skipped_users, 1u);
    }
}

TEST(Evaluate, UnknownUsersGetThePopularityRanking) {
    // Item-kNN model: known users are ranked by the model, unknown ones by
    // popularity; check both halves against recommend_user + RankingMetrics.
    const Model& m = models().knn;
    const size_t k = 5;
    std::mt19937 rng(3);
    TestSet test;
    RankingMetrics known(k, m.n_items()), unknown(k, m.n_items());
    auto ranked_items = [](const std::vector<Recommendation>& recs) {
        std::vector<uint32_t> out;
        for (const auto& r : recs) out.push_back(r.item);
        return out;
    };
    RecommendOptions o;
    o.k = k;
    const auto popular = ranked_items(recommend_user(m, std::nullopt, o));
    for (int t = 0; t < 120; ++t) {
        std::vector<uint32_t> items;
        const int n = std::uniform_int_distribution<int>(0, 4)(rng);
        for (int j = 0; j < n; ++j) items.push_back(std::uniform_int_distribution<uint32_t>(0, m.n_items() + 3)(rng));
        if (t % 4 == 0) {
            test.add(std::nullopt, items);
            unknown.add_user(popular, items);
        } else {
            uint32_t u = std::uniform_int_distribution<uint32_t>(0, m.n_users() - 1)(rng);
            test.add(u, items);
            known.add_user(ranked_items(recommend_user(m, u, o)), items);
        }
    }
    RankingMetrics all = known;
    all.merge(unknown);
    Context ctx;
    ctx.threads = 3;
    EvaluationResult r = evaluate(m, test, k, ctx, 16);
    expect_same(r.known, known.result());
    expect_same(r.unknown, unknown.result());
    expect_same(r.all, all.result());
    EXPECT_EQ(r.unknown_users, unknown.result().users);
    EXPECT_EQ(r.users, all.result().users);
    EXPECT_EQ(r.skipped_users, all.result().skipped_users);
    EXPECT_GT(r.unknown_users, 0u);
    EXPECT_GT(r.skipped_users, 0u);
    // The popularity ranking differs from what the model gives known users.
    EXPECT_NE(r.known.precision, r.unknown.precision);
}

TEST(Evaluate, IndependentOfThreadsAndBlocks) {
    const Model& m = models().knn;
    std::mt19937 rng(11);
    TestSet test;
    for (int t = 0; t < 300; ++t) {
        std::vector<uint32_t> items;
        const int n = std::uniform_int_distribution<int>(0, 6)(rng);
        for (int j = 0; j < n; ++j) items.push_back(std::uniform_int_distribution<uint32_t>(0, m.n_items())(rng));
        if (t % 7 == 0)
            test.add(std::nullopt, items);
        else
            test.add(uint32_t(t % m.n_users()), items);
    }
    Context one;
    const EvaluationResult ref = evaluate(m, test, 10, one);
    for (int threads : {2, 3, 4}) {
        for (size_t block : {size_t(1), size_t(13), size_t(4096)}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " block " + std::to_string(block));
            Context ctx;
            ctx.threads = threads;
            expect_same(evaluate(m, test, 10, ctx, block), ref);
        }
    }
}

TEST(Evaluate, EmptyTestSetHasNoMetrics) {
    EvaluationResult r = evaluate(models().knn, TestSet{}, 10, Context{});
    EXPECT_EQ(r.users, 0u);
    EXPECT_FALSE(r.all.precision);
    EXPECT_FALSE(r.known.ndcg);
    EXPECT_FALSE(r.unknown.coverage);
}

TEST(Evaluate, RejectsBadInput) {
    const Model& m = models().knn;
    TestSet bad_user;
    std::vector<uint32_t> items = {0};
    bad_user.add(m.n_users(), items);
    EXPECT_THROW(evaluate(m, bad_user, 10, Context{}), Error);
    TestSet ok;
    ok.add(0u, items);
    EXPECT_THROW(evaluate(m, ok, 0, Context{}), Error);
}

TEST(Evaluate, CancelPropagates) {
    const Model& m = models().knn;
    TestSet test;
    std::vector<uint32_t> items = {0, 1};
    for (uint32_t u = 0; u < m.n_users(); ++u) test.add(u, items);
    for (int threads : {1, 3}) {
        Context ctx;
        ctx.threads = threads;
        int checks = 0;
        ctx.check_cancel = [&] {
            if (++checks > 2) throw Cancelled();
        };
        EXPECT_THROW(evaluate(m, test, 5, ctx, 8), Cancelled);
    }
}
