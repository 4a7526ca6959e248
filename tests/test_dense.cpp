// The dense kernels of every build this CPU can run, against plain Eigen.
#include "dense.h"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <random>

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

}  // namespace
