// top_k and the query layer (recommend_user, recommend_basket,
// similar_items, explain) on hand-computed data.
#include "recommend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "errors.h"
#include "model.h"
#include "topk.h"

using namespace recsys;

namespace {

// Reference: full stable sort by score desc, ties by smaller index.
std::vector<Scored> full_sort(const std::vector<float>& scores, size_t k, const std::vector<bool>& keep) {
    std::vector<Scored> all;
    for (uint32_t i = 0; i < scores.size(); ++i)
        if (keep[i]) all.push_back({i, scores[i]});
    std::stable_sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    if (all.size() > k) all.resize(k);
    return all;
}

void expect_same(const std::vector<Scored>& got, const std::vector<Scored>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t r = 0; r < got.size(); ++r) {
        EXPECT_EQ(got[r].item, want[r].item) << "rank " << r;
        EXPECT_EQ(got[r].score, want[r].score) << "rank " << r;
    }
}

// Purchases (user: items), integer ids:
//   1: 10 20        2: 10 20 30      3: 30 40
//   4: 40 50        5: 50            6: 30          7: 60
// Buyers per item: 10:2 20:2 30:3 40:2 50:2 60:1, so popularity order is
// 30, 10, 20, 40, 50, 60 (ties by smaller index = smaller id).
// Binary cosine (norms: 10,20,40,50 -> sqrt2; 30 -> sqrt3; 60 -> 1):
//   10~20 = 1, 10~30 = 20~30 = 1/sqrt6, 30~40 = 1/sqrt6, 40~50 = 1/2.
InteractionBuilder shop() {
    InteractionBuilder b;
    const std::vector<std::pair<int64_t, int64_t>> rows = {{1, 10}, {1, 20}, {2, 10}, {2, 20}, {2, 30}, {3, 30},
                                                           {3, 40}, {4, 40}, {4, 50}, {5, 50}, {6, 30}, {7, 60}};
    for (auto [u, i] : rows) b.add(u, i, 1.0);
    return b;
}

struct Shop {
    Model pop = train_model("popularity", shop(), "{}", Context{});
    Model knn = train_model("itemknn", shop(), R"({"weighting": "none"})", Context{});
    uint32_t item(const Model& m, int64_t id) const { return *m.items.find(id); }
    uint32_t user(const Model& m, int64_t id) const { return *m.users.find(id); }
};

std::vector<int64_t> ids(const Model& m, const std::vector<Recommendation>& recs) {
    std::vector<int64_t> out;
    for (const auto& r : recs) out.push_back(m.items.int_at(r.item));
    return out;
}

std::vector<Source> sources(const std::vector<Recommendation>& recs) {
    std::vector<Source> out;
    for (const auto& r : recs) out.push_back(r.source);
    return out;
}

void expect_no_duplicates(const std::vector<Recommendation>& recs) {
    std::set<uint32_t> seen;
    for (const auto& r : recs) EXPECT_TRUE(seen.insert(r.item).second) << "item " << r.item << " twice";
}

const double kInvSqrt6 = 1.0 / std::sqrt(6.0);
constexpr Source M = Source::Model;
constexpr Source P = Source::Popularity;

}  // namespace

// ---------------------------------------------------------------- top_k

TEST(TopK, MatchesFullSortWithTies) {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 200; ++trial) {
        size_t n = rng() % 60;
        std::vector<float> scores(n);
        for (auto& s : scores) s = float(int(rng() % 7) - 2) * 0.5f;  // many ties, some negative
        std::vector<bool> all(n, true), some(n);
        for (size_t i = 0; i < n; ++i) some[i] = rng() % 3 != 0;
        for (size_t k : {size_t(0), size_t(1), size_t(3), n / 2, n, n + 5}) {
            expect_same(top_k(scores, k), full_sort(scores, k, all));
            expect_same(top_k(scores, k, [&](uint32_t i) { return bool(some[i]); }), full_sort(scores, k, some));
        }
    }
}

TEST(TopK, EdgeCases) {
    std::vector<float> s{1, 3, 2, 3};
    EXPECT_TRUE(top_k(s, 0).empty());
    auto all = top_k(s, 10);
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].item, 1u);  // 3, tie broken by smaller index
    EXPECT_EQ(all[1].item, 3u);
    EXPECT_EQ(all[2].item, 2u);
    EXPECT_EQ(all[3].item, 0u);
    EXPECT_TRUE(top_k(std::vector<float>{}, 5).empty());
    EXPECT_TRUE(top_k(s, 3, [](uint32_t) { return false; }).empty());
    auto one = top_k(s, 1);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].item, 1u);
    EXPECT_EQ(one[0].score, 3.0f);
}

// ---------------------------------------------------------------- recommend_user

TEST(Recommend, PopularityModelCountsAndKnownUser) {
    Shop s;
    EXPECT_EQ(s.pop.popularity, (std::vector<float>{2, 2, 3, 2, 2, 1}));
    // User 5 (bought 50) gets the best sellers except 50, from the model.
    auto recs = recommend_user(s.pop, s.user(s.pop, 5), RecommendOptions{});
    EXPECT_EQ(ids(s.pop, recs), (std::vector<int64_t>{30, 10, 20, 40, 60}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, M, M, M, M}));
    EXPECT_EQ(recs[0].score, 3.0f);
    EXPECT_EQ(recs[4].score, 1.0f);
}

TEST(Recommend, UnknownUserGetsPopularity) {
    Shop s;
    for (const Model* m : {&s.pop, &s.knn}) {
        RecommendOptions o;
        o.k = 4;
        auto recs = recommend_user(*m, std::nullopt, o);
        EXPECT_EQ(ids(*m, recs), (std::vector<int64_t>{30, 10, 20, 40}));
        EXPECT_EQ(sources(recs), (std::vector<Source>{P, P, P, P}));
        EXPECT_EQ(recs[0].score, 3.0f);
        EXPECT_EQ(recs[1].score, 2.0f);
        o.k = 100;
        auto all = recommend_user(*m, std::nullopt, o);
        EXPECT_EQ(ids(*m, all), (std::vector<int64_t>{30, 10, 20, 40, 50, 60}));
        o.k = 0;
        EXPECT_TRUE(recommend_user(*m, std::nullopt, o).empty());
    }
}

TEST(Recommend, ItemKnnScoresAndFillIn) {
    Shop s;
    // User 1 (10, 20): 30 scores sim(10,30) + sim(20,30) = 2/sqrt6; nothing
    // else scores above zero, so 40, 50, 60 come from popularity.
    RecommendOptions o;
    o.k = 4;
    auto recs = recommend_user(s.knn, s.user(s.knn, 1), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 40, 50, 60}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, P, P, P}));
    EXPECT_NEAR(recs[0].score, 2 * kInvSqrt6, 1e-6);
    EXPECT_EQ(recs[1].score, 2.0f);  // popularity scores are buyer counts
    expect_no_duplicates(recs);
    // k larger than what is left: everything not seen, once.
    o.k = 50;
    recs = recommend_user(s.knn, s.user(s.knn, 1), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 40, 50, 60}));
    expect_no_duplicates(recs);
    // User 3 (30, 40): 10, 20: 1/sqrt6 each; 50: 1/2. Then popularity: 60.
    o.k = 10;
    recs = recommend_user(s.knn, s.user(s.knn, 3), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{50, 10, 20, 60}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, M, M, P}));
    EXPECT_NEAR(recs[0].score, 0.5, 1e-6);
    EXPECT_NEAR(recs[1].score, kInvSqrt6, 1e-6);
    // User 7 (60, bought with nobody): all popularity, 60 excluded.
    o.k = 3;
    recs = recommend_user(s.knn, s.user(s.knn, 7), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 10, 20}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{P, P, P}));
}

TEST(Recommend, ExcludeSeen) {
    Shop s;
    RecommendOptions o;
    o.k = 3;
    o.exclude_seen = false;
    // User 1 (10, 20): 10 gets sim(20,10) = 1, 20 gets 1, 30 gets 2/sqrt6.
    auto recs = recommend_user(s.knn, s.user(s.knn, 1), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{10, 20, 30}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, M, M}));
    EXPECT_NEAR(recs[0].score, 1.0, 1e-6);
    // Popularity model, user 2 bought 10 20 30: with exclude_seen false the
    // best sellers include them.
    o.k = 2;
    recs = recommend_user(s.pop, s.user(s.pop, 2), o);
    EXPECT_EQ(ids(s.pop, recs), (std::vector<int64_t>{30, 10}));
    o.exclude_seen = true;
    recs = recommend_user(s.pop, s.user(s.pop, 2), o);
    EXPECT_EQ(ids(s.pop, recs), (std::vector<int64_t>{40, 50}));
}

TEST(Recommend, Candidates) {
    Shop s;
    RecommendOptions o;
    o.k = 10;
    o.candidates = std::vector<uint32_t>{s.item(s.knn, 60), s.item(s.knn, 50), s.item(s.knn, 30),
                                         s.item(s.knn, 10)};  // 10 is already bought
    auto recs = recommend_user(s.knn, s.user(s.knn, 1), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 50, 60}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, P, P}));
    // Unknown user: popularity restricted to the candidates.
    recs = recommend_user(s.knn, std::nullopt, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 10, 50, 60}));
    // Empty candidate list: nothing.
    o.candidates = std::vector<uint32_t>{};
    EXPECT_TRUE(recommend_user(s.knn, s.user(s.knn, 1), o).empty());
}

TEST(Recommend, ExcludeList) {
    Shop s;
    RecommendOptions o;
    o.k = 3;
    o.exclude = {s.item(s.knn, 30), s.item(s.knn, 50)};
    auto recs = recommend_user(s.knn, s.user(s.knn, 1), o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{40, 60}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{P, P}));
    recs = recommend_user(s.knn, std::nullopt, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{10, 20, 40}));
}

TEST(Recommend, FillInNeverDuplicatesOnRandomData) {
    // Random sparse data: whatever k, results are unique, model items come
    // first with scores > 0 best first, then popularity best first.
    InteractionBuilder b;
    std::mt19937 rng(12);
    for (int r = 0; r < 300; ++r) b.add(int64_t(rng() % 50), int64_t(rng() % 80), 1.0);
    Model m = train_model("itemknn", b, R"({"weighting": "none", "neighbours": 3})", Context{});
    for (uint32_t u = 0; u < m.n_users(); ++u) {
        for (size_t k : {1, 5, 20, 200}) {
            RecommendOptions o;
            o.k = k;
            auto recs = recommend_user(m, u, o);
            size_t unseen = m.n_items() - m.history.row_size(u);
            ASSERT_EQ(recs.size(), std::min(k, unseen));
            expect_no_duplicates(recs);
            auto hist = m.history.row_indices(u);
            bool in_fill = false;
            for (size_t r = 0; r < recs.size(); ++r) {
                EXPECT_EQ(std::count(hist.begin(), hist.end(), recs[r].item), 0);
                if (recs[r].source == Source::Popularity) {
                    in_fill = true;
                    EXPECT_EQ(recs[r].score, m.popularity[recs[r].item]);
                } else {
                    EXPECT_FALSE(in_fill) << "a model item after popularity fill-in";
                    EXPECT_GT(recs[r].score, 0.0f);
                }
                if (r > 0 && recs[r].source == recs[r - 1].source) {
                    EXPECT_GE(recs[r - 1].score, recs[r].score);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- baskets

TEST(Recommend, BasketExcludesBasketItems) {
    Shop s;
    Basket basket{{s.item(s.knn, 10)}, {1.0f}};
    RecommendOptions o;
    o.k = 4;
    // 20: sim(10,20) = 1; 30: 1/sqrt6; then popularity 40, 50.
    auto recs = recommend_basket(s.knn, basket, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{20, 30, 40, 50}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, M, P, P}));
    EXPECT_NEAR(recs[0].score, 1.0, 1e-6);
    EXPECT_NEAR(recs[1].score, kInvSqrt6, 1e-6);
    // Basket of 40 and 50: 30 gets 1/sqrt6 (from 40), 40 and 50 each
    // other's 1/2 but they are excluded.
    Basket b2{{s.item(s.knn, 40), s.item(s.knn, 50)}, {1.0f, 1.0f}};
    o.k = 2;
    recs = recommend_basket(s.knn, b2, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 10}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{M, P}));
    o.exclude_seen = false;
    recs = recommend_basket(s.knn, b2, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{40, 50}));
    // Empty basket: popularity.
    o.exclude_seen = true;
    recs = recommend_basket(s.knn, Basket{}, o);
    EXPECT_EQ(ids(s.knn, recs), (std::vector<int64_t>{30, 10}));
    EXPECT_EQ(sources(recs), (std::vector<Source>{P, P}));
}

TEST(Recommend, BasketOnPopularityModel) {
    Shop s;
    Basket basket{{s.item(s.pop, 30)}, {1.0f}};
    RecommendOptions o;
    o.k = 2;
    auto recs = recommend_basket(s.pop, basket, o);
    EXPECT_EQ(ids(s.pop, recs), (std::vector<int64_t>{10, 20}));
}

// ---------------------------------------------------------------- similar, explain

TEST(Similar, HandComputed) {
    Shop s;
    auto sim = similar_items(s.knn, s.item(s.knn, 30), 10);
    // 30 ~ 10, 20, 40: all 1/sqrt6; ties by index.
    ASSERT_EQ(sim.size(), 3u);
    EXPECT_EQ(sim[0].item, s.item(s.knn, 10));
    EXPECT_EQ(sim[1].item, s.item(s.knn, 20));
    EXPECT_EQ(sim[2].item, s.item(s.knn, 40));
    for (const auto& x : sim) EXPECT_NEAR(x.score, kInvSqrt6, 1e-6);
    EXPECT_TRUE(similar_items(s.knn, s.item(s.knn, 60), 10).empty());
    EXPECT_EQ(similar_items(s.knn, s.item(s.knn, 30), 1).size(), 1u);
    EXPECT_TRUE(similar_items(s.knn, s.item(s.knn, 30), 0).empty());
}

TEST(Similar, PopularityModelThrows) {
    Shop s;
    try {
        similar_items(s.pop, 0, 5);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
        EXPECT_STREQ(e.what(), "similar_items is not available for popularity models");
        EXPECT_FALSE(e.hint().empty());
    }
}

TEST(Explain, ContributionsSumToScore) {
    Shop s;
    uint32_t u = s.user(s.knn, 2);  // 10, 20, 30
    Basket h = s.knn.history_of(u);
    // Item 40: only 30 contributes, 1/sqrt6.
    auto parts = explain(s.knn, h, u, s.item(s.knn, 40));
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].item, s.item(s.knn, 30));
    EXPECT_NEAR(parts[0].score, kInvSqrt6, 1e-6);
    // Item 30 (exclude_seen false): 10 and 20 contribute 1/sqrt6 each.
    parts = explain(s.knn, h, u, s.item(s.knn, 30));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].item, s.item(s.knn, 10));
    EXPECT_EQ(parts[1].item, s.item(s.knn, 20));
    // Sum equals the recommend score.
    RecommendOptions o;
    o.k = 6;
    o.exclude_seen = false;
    for (const auto& r : recommend_user(s.knn, u, o)) {
        if (r.source != Source::Model) continue;
        double sum = 0;
        for (const auto& c : explain(s.knn, h, u, r.item)) sum += c.score;
        EXPECT_NEAR(sum, r.score, 1e-6) << "item " << r.item;
    }
    // Nothing explains 60.
    EXPECT_TRUE(explain(s.knn, h, u, s.item(s.knn, 60)).empty());
}

TEST(Explain, PopularityModelThrows) {
    Shop s;
    try {
        explain(s.pop, s.pop.history_of(0), 0u, 1);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
        EXPECT_STREQ(e.what(), "explain_recommendation is not available for popularity models");
    }
}
