// Alternating least squares for implicit feedback (Hu, Koren & Volinsky
// 2008), each row solved by a few conjugate-gradient steps (Takács, Pilászy
// & Tikk 2011).
//
// Objective, over ALL user-item pairs:
//   sum_ui c_ui (p_ui - x_u.y_i)^2 + lambda (sum_u |x_u|^2 + sum_i |y_i|^2)
// with p_ui = 1, c_ui = 1 + alpha * w_ui for an observed pair of summed
// weight w_ui, and p_ui = 0, c_ui = 1 otherwise.
//
// Convention: the `implicit` Python library uses c_ui = alpha * w_ui for
// observed pairs, so its alpha = a on binary data corresponds to alpha = a - 1
// here (its alpha = 1 is alpha = 0 here, i.e. plain least squares).
//
// Parameters: factors (128), iterations (15), regularization (lambda, 10),
// alpha (1.0), seed (42), cg_steps (3), solver ("cg" or "cholesky": the exact
// normal equations, slow, for checking), binary (true: w_ui = 1 for every
// observed pair, also in folded-in baskets; false: the summed weight, which
// wholesale quantities make a poor confidence).
//
// Training is reproducible: the same data, parameters and seed give identical
// factors whatever the thread count (rows are solved in fixed blocks of 64),
// on one kind of CPU (the kernels are picked for the CPU and round
// differently: see dense.h).
//
// The progress line of each iteration reports the objective divided by the
// total confidence sum_ui c_ui (users * items + alpha * sum w).
#pragma once

#include <cmath>
#include <functional>

#include <Eigen/Dense>

#include "compression.h"
#include "data_shape.h"
#include "model.h"

namespace recsys::als {

extern const Algorithm algorithm;

using Factors = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Options {
    // The defaults of the parameters (kParams in als.cpp) for C++ callers.
    uint32_t factors = 128;
    uint32_t iterations = 15;
    float regularization = 10.0f;
    float alpha = 1.0f;
    uint64_t seed = 42;
    uint32_t cg_steps = 3;
    bool cholesky = false;
    bool binary = true;  // every observed pair weighs 1 (else its summed quantity)
    float regularization_exponent = 0.0f;  // nu of RowRegularization
    Encoding compression = Encoding::Float32;  // of the stored factors (compression.h)
};

// Reads and validates the parameters, rejecting unknown ones. `shape`: the
// training data's (data_shape.h), which changes the defaults.
Options read_options(const Params& params, Shape shape = Shape::Normal);

// Frequency-scaled regularisation (Rendle, Krichene, Zhang & Koren 2022,
// "Revisiting the performance of iALS", after Zhou et al. 2008): row r (a
// user or an item) is regularised by
//   lambda_r = scale * n_r^nu,  n_r = sum over the other side of c_r. =
//              (size of the other side) + alpha * (sum of the row's weights),
// its total confidence: the paper's |I_u| + alpha_0 |I| up to the factor
// 1 + alpha (our c = 1 + alpha for an observed pair, 1 otherwise, is its
// weight 1 observed, alpha_0 = 1 / (1 + alpha) unobserved). scale = lambda
// (|U| + |I|) / (sum over all users and items of n_r^nu), the paper's
// rescaling to the scale of nu = 0, so that good lambdas stay comparable
// across nu. nu = 0 (regularization_exponent's default) is plain lambda for
// every row, as before 0.2.0; nu = 1, the paper's recipe, measured as well
// on online-retail and better on complete-journey (bench/accuracy.sh als)
// but worse on small planted-structure data (README.md, "als").
struct RowRegularization {
    float exponent = 0.0f;  // nu
    double scale = -1.0;    // < 0: not set (plain regularization)
    double lambda(double n_other, double weight_sum, float alpha) const {
        return exponent == 0.0f ? scale : scale * std::pow(n_other + double(alpha) * weight_sum, double(exponent));
    }
};

// The scale of training on X (users x items) with these options.
RowRegularization row_regularization(const CsrMatrix& x, const Options& opt);

struct FactorPair {
    Factors users;  // n_users x factors
    Factors items;  // n_items x factors
    RowRegularization regularization{};  // as trained (fit sets it)
};

// Trains on X (users x items). If given, after_iteration(it, factors, loss)
// is called after each iteration (it counts from 1; loss is the objective).
FactorPair fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const FactorPair&, double)>& after_iteration = {});

// The objective above, computed in O(nnz f + (users + items) f^2).
double loss(const CsrMatrix& x, const FactorPair& m, const Options& opt);

// One row's solve against fixed factors `y` (exposed for tests): `steps`
// conjugate-gradient steps from `start`, or the exact solution, with the
// row's lambda (default: opt.regularization).
Eigen::VectorXf solve_row_cg(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights,
                             const Options& opt, const Eigen::VectorXf& start, uint32_t steps,
                             std::optional<float> row_lambda = std::nullopt);
Eigen::VectorXf solve_row_exact(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights,
                                const Options& opt, std::optional<float> row_lambda = std::nullopt);

// The Scorer: a known user is scored with their learned vector. An anonymous
// basket is folded in by the exact least-squares solve against the item
// factors (what training would give that user with the items fixed).
// explain() uses Hu et al.'s decomposition: with W = (Y^T C_u Y + lambda I)^-1,
// score_ui = sum_j (y_i^T W y_j) c_uj, summed over the basket's items j. These
// contributions add up to the fold-in score; for a known user that may differ
// slightly from the score of their stored vector (after few CG iterations).
// `binary`: the model was trained on binary weights, so baskets are binarised too.
// With `compression`, the factors are quantised first (compression.h).
std::unique_ptr<Scorer> make_scorer(FactorPair factors, float alpha, float regularization, bool binary = false,
                                    Encoding compression = Encoding::Float32);

// The factors of an ALS model's scorer; null for another algorithm's.
const FactorPair* factors_of(const Scorer& scorer);

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::als
