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
// bought it (with negative_sampling "popularity", the default, the negative
// is drawn among group b's items in proportion to buyers^popularity_exponent,
// by an alias table built per group and epoch; "uniform": uniformly). The G strata (a, a + p mod G) of phase p share no user and no
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
#include <span>
#include <vector>

#include <Eigen/Dense>

#include "compression.h"
#include "model.h"
#include "rng.h"

namespace recsys::bpr {

extern const Algorithm algorithm;

using Factors = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Options {
    uint32_t factors = 64;
    uint32_t iterations = 100;
    float learning_rate = 0.01f;
    float regularization = 0.001f;
    uint64_t seed = 42;
    // Negatives in proportion to buyers^popularity_exponent (else uniform
    // over items).
    bool popularity_sampling = true;
    float popularity_exponent = 0.25f;
    Encoding compression = Encoding::Float32;  // of the stored factors (compression.h)
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

// Draws index k of n with probability weight[k] / sum of weights, in O(1)
// (Walker's alias method, built by Vose's algorithm in O(n)). Weights are
// finite and >= 0; if they are all 0, every index is equally likely.
class AliasTable {
public:
    AliasTable() = default;
    explicit AliasTable(std::span<const double> weights) { build(weights); }
    void build(std::span<const double> weights);
    uint32_t size() const { return uint32_t(threshold_.size()); }
    // One 64-bit draw: its high half picks a slot, its low 24 bits whether
    // the slot's own index or its alias is returned.
    uint32_t draw(SplitMix64& rng) const {
        const uint64_t r = rng.next();
        const uint32_t k = uint32_t(((r >> 32) * threshold_.size()) >> 32);
        return float(r & 0xFFFFFF) * 0x1.0p-24f < threshold_[k] ? k : alias_[k];
    }

private:
    std::vector<float> threshold_;
    std::vector<uint32_t> alias_;
};

// Reads and validates the parameters, rejecting unknown ones. `dense`: the
// training data is dense (data_shape.h), which changes the defaults.
Options read_options(const Params& params, bool dense = false);

struct BprFactors {
    Factors users;         // n_users x factors
    Factors items;         // n_items x factors
    Eigen::VectorXf bias;  // n_items
    // Per item, the weights negatives were sampled by, for fold-in
    // to sample the same way; empty: uniformly.
    std::vector<double> sampling_weights;
};

// What an epoch saw, measured on its own samples before each update.
struct EpochStats {
    double auc = 0;   // share of triples ranked right
    double loss = 0;  // mean -log sigmoid(score_i - score_j)
};

BprFactors fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const EpochStats&)>& after_epoch = {});

// With opt.compression, the factors are quantised first (compression.h).
std::unique_ptr<Scorer> make_scorer(BprFactors factors, const Options& opt);

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::bpr
