// The dense kernels of every build this CPU can run, against plain Eigen.
#include "dense.h"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "compression.h"
#include "topk.h"

namespace {

using recsys::dense::Kernels;
using Eigen::MatrixXd;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

MatrixXd random_spd(Eigen::Index n, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<double> normal;
    MatrixXd a(n + 5, n);
    for (Eigen::Index k = 0; k < a.size(); ++k) a.data()[k] = normal(gen);
    return a.transpose() * a + MatrixXd::Identity(n, n);
}

class Dense : public ::testing::TestWithParam<const Kernels*> {};

TEST_P(Dense, CholeskyInPlaceOfABlock) {
    const Kernels& k = *GetParam();
    const MatrixXd spd = random_spd(37, 1);
    MatrixXd big = MatrixXd::Constant(50, 50, 7.0);  // the block sits inside a larger matrix
    big.block(3, 5, 37, 37) = spd;
    ASSERT_TRUE(k.cholesky(&big(3, 5), 50, 37));
    const MatrixXd l = big.block(3, 5, 37, 37).triangularView<Eigen::Lower>();
    EXPECT_LT((l * l.transpose() - spd).norm(), 1e-10 * spd.norm());
    EXPECT_EQ(big(2, 5), 7.0);  // outside the block: untouched
    EXPECT_EQ(big(3, 6), spd(0, 1));  // the strict upper triangle: untouched

    MatrixXd indefinite = spd;
    indefinite(10, 10) = -1.0;
    EXPECT_FALSE(k.cholesky(indefinite.data(), 37, 37));
}

TEST_P(Dense, TriangularSolvesAndProducts) {
    const Kernels& k = *GetParam();
    const MatrixXd spd = random_spd(20, 2);
    const MatrixXd l = spd.llt().matrixL();
    const MatrixXd b = MatrixXd::Random(9, 20);

    MatrixXd x = b;
    k.solve_right_lower_transposed(l.data(), 20, 20, x.data(), 9, 9);
    EXPECT_LT((x * l.transpose() - b).norm(), 1e-10 * b.norm());

    const MatrixXd z0 = MatrixXd::Random(20, 6);
    MatrixXd z = z0;
    k.solve_lower(l.data(), 20, 20, z.data(), 20, 6, false);
    EXPECT_LT((l * z - z0).norm(), 1e-10 * z0.norm());
    z = z0;
    k.solve_lower(l.data(), 20, 20, z.data(), 20, 6, true);
    EXPECT_LT((l.transpose() * z - z0).norm(), 1e-10 * z0.norm());

    const MatrixXd a = MatrixXd::Random(8, 5), c0 = MatrixXd::Random(8, 7), bt = MatrixXd::Random(7, 5);
    MatrixXd c = c0;
    k.subtract_product_transposed(a.data(), 8, bt.data(), 7, 5, c.data(), 8, 8, 7);
    EXPECT_LT((c - (c0 - a * bt.transpose())).norm(), 1e-12);

    // c -= a b and c -= aᵀ b, on blocks inside larger matrices (leading dimensions)
    const MatrixXd big_a = MatrixXd::Random(12, 9), big_b = MatrixXd::Random(10, 11);
    c = c0;
    k.subtract_product(&big_a(1, 2), 12, false, &big_b(2, 3), 10, 5, c.data(), 8, 8, 7);
    EXPECT_LT((c - (c0 - big_a.block(1, 2, 8, 5) * big_b.block(2, 3, 5, 7))).norm(), 1e-12);
    c = c0;
    k.subtract_product(&big_a(1, 0), 12, true, &big_b(2, 3), 10, 5, c.data(), 8, 8, 7);
    EXPECT_LT((c - (c0 - big_a.block(1, 0, 5, 8).transpose() * big_b.block(2, 3, 5, 7))).norm(), 1e-12);
}

TEST_P(Dense, FloatProductAndGramian) {
    const Kernels& k = *GetParam();
    const MatrixF a = MatrixF::Random(13, 24), b = MatrixF::Random(24, 16);
    MatrixF c(13, 16);
    k.multiply(a.data(), b.data(), c.data(), 13, 24, 16);
    EXPECT_LT((c - a * b).norm(), 1e-4f * (a * b).norm());

    // Lower triangle += aᵀ a, twice (in two pieces of rows); the upper is left alone.
    MatrixF g = MatrixF::Constant(24, 24, 5.0f);
    g.triangularView<Eigen::Lower>().setZero();
    k.add_gramian(a.data(), 6, 24, g.data());
    k.add_gramian(a.row(6).data(), 7, 24, g.data());
    const MatrixF want = a.transpose() * a;
    EXPECT_LT((MatrixF(g.triangularView<Eigen::Lower>()) - MatrixF(want.triangularView<Eigen::Lower>())).norm(),
              1e-4f * want.norm());
    EXPECT_EQ(g(0, 1), 5.0f);
}


// Random factors: users x f and items x f, row-major.
MatrixF random_factors(Eigen::Index rows, Eigen::Index f, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    MatrixF m(rows, f);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(gen);
    return m;
}

TEST_P(Dense, ScorePanelsIsTheProductAndEachRowAlone) {
    const Kernels& k = *GetParam();
    // 70: two full panels and a partial one; 301: a row alone scores
    // several panels at once, then the last ones one by one.
    for (Eigen::Index f : {1, 7, 37, 128}) {
        for (Eigen::Index n : {70, 301}) {
            const Eigen::Index rows = 13, ldx = f + 3, ldo = n + 5;
            const MatrixF users = random_factors(rows, ldx, 2), items = random_factors(n, f, 3);
            const std::vector<float> panels = recsys::dense::pack_panels(items.data(), n, f);
            ASSERT_EQ(panels.size(), size_t((n + 31) / 32 * 32 * f));
            std::vector<float> out(rows * ldo, -9.0f);
            k.score_panels(users.data(), ldx, rows, panels.data(), f, n, out.data(), ldo);
            for (Eigen::Index r = 0; r < rows; ++r) {
                for (Eigen::Index i = 0; i < n; ++i) {
                    double want = 0;
                    for (Eigen::Index q = 0; q < f; ++q) want += double(users(r, q)) * items(i, q);
                    EXPECT_NEAR(out[r * ldo + i], want, 1e-5 * (1 + std::abs(want)) * std::sqrt(double(f)));
                }
                for (Eigen::Index i = n; i < ldo; ++i) EXPECT_EQ(out[r * ldo + i], -9.0f);  // past n: untouched
                // One row alone, at any place in a block: the same bits.
                std::vector<float> alone(n);
                k.score_panels(&users(r, 0), ldx, 1, panels.data(), f, n, alone.data(), n);
                for (Eigen::Index i = 0; i < n; ++i) ASSERT_EQ(alone[i], out[r * ldo + i]) << "row " << r << " item " << i;
            }
        }
    }
}

// The ranking of every build against the brute-force one: scores in double,
// a full sort, the same top 10 (the random scores have no near ties).
TEST_P(Dense, ScorePanelsThenTopKRanksAsBruteForce) {
    const Kernels& k = *GetParam();
    const Eigen::Index rows = 20, n = 301, f = 48;
    const MatrixF users = random_factors(rows, f, 4), items = random_factors(n, f, 5);
    const std::vector<float> panels = recsys::dense::pack_panels(items.data(), n, f);
    std::vector<float> out(rows * n);
    k.score_panels(users.data(), f, rows, panels.data(), f, n, out.data(), n);
    for (Eigen::Index r = 0; r < rows; ++r) {
        std::vector<std::pair<double, uint32_t>> want;
        for (uint32_t i = 0; i < n; ++i) {
            if (i % 7 == 3) continue;  // "seen" items, filtered after scoring
            double s = 0;
            for (Eigen::Index q = 0; q < f; ++q) s += double(users(r, q)) * items(i, q);
            want.push_back({-s, i});
        }
        std::sort(want.begin(), want.end());
        const auto got = recsys::top_k(std::span<const float>(out.data() + r * n, n), 10,
                                       [](uint32_t i) { return i % 7 != 3; });
        ASSERT_EQ(got.size(), 10u);
        for (size_t j = 0; j < got.size(); ++j) {
            EXPECT_EQ(got[j].item, want[j].second) << "row " << r << " rank " << j;
            EXPECT_NEAR(got[j].score, -want[j].first, 1e-4);
        }
    }
}

TEST_P(Dense, SumRowsIsTheSparseProductAndColumnsStandAlone) {
    const Kernels& k = *GetParam();
    // 5003: wide enough to be streamed a chunk of columns at a time, with
    // a last column off any vector boundary.
    for (Eigen::Index n : {150, 5003}) {
        const Eigen::Index ldb = n + 3;
        const MatrixF b = random_factors(20, ldb, 6);
        const std::vector<uint32_t> rows = {4, 0, 19, 4, 7, 12, 3};  // a repeat adds twice
        const std::vector<float> w = {1.0f, 0.5f, 2.0f, -1.5f, 1.0f, 0.25f, 3.0f};
        for (Eigen::Index count : {0, 1, 7}) {
            std::vector<float> out(n + 2, -9.0f);
            k.sum_rows(b.data(), ldb, rows.data(), w.data(), count, n, out.data());
            for (Eigen::Index c = 0; c < n; ++c) {
                double want = 0;
                for (Eigen::Index q = 0; q < count; ++q) want += double(w[q]) * b(rows[q], c);
                EXPECT_NEAR(out[c], want, 1e-5 * (1 + std::abs(want)));
            }
            EXPECT_EQ(out[n], -9.0f);
            // Two tiles of columns, the second starting off any vector boundary: the same bits.
            std::vector<float> tiled(n);
            k.sum_rows(b.data(), ldb, rows.data(), w.data(), count, 37, tiled.data());
            k.sum_rows(b.data() + 37, ldb, rows.data(), w.data(), count, n - 37, tiled.data() + 37);
            for (Eigen::Index c = 0; c < n; ++c) ASSERT_EQ(tiled[c], out[c]) << "column " << c;
            // Narrow tiles (summed in registers) give the bits of one wide call (streamed).
            for (Eigen::Index c = 0; c < n; c += 256)
                k.sum_rows(b.data() + c, ldb, rows.data(), w.data(), count, std::min<Eigen::Index>(256, n - c), tiled.data() + c);
            for (Eigen::Index c = 0; c < n; ++c) ASSERT_EQ(tiled[c], out[c]) << "column " << c;
        }
    }
}

// float16 values (normal, subnormal, zero of either sign) are widened
// exactly as they are read: the bits of sum_rows over the widened matrix,
// and the sparse product in double within float rounding.
TEST_P(Dense, SumHalfRowsIsSumRowsOfTheWidenedMatrix) {
    const Kernels& k = *GetParam();
    for (Eigen::Index n : {300, 5003}) {  // 5003: streamed (sum_rows' test)
        const Eigen::Index ldb = n + 7, m = 20;
        const MatrixF x = random_factors(m, ldb, 9);
        std::vector<uint16_t> h(size_t(m * ldb));
        for (size_t i = 0; i < h.size(); ++i) {
            const float v = i % 11 == 0 ? x.data()[i] * 1e-6f : i % 13 == 0 ? -0.0f : x.data()[i];
            h[i] = recsys::to_half(v);
        }
        std::vector<float> widened(h.size());
        for (size_t i = 0; i < h.size(); ++i) widened[i] = recsys::from_half(h[i]);
        const std::vector<uint32_t> rows = {4, 0, 19, 4, 7, 12, 3};
        const std::vector<float> w = {1.0f, 0.5f, 2.0f, -1.5f, 1.0f, 0.25f, 3.0f};
        for (Eigen::Index count : {0, 1, 7}) {
            std::vector<float> out(n + 2, -9.0f), want(n);
            k.sum_half_rows(h.data(), ldb, rows.data(), w.data(), count, n, out.data());
            k.sum_rows(widened.data(), ldb, rows.data(), w.data(), count, n, want.data());
            for (Eigen::Index c = 0; c < n; ++c) {
                ASSERT_EQ(out[c], want[c]) << "column " << c;
                double exact = 0;
                for (Eigen::Index q = 0; q < count; ++q) exact += double(w[q]) * widened[rows[q] * ldb + c];
                EXPECT_NEAR(out[c], exact, 1e-5 * (1 + std::abs(exact)));
            }
            EXPECT_EQ(out[n], -9.0f);
            // A tile of columns starting off any vector boundary: the same bits.
            std::vector<float> tiled(n);
            k.sum_half_rows(h.data(), ldb, rows.data(), w.data(), count, 37, tiled.data());
            k.sum_half_rows(h.data() + 37, ldb, rows.data(), w.data(), count, n - 37, tiled.data() + 37);
            for (Eigen::Index c = 0; c < n; ++c) ASSERT_EQ(tiled[c], out[c]) << "column " << c;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Builds, Dense, ::testing::ValuesIn(recsys::dense::runnable_kernels()),
                         [](const auto& info) {
                             std::string name = info.param->isa;
                             for (char& ch : name)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return name;
                         });

TEST(DenseDispatch, ChoosesTheBestRunnableBuild) {
    EXPECT_EQ(&recsys::dense::kernels(), recsys::dense::runnable_kernels().back());
}

// The builds with fused multiply-adds (all but the baseline) score with the
// same bits, so a batch is ranked alike on AVX2 and AVX-512 CPUs.
TEST(DenseDispatch, FusedBuildsScoreAlike) {
    const auto builds = recsys::dense::runnable_kernels();
    const Eigen::Index rows = 9, n = 77, f = 64;
    const MatrixF users = random_factors(rows, f, 7), items = random_factors(n, f, 8);
    const std::vector<float> panels = recsys::dense::pack_panels(items.data(), n, f);
    const std::vector<uint32_t> picked = {3, 60, 12, 41};
    const std::vector<float> w = {1.0f, 2.0f, 0.5f, 1.0f};
    std::vector<uint16_t> halves(items.size());
    for (size_t i = 0; i < halves.size(); ++i) halves[i] = recsys::to_half(items.data()[i]);
    std::vector<float> first_scores, first_sums, first_half_sums;
    for (size_t b = 1; b < builds.size(); ++b) {
        std::vector<float> scores(rows * n), sums(f), half_sums(f);
        builds[b]->score_panels(users.data(), f, rows, panels.data(), f, n, scores.data(), n);
        builds[b]->sum_rows(items.data(), f, picked.data(), w.data(), 4, f, sums.data());
        builds[b]->sum_half_rows(halves.data(), f, picked.data(), w.data(), 4, f, half_sums.data());
        if (first_scores.empty()) {
            first_scores = scores;
            first_sums = sums;
            first_half_sums = half_sums;
            continue;
        }
        EXPECT_EQ(scores, first_scores) << builds[b]->isa;
        EXPECT_EQ(sums, first_sums) << builds[b]->isa;
        EXPECT_EQ(half_sums, first_half_sums) << builds[b]->isa;
    }
}

// top_k (threshold-pruned heap) against a full sort, with ties, filters and
// every k around the 16-score runs it skips.
TEST(TopK, EqualsAFullSortWithTiesAndFilters) {
    std::mt19937 gen(9);
    std::uniform_int_distribution<int> level(0, 40);  // few distinct values: many ties
    for (size_t n : {0, 1, 15, 16, 17, 100, 1000}) {
        std::vector<float> scores(n);
        for (float& x : scores) x = float(level(gen)) * 0.25f - 3.0f;
        for (size_t k : {0, 1, 3, 10, 16, 17, 64, 2000}) {
            for (int filter = 0; filter < 2; ++filter) {
                auto keep = [&](uint32_t i) { return filter == 0 || (i % 5 != 2 && scores[i] > -2.0f); };
                std::vector<recsys::Scored> want;
                for (uint32_t i = 0; i < n; ++i)
                    if (keep(i)) want.push_back({i, scores[i]});
                std::sort(want.begin(), want.end(), recsys::better);
                want.resize(std::min(k, want.size()));
                const auto got = recsys::top_k(std::span<const float>(scores), k, keep);
                ASSERT_EQ(got.size(), want.size()) << "n " << n << " k " << k;
                for (size_t j = 0; j < got.size(); ++j) {
                    EXPECT_EQ(got[j].item, want[j].item) << "n " << n << " k " << k << " rank " << j;
                    EXPECT_EQ(got[j].score, want[j].score);
                }
            }
        }
    }
}

}  // namespace
