#include "weighting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "errors.h"

using namespace recsys;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename F>
bool throws_invalid_input(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind() == ErrorKind::InvalidInput;
    }
    return false;
}

// Builds a CSR from dense rows; zeros are not stored.
CsrMatrix csr(const std::vector<std::vector<float>>& dense) {
    CsrMatrix m;
    m.rows = uint32_t(dense.size());
    m.cols = dense.empty() ? 0 : uint32_t(dense[0].size());
    for (const auto& row : dense) {
        for (uint32_t j = 0; j < row.size(); ++j)
            if (row[j] != 0) m.indices.push_back(j), m.values.push_back(row[j]);
        m.indptr.push_back(m.indices.size());
    }
    return m;
}

// 4 users x 3 items; user 3 has nothing. N = 4, df = (3, 2, 1),
// idf = (ln 4/3, ln 2, ln 4) = (0.287682072, 0.693147181, 1.386294361).
CsrMatrix example() {
    return csr({{4, 1, 0},
                {1, 2, 0},
                {9, 0, 2},
                {0, 0, 0}});
}

}  // namespace

TEST(LogScale, Formula) {
    EXPECT_NEAR(log_scale(3, 2, 1), 3.772588722239781, 1e-12);  // 1 + 2 ln 4
    EXPECT_NEAR(log_scale(10, 1, 5), 2.09861228866811, 1e-12);   // 1 + ln 3
    EXPECT_DOUBLE_EQ(log_scale(0, 7, 1), 1);
    EXPECT_DOUBLE_EQ(log_scale(5, 0, 1), 1);

    CsrMatrix m = csr({{3, 0}, {0, 10}});
    log_scale(m, 2, 1);
    EXPECT_NEAR(m.values[0], 3.772588722, 1e-6);
    EXPECT_NEAR(m.values[1], 1 + 2 * 2.397895273, 1e-6);  // 1 + 2 ln 11
}

TEST(LogScale, RejectsBadArguments) {
    EXPECT_TRUE(throws_invalid_input([] { log_scale(-1, 1, 1); }));
    EXPECT_TRUE(throws_invalid_input([] { log_scale(1, -1, 1); }));
    EXPECT_TRUE(throws_invalid_input([] { log_scale(1, 1, 0); }));
    EXPECT_TRUE(throws_invalid_input([] { log_scale(kNaN, 1, 1); }));
    EXPECT_TRUE(throws_invalid_input([] { log_scale(1, kNaN, 1); }));
}

TEST(MatrixWeighting, ChecksEverythingBeforeChangingAnything) {
    CsrMatrix empty = csr({{0, 0}});
    EXPECT_TRUE(throws_invalid_input([&] { log_scale(empty, -1, 1); }));
    EXPECT_TRUE(throws_invalid_input([&] { clip_weights(empty, -1); }));
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(empty, 1.2, 2); }));

    // The bad value comes last, so a check-as-you-go loop would have
    // already rewritten the first ones.
    CsrMatrix bad = csr({{1, 2, -3}});
    const std::vector<float> before = bad.values;
    EXPECT_TRUE(throws_invalid_input([&] { log_scale(bad, 1, 1); }));
    EXPECT_TRUE(throws_invalid_input([&] { clip_weights(bad, 1); }));
    EXPECT_TRUE(throws_invalid_input([&] { tfidf_weight(bad); }));
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(bad, 1.2, 0.75); }));
    EXPECT_EQ(bad.values, before);
}

TEST(TimeDecay, HalvesEveryHalfLife) {
    const double day = 86400;
    EXPECT_DOUBLE_EQ(time_decay(2, 0, day, day), 1);             // one half-life
    EXPECT_DOUBLE_EQ(time_decay(2, 1000, 1000 + 2 * day, day), 0.5);  // two: 2 / 4
    EXPECT_NEAR(time_decay(1, 0, 1.5 * day, day), 0.3535533905932738, 1e-15);  // 2^-1.5
    EXPECT_DOUBLE_EQ(time_decay(3, day, day, day), 3);           // age 0
    EXPECT_DOUBLE_EQ(time_decay(3, 5 * day, day, day), 3);       // future: treated as age 0
}

TEST(TimeDecay, RejectsBadArguments) {
    EXPECT_TRUE(throws_invalid_input([] { time_decay(1, 0, 10, 0); }));
    EXPECT_TRUE(throws_invalid_input([] { time_decay(1, 0, 10, -5); }));
    EXPECT_TRUE(throws_invalid_input([] { time_decay(-1, 0, 10, 5); }));
    EXPECT_TRUE(throws_invalid_input([] { time_decay(1, kNaN, 10, 5); }));
    EXPECT_TRUE(throws_invalid_input([] { time_decay(1, 0, 10, kNaN); }));
}

TEST(Clipping, CapsWeights) {
    EXPECT_EQ(clip_weight(5, 3), 3);
    EXPECT_EQ(clip_weight(2, 3), 2);
    EXPECT_TRUE(throws_invalid_input([] { clip_weight(2, -1); }));
    EXPECT_TRUE(throws_invalid_input([] { clip_weight(kNaN, 1); }));
    EXPECT_TRUE(throws_invalid_input([] { clip_weight(-1, 1); }));

    CsrMatrix m = example();
    clip_weights(m, 3);
    EXPECT_EQ(m.values, (std::vector<float>{3, 1, 1, 2, 3, 2}));
}

TEST(Clipping, QuantileCap) {
    // Stored values sorted: 1, 1, 2, 2, 4, 9 (n = 6).
    //   0.5 -> position 2.5 -> 2;  0.9 -> position 4.5 -> 4 + 0.5 * 5 = 6.5
    CsrMatrix m = example();
    EXPECT_DOUBLE_EQ(quantile_cap(m, 0.5), 2);
    EXPECT_DOUBLE_EQ(quantile_cap(m, 0.9), 6.5);
    EXPECT_DOUBLE_EQ(quantile_cap(m, 1), 9);
    EXPECT_TRUE(throws_invalid_input([] { quantile_cap(csr({{0, 0}}), 0.5); }));
    EXPECT_TRUE(throws_invalid_input([&] { quantile_cap(m, 2); }));
}

TEST(TfIdf, SqrtTfTimesIdf) {
    // w' = sqrt(w) * idf_j with idf from example():
    //   u0: 2 * 0.287682072 = 0.575364145,  1 * 0.693147181
    //   u1: 1 * 0.287682072,                sqrt 2 * 0.693147181 = 0.980258143
    //   u2: 3 * 0.287682072 = 0.863046217,  sqrt 2 * 1.386294361 = 1.960516287
    CsrMatrix m = example();
    tfidf_weight(m);
    std::vector<double> expected{0.5753641449035617, 0.6931471805599453, 0.28768207245178085,
                                 0.9802581434685472, 0.8630462173553426, 1.9605162869370945};
    ASSERT_EQ(m.values.size(), expected.size());
    for (size_t e = 0; e < expected.size(); ++e) EXPECT_NEAR(m.values[e], expected[e], 1e-6) << e;
    EXPECT_EQ(m.indices, example().indices);  // structure untouched
}

TEST(TfIdf, ItemEveryoneHasGetsZero) {
    CsrMatrix m = csr({{1, 5}, {3, 0}});  // item 0: df = N = 2, idf = ln 1 = 0
    tfidf_weight(m);
    EXPECT_EQ(m.values[0], 0);
    EXPECT_EQ(m.values[2], 0);
    EXPECT_NEAR(m.values[1], std::sqrt(5.0) * std::log(2.0), 1e-6);
}

TEST(Bm25, Formula) {
    // k1 = 1.2, b = 0.75. Row sums 5, 3, 11, 0 -> avg_len = 19 / 4 = 4.75.
    // norm_u = 0.25 + 0.75 * len_u / 4.75: u0 1.039473684, u1 0.723684211,
    // u2 1.986842105. w' = w * 2.2 / (w + 1.2 * norm_u) * idf_j, e.g.
    // u0,i0: 4 * 2.2 / (4 + 1.247368421) * 0.287682072 = 0.482451780.
    CsrMatrix m = example();
    bm25_weight(m, 1.2, 0.75);
    std::vector<double> expected{0.48245178048082005, 0.6785375210165273, 0.33873551066153357,
                                 1.0632496200882833,  0.5003513437649558, 1.3912870178826273};
    ASSERT_EQ(m.values.size(), expected.size());
    for (size_t e = 0; e < expected.size(); ++e) EXPECT_NEAR(m.values[e], expected[e], 1e-6) << e;
}

TEST(Bm25, LimitingCases) {
    // k1 = 0: every stored weight becomes idf_j (binary tf).
    CsrMatrix m = example();
    bm25_weight(m, 0, 0.75);
    EXPECT_NEAR(m.values[0], std::log(4.0 / 3), 1e-6);
    EXPECT_NEAR(m.values[3], std::log(2.0), 1e-6);
    EXPECT_NEAR(m.values[5], std::log(4.0), 1e-6);

    // b = 0: no length normalisation; u2,i0: 9 * 2.2 / (9 + 1.2) * ln(4/3).
    m = example();
    bm25_weight(m, 1.2, 0);
    EXPECT_NEAR(m.values[4], 9 * 2.2 / 10.2 * std::log(4.0 / 3), 1e-6);

    // A stored zero stays zero, even with k1 = 0.
    CsrMatrix z;
    z.rows = 2, z.cols = 1, z.indptr = {0, 1, 1}, z.indices = {0}, z.values = {0};
    bm25_weight(z, 0, 0.75);
    EXPECT_EQ(z.values[0], 0);
}

TEST(Bm25, RejectsBadArguments) {
    CsrMatrix m = example();
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(m, -1, 0.5); }));
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(m, 1.2, 1.5); }));
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(m, 1.2, kNaN); }));
    CsrMatrix negative = csr({{-1, 2}});
    EXPECT_TRUE(throws_invalid_input([&] { bm25_weight(negative, 1.2, 0.75); }));
    EXPECT_TRUE(throws_invalid_input([&] { tfidf_weight(negative); }));
}
