// Bayesian personalised ranking (Rendle, Freudenthaler, Gantner & Schmidt-
// Thieme 2009): matrix factorisation with item biases, trained by SGD on
// (user, bought item i, not-bought item j) triples to rank i above j.
// score(u, i) = x_u . y_i + b_i.
//
// Sampling: an epoch draws nnz triples; each takes an observed pair uniformly
// and a negative item uniformly among all items, redrawn if the user bought
// it. Parameters: factors (64), iterations (epochs, 100), learning_rate
// (0.01), regularization (0.01), seed (42).
//
// Reproducibility: the same data, parameters and seed give identical factors.
// Training runs on one thread: SGD steps are a few hundred multiply-adds on
// scattered rows, bound by memory latency (hidden by drawing samples ahead
// and prefetching what they read, and by checking negatives in a bitmap of
// purchases); lock-free sharing of the factors between threads (Hogwild, Niu
// et al. 2011) needs atomic, unvectorised accesses and was slower with 2
// threads than one.
//
// Anonymous baskets are folded in by the same SGD for one user against the
// fixed item factors and biases: iterations * |basket| steps (at most
// 200,000), from a fixed seed, so a basket always gets the same scores.
#pragma once

#include <functional>

#include <Eigen/Dense>

#include "model.h"

namespace recsys::bpr {

using Factors = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Options {
    uint32_t factors = 64;
    uint32_t iterations = 100;
    float learning_rate = 0.01f;
    float regularization = 0.01f;
    uint64_t seed = 42;
    // Not a parameter: up to this size, training keeps a bitmap of who bought
    // what (a bit per user and item) to check sampled negatives fast; above
    // it, it searches each user's sorted items. Both give the same model.
    uint64_t max_bitmap_bytes = uint64_t(64) << 20;
};

// Reads and validates the parameters, rejecting unknown ones.
Options read_options(const Params& params);

struct BprFactors {
    Factors users;         // n_users x factors
    Factors items;         // n_items x factors
    Eigen::VectorXf bias;  // n_items
};

// What an epoch saw, measured on its own samples before each update.
struct EpochStats {
    double auc = 0;   // share of triples ranked right
    double loss = 0;  // mean -log sigmoid(score_i - score_j)
};

BprFactors fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const EpochStats&)>& after_epoch = {});

std::unique_ptr<Scorer> make_scorer(BprFactors factors, const Options& opt);

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::bpr
