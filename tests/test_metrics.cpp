#include "metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "errors.h"

using recsys::RankingMetrics;
using recsys::RankingMetricsResult;

namespace {

using Items = std::vector<uint32_t>;
constexpr double kTol = 1e-12;

void expect_same(const RankingMetricsResult& a, const RankingMetricsResult& b) {
    EXPECT_EQ(a.users, b.users);
    EXPECT_EQ(a.skipped_users, b.skipped_users);
    EXPECT_EQ(a.precision, b.precision);
    EXPECT_EQ(a.recall, b.recall);
    EXPECT_EQ(a.ndcg, b.ndcg);
    EXPECT_EQ(a.map, b.map);
    EXPECT_EQ(a.hit_rate, b.hit_rate);
    EXPECT_EQ(a.coverage, b.coverage);
}

}  // namespace

TEST(RankingMetrics, OneUserByHand) {
    // ranked [3,1,7], test {1,9}, k=3: one hit at rank index 1.
    // precision = 1/3, recall = 1/2
    // DCG = 1/log2(3); IDCG = 1 + 1/log2(3) (min(3,2) = 2 relevant slots)
    // MAP = (1/2) / min(3,2) = 1/4; hit rate 1; coverage = 3 items / 10
    RankingMetrics m(3, 10);
    m.add_user(Items{3, 1, 7}, Items{1, 9});
    auto r = m.result();
    EXPECT_EQ(r.users, 1u);
    EXPECT_NEAR(*r.precision, 1.0 / 3, kTol);
    EXPECT_NEAR(*r.recall, 0.5, kTol);
    const double d1 = 1 / std::log2(3.0);
    EXPECT_NEAR(*r.ndcg, d1 / (1 + d1), kTol);
    EXPECT_NEAR(*r.map, 0.25, kTol);
    EXPECT_NEAR(*r.hit_rate, 1.0, kTol);
    EXPECT_NEAR(*r.coverage, 0.3, kTol);
}

TEST(RankingMetrics, MoreTestItemsThanK) {
    // k=2, ranked [5,2,8] (8 is past the cutoff), test {2,5,8,9}.
    // Top 2 = [5,2], both hits. precision = 2/2 = 1, recall = 2/4.
    // DCG = 1 + 1/log2(3) = IDCG (min(2,4) = 2 slots) -> NDCG 1.
    // MAP = (1/1 + 2/2) / min(2,4) = 1. Coverage = {5,2} / 10 = 0.2.
    RankingMetrics m(2, 10);
    m.add_user(Items{5, 2, 8}, Items{2, 5, 8, 9});
    auto r = m.result();
    EXPECT_NEAR(*r.precision, 1.0, kTol);
    EXPECT_NEAR(*r.recall, 0.5, kTol);
    EXPECT_EQ(*r.ndcg, 1.0);  // a perfect ranking is exactly 1
    EXPECT_NEAR(*r.map, 1.0, kTol);
    EXPECT_NEAR(*r.coverage, 0.2, kTol);
}

TEST(RankingMetrics, RankingShorterThanK) {
    // k=5, ranked [4,0], test {0}: hit at rank index 1.
    // precision = 1/5 (still divided by k), recall = 1/1.
    // DCG = 1/log2(3), IDCG = 1 (min(5,1) = 1 slot) -> NDCG = 1/log2(3).
    // MAP = (1/2) / 1 = 1/2. Coverage = 2 / 6.
    RankingMetrics m(5, 6);
    m.add_user(Items{4, 0}, Items{0});
    auto r = m.result();
    EXPECT_NEAR(*r.precision, 0.2, kTol);
    EXPECT_NEAR(*r.recall, 1.0, kTol);
    EXPECT_NEAR(*r.ndcg, 1 / std::log2(3.0), kTol);
    EXPECT_NEAR(*r.map, 0.5, kTol);
    EXPECT_NEAR(*r.coverage, 2.0 / 6, kTol);
}

TEST(RankingMetrics, MapCountsPrecisionAtEachHit) {
    // k=4, ranked [1,2,3,4], test {1,3,4,8,9}: hits at indexes 0, 2, 3.
    // MAP = (1/1 + 2/3 + 3/4) / min(4,5) = (29/12) / 4 = 29/48.
    // DCG = 1 + 1/log2(4) + 1/log2(5); IDCG = 1 + 1/log2(3) + 1/log2(4) + 1/log2(5).
    RankingMetrics m(4, 10);
    m.add_user(Items{1, 2, 3, 4}, Items{9, 4, 3, 8, 1});
    auto r = m.result();
    EXPECT_NEAR(*r.map, 29.0 / 48, kTol);
    const double dcg = 1 + 1 / std::log2(4.0) + 1 / std::log2(5.0);
    EXPECT_NEAR(*r.ndcg, dcg / (dcg + 1 / std::log2(3.0)), kTol);
    EXPECT_NEAR(*r.precision, 0.75, kTol);
    EXPECT_NEAR(*r.recall, 0.6, kTol);
}

TEST(RankingMetrics, MeansOverUsers) {
    // User A as in OneUserByHand; user B: ranked [0,2,4], test {6}, no hit.
    // precision = (1/3 + 0)/2, recall = (1/2)/2, MAP = (1/4)/2, hit rate 1/2,
    // NDCG = (d1/(1+d1))/2, coverage = {3,1,7,0,2,4} / 10 = 0.6.
    RankingMetrics m(3, 10);
    m.add_user(Items{3, 1, 7}, Items{1, 9});
    m.add_user(Items{0, 2, 4}, Items{6});
    auto r = m.result();
    const double d1 = 1 / std::log2(3.0);
    EXPECT_EQ(r.users, 2u);
    EXPECT_NEAR(*r.precision, 1.0 / 6, kTol);
    EXPECT_NEAR(*r.recall, 0.25, kTol);
    EXPECT_NEAR(*r.ndcg, d1 / (1 + d1) / 2, kTol);
    EXPECT_NEAR(*r.map, 0.125, kTol);
    EXPECT_NEAR(*r.hit_rate, 0.5, kTol);
    EXPECT_NEAR(*r.coverage, 0.6, kTol);
}

TEST(RankingMetrics, UsersWithoutTestItemsAreSkipped) {
    // The skipped user neither dilutes the means nor adds to coverage.
    RankingMetrics m(3, 10);
    m.add_user(Items{3, 1, 7}, Items{1, 9});
    m.add_user(Items{0, 2, 4}, Items{});
    auto r = m.result();
    EXPECT_EQ(r.users, 1u);
    EXPECT_EQ(r.skipped_users, 1u);
    EXPECT_NEAR(*r.precision, 1.0 / 3, kTol);
    EXPECT_NEAR(*r.coverage, 0.3, kTol);
}

TEST(RankingMetrics, NoUsersGivesEmptyResults) {
    RankingMetrics m(10, 100);
    auto r = m.result();
    EXPECT_EQ(r.users, 0u);
    EXPECT_FALSE(r.precision || r.recall || r.ndcg || r.map || r.hit_rate || r.coverage);

    m.add_user(Items{1, 2}, Items{});  // only skipped users: still nothing to report
    r = m.result();
    EXPECT_EQ(r.skipped_users, 1u);
    EXPECT_FALSE(r.precision.has_value());
}

TEST(RankingMetrics, DuplicateTestItemsCountOnce) {
    // test {1,1,9} is {1,9}: recall 1/2 as in OneUserByHand.
    RankingMetrics m(3, 10);
    m.add_user(Items{3, 1, 7}, Items{1, 1, 9});
    EXPECT_NEAR(*m.result().recall, 0.5, kTol);
}

TEST(RankingMetrics, UnknownTestItemsCountButCannotHit) {
    // Item 99 is outside the catalogue (new since training): recall = 1/2.
    RankingMetrics m(1, 2);
    m.add_user(Items{0}, Items{0, 99});
    auto r = m.result();
    EXPECT_NEAR(*r.recall, 0.5, kTol);
    EXPECT_NEAR(*r.precision, 1.0, kTol);
}

TEST(RankingMetrics, RejectsBadInput) {
    try {
        RankingMetrics m(0, 10);
        FAIL() << "k = 0 accepted";
    } catch (const recsys::Error& e) {
        EXPECT_EQ(e.kind(), recsys::ErrorKind::InvalidInput);
        EXPECT_STREQ(e.what(), "k must be at least 1, got 0");
    }
    RankingMetrics m(3, 10);
    EXPECT_THROW(m.add_user(Items{1, 2, 1}, Items{1}), recsys::Error);   // repeated item
    EXPECT_THROW(m.add_user(Items{1, 10}, Items{1}), recsys::Error);     // outside catalogue
    m.add_user(Items{1, 2, 3, 1}, Items{1});  // repeat past the cutoff is ignored
    RankingMetrics other_k(4, 10);
    EXPECT_THROW(m.merge(other_k), recsys::Error);
}

namespace {

struct User {
    Items ranked, test;
};

std::vector<User> random_users(size_t n, uint32_t catalogue, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<User> users(n);
    for (auto& u : users) {
        Items all(catalogue);
        for (uint32_t i = 0; i < catalogue; ++i) all[i] = i;
        std::shuffle(all.begin(), all.end(), rng);
        u.ranked.assign(all.begin(), all.begin() + rng() % 12);
        for (uint32_t t = rng() % 6; t > 0; --t) u.test.push_back(rng() % (catalogue + 3));
    }
    return users;
}

// The definitions written out directly, for comparison on random data.
RankingMetricsResult reference(const std::vector<User>& users, size_t k, uint32_t catalogue) {
    double p = 0, rc = 0, nd = 0, ap = 0, hr = 0;
    uint64_t n = 0, skipped = 0;
    std::set<uint32_t> covered;
    for (const auto& u : users) {
        std::set<uint32_t> test(u.test.begin(), u.test.end());
        if (test.empty()) {
            ++skipped;
            continue;
        }
        ++n;
        double hits = 0, dcg = 0, idcg = 0, sum_prec = 0;
        for (size_t i = 0; i < k && i < u.ranked.size(); ++i) {
            covered.insert(u.ranked[i]);
            if (test.count(u.ranked[i])) {
                hits += 1;
                dcg += 1 / std::log2(i + 2.0);
                sum_prec += hits / (i + 1);
            }
        }
        for (size_t i = 0; i < std::min(k, test.size()); ++i) idcg += 1 / std::log2(i + 2.0);
        p += hits / k;
        rc += hits / test.size();
        nd += dcg / idcg;
        ap += sum_prec / std::min(k, test.size());
        hr += hits > 0;
    }
    RankingMetricsResult r;
    r.users = n;
    r.skipped_users = skipped;
    r.precision = p / n, r.recall = rc / n, r.ndcg = nd / n, r.map = ap / n, r.hit_rate = hr / n;
    r.coverage = double(covered.size()) / catalogue;
    return r;
}

}  // namespace

TEST(RankingMetrics, MatchesDirectDefinitionOnRandomUsers) {
    const uint32_t catalogue = 30;
    auto users = random_users(500, catalogue, 7);
    for (size_t k : {1, 3, 10}) {
        RankingMetrics m(int64_t(k), catalogue);
        for (const auto& u : users) m.add_user(u.ranked, u.test);
        auto got = m.result(), want = reference(users, k, catalogue);
        EXPECT_EQ(got.users, want.users);
        EXPECT_EQ(got.skipped_users, want.skipped_users);
        EXPECT_NEAR(*got.precision, *want.precision, 1e-9);
        EXPECT_NEAR(*got.recall, *want.recall, 1e-9);
        EXPECT_NEAR(*got.ndcg, *want.ndcg, 1e-9);
        EXPECT_NEAR(*got.map, *want.map, 1e-9);
        EXPECT_NEAR(*got.hit_rate, *want.hit_rate, 1e-9);
        EXPECT_NEAR(*got.coverage, *want.coverage, 1e-9);
    }
}

TEST(RankingMetrics, MergeIsIndependentOfOrder) {
    // Bit-identical results for one pass, blocks merged either way round,
    // and users added in reverse.
    const uint32_t catalogue = 40;
    auto users = random_users(300, catalogue, 11);
    auto block = [&](size_t from, size_t to) {
        RankingMetrics m(5, catalogue);
        for (size_t i = from; i < to; ++i) m.add_user(users[i].ranked, users[i].test);
        return m;
    };
    RankingMetrics one_pass = block(0, users.size());

    RankingMetrics abc = block(0, 100);
    abc.merge(block(100, 200));
    abc.merge(block(200, 300));

    RankingMetrics cba = block(200, 300);
    RankingMetrics ba = block(100, 200);
    ba.merge(block(0, 100));
    cba.merge(ba);

    RankingMetrics reversed(5, catalogue);
    for (size_t i = users.size(); i-- > 0;) reversed.add_user(users[i].ranked, users[i].test);

    expect_same(one_pass.result(), abc.result());
    expect_same(one_pass.result(), cba.result());
    expect_same(one_pass.result(), reversed.result());
    EXPECT_EQ(one_pass.result().users + one_pass.result().skipped_users, 300u);
}
