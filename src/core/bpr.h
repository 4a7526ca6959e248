// Bayesian personalised ranking (Rendle, Freudenthaler, Gantner & Schmidt-
// Thieme 2009): matrix factorisation with item biases, trained by SGD on
// (user, bought item i, not-bought item j) triples to rank i above j.
// score(u, i) = x_u . y_i + b_i.
//
// Sampling: an epoch draws nnz triples, stratified so that threads never
// update the same row (as in distributed SGD for matrix factorisation,
// Gemulla et al. 2011). Users are dealt at random into G groups once, items
// into G groups anew every epoch (G = 8, 4, 2 or 1: the most that leaves each
// item group min_group_items items). Stratum (a, b) draws as many triples as
// it has pairs: each an observed pair of user group a and item group b,
// uniformly, and a negative uniformly from item group b, redrawn if the user
// bought it. The G strata (a, a + p mod G) of phase p share no user and no
// item and run in parallel; over epochs every item meets every other as a
// negative. Parameters: factors (64), iterations (epochs, 100),
// learning_rate (0.01), regularization (0.01), seed (42).
//
// Reproducibility: the same data, parameters and seed give identical factors
// for any thread count (strata do not depend on it), on one kind of CPU.
// Steps are a few hundred multiply-adds on scattered rows, bound by memory
// latency: samples are drawn ahead and what they read prefetched, negatives
// are checked in a bitmap of purchases, and every factor row starts a cache
// line, so two threads never write to one line.
//
// Anonymous baskets are folded in by the same SGD for one user against the
// fixed item factors and biases: iterations * |basket| steps (at most
// 200,000), from a fixed seed, so a basket always gets the same scores.
#pragma once

#include <functional>

#include <Eigen/Dense>

#include "model.h"

namespace recsys::bpr {

extern const Algorithm algorithm;

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
    // Not a parameter: users and items are dealt into 8, 4 or 2 groups (the
    // most that leaves each item group this many items to draw negatives
    // from), or 1.
    uint32_t min_group_items = 256;
    // Not a parameter: the steps on two consecutive samples that share no
    // row are interleaved, so their dependency chains overlap; the model is
    // the same as with one step after the other (false, for tests).
    bool interleave_steps = true;
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
