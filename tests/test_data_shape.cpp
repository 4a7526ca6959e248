// The sparse- and dense-data tests (data_shape.h) and the defaults every
// algorithm derives from them: each shape chooses the documented values,
// recorded in the model's parameters; explicit parameters win.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "data_shape.h"
#include "interactions.h"
#include "model.h"

using namespace recsys;

namespace {

// Each of `users` buys each of `items` with probability `density`.
InteractionBuilder random_rows(uint32_t users, uint32_t items, double density, uint32_t seed) {
    InteractionBuilder rows;
    std::mt19937 rng(seed);
    std::bernoulli_distribution present(density);
    for (uint32_t u = 0; u < users; ++u)
        for (uint32_t i = 0; i < items; ++i)
            if (present(rng)) rows.add(int64_t(u), int64_t(i), 1.0);
    return rows;
}

Model trained(const char* algorithm, const InteractionBuilder& rows, const char* params = "{}") {
    Context ctx;
    ctx.threads = 1;
    return train_model(algorithm, rows, params, ctx);
}

nlohmann::json trained_params(const char* algorithm, const InteractionBuilder& rows, const char* params = "{}") {
    return nlohmann::json::parse(trained(algorithm, rows, params).params_json);
}

CsrMatrix shape(uint32_t rows, uint32_t cols, uint64_t pairs) {
    CsrMatrix x;
    x.rows = rows;
    x.cols = cols;
    x.indices.resize(pairs);
    return x;
}

// ~1.6 buyers per item and 0.2% of pairs: sparse, with more items than users.
const InteractionBuilder& sparse_rows() {
    static const InteractionBuilder rows = random_rows(800, 2000, 0.002, 31);
    return rows;
}

}  // namespace

TEST(DataShape, SparseMeansFewBuyersPerItemAndLowDensity) {
    EXPECT_TRUE(is_sparse(shape(2373, 18574, 55267)));    // complete-journey: 3 buyers per item, 0.13%
    EXPECT_FALSE(is_sparse(shape(4338, 3616, 213535)));   // online-retail: 59 per item, 1.4%
    EXPECT_FALSE(is_sparse(shape(24026, 217, 124743)));   // clickstream: 575 per item, 2.4%
    EXPECT_FALSE(is_sparse(shape(5000, 1000, 15000)));    // 0.3%, but 15 buyers per item
    EXPECT_FALSE(is_sparse(shape(20, 10, 80)));           // 8 buyers per item, but 40% of pairs
    EXPECT_TRUE(is_sparse(shape(3000, 6000, 38000)));     // 6 per item, 0.21%
    EXPECT_FALSE(is_sparse(shape(3000, 6000, 72000)));    // 12 per item: not
    EXPECT_FALSE(is_sparse(shape(0, 0, 0)));
}

TEST(DataShape, DenseMeansManyBuyersPerItemAndHighDensity) {
    EXPECT_TRUE(is_dense(shape(500, 200, 15083)));        // synthetic dense: 75 buyers per item, 15%
    EXPECT_TRUE(is_dense(shape(2000, 20, 7712)));         // synthetic tiny catalogue: 386 per item, 19%
    EXPECT_TRUE(is_dense(shape(6040, 3706, 800167)));     // a movie-ratings shape: 216 per item, 3.6%
    EXPECT_FALSE(is_dense(shape(24026, 217, 124743)));    // clickstream: 575 per item, but 2.4%
    EXPECT_FALSE(is_dense(shape(4338, 3616, 213535)));    // online-retail: 1.4%
    EXPECT_FALSE(is_dense(shape(60, 40, 720)));           // 30%, but 18 buyers per item
    EXPECT_FALSE(is_dense(shape(200, 24, 900)));          // 19%, but 37 per item (like the als regression test)
    EXPECT_TRUE(is_dense(shape(200, 40, 2400)));          // 30%, 60 per item
    EXPECT_FALSE(is_dense(shape(0, 0, 0)));
    EXPECT_EQ(shape_of(shape(500, 200, 15083)), Shape::Dense);
    EXPECT_EQ(shape_of(shape(2373, 18574, 55267)), Shape::Sparse);
    EXPECT_EQ(shape_of(shape(24026, 217, 124743)), Shape::Normal);
}

TEST(DataShape, SparseDataDefaults) {
    const InteractionBuilder& sparse = sparse_rows();
    // EASE: λ = 100 x items / users (about 1,600 items bought, 800 users).
    const Model ease = trained("ease", sparse);
    ASSERT_GT(ease.n_items(), 1.5 * ease.n_users());
    EXPECT_DOUBLE_EQ(nlohmann::json::parse(ease.params_json)["lambda"].get<double>(),
                     100.0 * ease.n_items() / ease.n_users());
    // ALS: λ 20.
    EXPECT_DOUBLE_EQ(trained_params("als", sparse, R"({"factors": 4, "iterations": 1})")["regularization"].get<double>(),
                     20.0);
    // RP3beta: β 0, 100 neighbours, rows not normalised.
    const nlohmann::json rp3 = trained_params("rp3beta", sparse);
    EXPECT_DOUBLE_EQ(rp3["beta"].get<double>(), 0.0);
    EXPECT_EQ(rp3["neighbours"].get<int64_t>(), 100);
    EXPECT_FALSE(rp3["normalise"].get<bool>());
    EXPECT_DOUBLE_EQ(rp3["alpha"].get<double>(), 0.25);
    // item-kNN: plain cosine, shrinkage 100, 100 neighbours.
    const nlohmann::json knn = trained_params("itemknn", sparse);
    EXPECT_EQ(knn["weighting"].get<std::string>(), "none");
    EXPECT_EQ(knn["neighbours"].get<int64_t>(), 100);
    EXPECT_DOUBLE_EQ(knn["shrinkage"].get<double>(), 100.0);
}

TEST(DataShape, NormalDataKeepsTheDeclaredDefaults) {
    // 18 buyers per item and 30% of pairs: neither sparse nor (too few users) dense.
    const InteractionBuilder dense = random_rows(60, 40, 0.3, 32);
    EXPECT_DOUBLE_EQ(trained_params("ease", dense)["lambda"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(trained_params("als", dense, R"({"factors": 4, "iterations": 1})")["regularization"].get<double>(),
                     10.0);
    const nlohmann::json rp3 = trained_params("rp3beta", dense);
    EXPECT_DOUBLE_EQ(rp3["beta"].get<double>(), 0.4);
    EXPECT_EQ(rp3["neighbours"].get<int64_t>(), 10);
    EXPECT_TRUE(rp3["normalise"].get<bool>());
    EXPECT_EQ(trained_params("itemknn", dense)["weighting"].get<std::string>(), "bm25");
    EXPECT_DOUBLE_EQ(trained_params("itemknn", dense)["bm25_b"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(trained_params("bpr", dense, R"({"factors": 4, "iterations": 1})")["regularization"].get<double>(),
                     0.001);
    // Sparse, but users outnumber items: EASE's λ stays 100.
    const InteractionBuilder many_users = random_rows(2000, 1500, 0.003, 33);  // ~6 buyers per item, 0.3%
    EXPECT_DOUBLE_EQ(trained_params("ease", many_users)["lambda"].get<double>(), 100.0);
    EXPECT_EQ(trained_params("rp3beta", many_users)["neighbours"].get<int64_t>(), 100);  // but sparse
}

TEST(DataShape, DenseDataDefaults) {
    const InteractionBuilder dense = random_rows(300, 40, 0.3, 34);  // ~90 buyers per item, 30%
    // ALS: λ 30.
    EXPECT_DOUBLE_EQ(trained_params("als", dense, R"({"factors": 4, "iterations": 1})")["regularization"].get<double>(),
                     30.0);
    // BPR: regularisation 0.03.
    EXPECT_DOUBLE_EQ(trained_params("bpr", dense, R"({"factors": 4, "iterations": 1})")["regularization"].get<double>(),
                     0.03);
    // item-kNN: BM25 without length normalisation, 10 neighbours.
    const nlohmann::json knn = trained_params("itemknn", dense);
    EXPECT_EQ(knn["weighting"].get<std::string>(), "bm25");
    EXPECT_DOUBLE_EQ(knn["bm25_b"].get<double>(), 0.0);
    EXPECT_EQ(knn["neighbours"].get<int64_t>(), 10);
    // Explicit parameters win.
    EXPECT_DOUBLE_EQ(trained_params("als", dense, R"({"factors": 4, "iterations": 1, "regularization": 10})")
                         ["regularization"].get<double>(),
                     10.0);
    EXPECT_DOUBLE_EQ(trained_params("bpr", dense, R"({"factors": 4, "iterations": 1, "regularization": 0.001})")
                         ["regularization"].get<double>(),
                     0.001);
    EXPECT_DOUBLE_EQ(trained_params("itemknn", dense, R"({"bm25_b": 0.75})")["bm25_b"].get<double>(), 0.75);
    // EASE: λ 300.
    EXPECT_DOUBLE_EQ(trained_params("ease", dense)["lambda"].get<double>(), 300.0);
    EXPECT_DOUBLE_EQ(trained_params("ease", dense, R"({"lambda": 100})")["lambda"].get<double>(), 100.0);
    // RP3beta has no dense rule.
    EXPECT_DOUBLE_EQ(trained_params("rp3beta", dense)["beta"].get<double>(), 0.4);
}

TEST(DataShape, ExplicitParametersWin) {
    const InteractionBuilder& sparse = sparse_rows();
    EXPECT_DOUBLE_EQ(trained_params("ease", sparse, R"({"lambda": 100})")["lambda"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(trained_params("als", sparse, R"({"factors": 4, "iterations": 1, "regularization": 10})")
                         ["regularization"].get<double>(),
                     10.0);
    const nlohmann::json rp3 =
        trained_params("rp3beta", sparse, R"({"beta": 0.4, "neighbours": 10, "normalise": true})");
    EXPECT_DOUBLE_EQ(rp3["beta"].get<double>(), 0.4);
    EXPECT_EQ(rp3["neighbours"].get<int64_t>(), 10);
    EXPECT_TRUE(rp3["normalise"].get<bool>());
    // One given, the others still derived.
    const nlohmann::json beta_only = trained_params("rp3beta", sparse, R"({"beta": 0.3})");
    EXPECT_DOUBLE_EQ(beta_only["beta"].get<double>(), 0.3);
    EXPECT_EQ(beta_only["neighbours"].get<int64_t>(), 100);
    EXPECT_FALSE(beta_only["normalise"].get<bool>());
}
