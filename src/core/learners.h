// Second-stage learners for feature-aware ranking (issue 13): binary
// classifiers (and one ranker) trained on a dense table of features, used to
// re-score candidate items.
//
// Input: a TrainingSet, a row-major float matrix X (rows × cols, NaN = a
// missing value; ±inf is refused), labels y in {0, 1}, and optionally group
// sizes (consecutive rows of the same user) for the ranking objective.
//
// Scores. predict() returns a margin, never a probability: the log-odds
// log(p / (1 - p)) for logistic, tree, forest, boosted and mlp (apply the
// sigmoid for a probability), and the LambdaMART raw score for boosted_rank
// (only its order within a group means anything). Higher is always better.
//
// Kinds and their parameters (Params, a flat JSON object; a misspelt or
// out-of-range parameter is an invalid_input error):
//
//   logistic      L2-regularised logistic regression on standardised
//                 features (train mean / population std; a constant column
//                 is dropped, i.e. scaled by 0). A missing value is imputed
//                 by the mean (standardised 0), and every feature with a
//                 missing value in the training set gets a standardised
//                 missing indicator column. Newton's method with step
//                 halving; deterministic for any thread count.
//                   l2              (default 1)    penalty (l2/2)·‖β‖² on the
//                                                  summed log-loss; intercept
//                                                  not penalised. >= 0.
//                   max_iterations  (default 50)   Newton steps, 1..1000.
//                   tolerance       (default 1e-7) stop when the largest
//                                                  coefficient change is below.
//                   missing_indicators (default true)
//   tree          one XGBoost tree (hist), no shrinkage (eta 1).
//                   max_depth (default 6, 1..20), min_child_weight (1),
//                   lambda (1, leaf L2).
//   forest        an XGBoost random forest: trees each grown from margin 0
//                 (no boosting, no shrinkage) on a row subsample, with a
//                 column subsample at each node; the margin is the average
//                 of the trees' (checked: without sampling it is the tree's).
//                   n_trees (default 100, 1..5000), max_depth (8, 1..20),
//                   subsample (0.632), colsample_bynode (default
//                   sqrt(cols)/cols), min_child_weight (1), lambda (1), seed (0).
//                 Grown k trees per round (k the largest divisor of
//                 n_trees up to 10), every round on the log-loss gradients at
//                 margin 0 and eta = 1 / rounds: one forest, with a cancel
//                 point between rounds.
//   boosted       XGBoost gradient boosted trees, binary:logistic, hist.
//                   rounds (default 200, 1..10000), eta (0.1), max_depth (6),
//                   min_child_weight (1), subsample (1), colsample_bytree (1),
//                   lambda (1), seed (0), early_stopping_rounds (default 20;
//                   0 = off): with a validation set, stops once validation
//                   log-loss has not improved for that many rounds and keeps
//                   the trees up to the best round.
//   boosted_rank  as boosted with a ranking objective on the groups, which
//                 are required (rows compared only within their group;
//                 labels are relevance 0/1); early stopping on the
//                 validation groups' NDCG over the whole group (validation
//                 needs groups too).
//                   objective: "ndcg" (default; rank:ndcg, LambdaMART),
//                   "pairwise" (rank:pairwise, RankNet-style pairs) or
//                   "map" (rank:map, LambdaMART weighted by the change of
//                   average precision); pair_samples (default 1, 1..1000):
//                   XGBoost's num_pairsample, the pairs drawn per row and
//                   round.
//   mlp           a small neural network: standardised inputs as for
//                 logistic (missing indicators included), 1 or 2 ReLU
//                 hidden layers, a logistic output, mean binary cross-entropy
//                 + (l2/2)·‖W‖², Adam, shuffled minibatches; early stopping
//                 on validation log-loss (the validation set, or else a
//                 seeded random validation_fraction of the training rows),
//                 keeping the best epoch's weights. Deterministic for a
//                 seed. Trains on one thread whatever ctx.threads.
//                   hidden (default 32, 1..1024), hidden2 (default 0 = one
//                   layer; 1..1024), learning_rate (1e-3), batch_size (256),
//                   epochs (default 30, max), patience (3), l2 (1e-4),
//                   validation_fraction (0.1, used without a validation set),
//                   seed (0).
//   ensemble      the mean margin (log-odds) of unlike learners, each
//                 fitted as its own kind on the same training and
//                 validation sets (task Binary only).
//                   members (default "boosted,mlp,logistic"): two or more of
//                   logistic, tree, forest, boosted, mlp, comma-separated;
//                   "<member>.<p>": a member's parameter (e.g.
//                   "boosted.max_depth": 4); seed (0): the seed of every
//                   member taking one that has no "<member>.seed".
//                 Contributions: the mean of the members' when every member
//                 has them (none with mlp); importance: none (the members'
//                 are on unlike scales).
//
//   linear        ridge regression (task Regression only): least squares on
//                 standardised features with missing indicators as for
//                 logistic, intercept not penalised; solved exactly from the
//                 normal equations. l2 (default 1), missing_indicators (true).
//
// Tasks (TrainingSet::task): what the labels mean and what the margin is.
//   Binary       labels 0/1; margin = log-odds. Every kind but linear.
//   Regression   finite labels; squared error; margin = the predicted label.
//                linear, tree, forest, boosted (reg:squarederror; XGBoost's
//                base score is the labels' mean, the forest's trees are
//                grown on the residuals from it).
//   SurvivalAft  interval labels for a time T > 0: y = lower bound,
//                y_upper = upper bound (+inf: right-censored, = y: observed);
//                boosted only, XGBoost survival:aft with log T = margin + σ·Z:
//                parameters aft_distribution ("extreme" (default; Weibull T),
//                "normal", "logistic") and aft_scale σ (default 1, 0.01..10);
//                base score the mean lower bound. aft_cdf() and
//                aft_quantile() give a margin's distribution of T.
//
// Groups are used by boosted_rank only, and a validation set by boosted,
// boosted_rank and mlp only; the others ignore them.
//
// The bytes of a learner (write / read_learner): kind, feature count,
// parameters, then the payload: the standardiser and coefficients or
// weights (logistic, mlp), or the XGBoost model as UBJSON with a 64-bit
// FNV-1a checksum checked before XGBoost parses it. Truncation, a wrong
// kind, count or shape, non-finite numbers or a damaged XGBoost model are
// corrupted() errors; a changed number that stays plausible is not noticed
// (the model format's checksum is for that), and the checksum guards
// against damage, not against a forged XGBoost model.
//
// Cancel points: every Newton step and 512 rows of it (logistic), every
// boosting round (boosted, boosted_rank), every k trees (forest), every
// minibatch (mlp); a single tree is one XGBoost call, cancelled before it
// only. Measured on 800,000 × 35 rows, 2 threads on 2 busy cores
// (bench/learners_core): a round takes about 0.3 s (boosted), a forest's
// round of 10 trees of depth 8 about 6 s, the first round of any XGBoost
// learner several seconds more (its histogram index).
//
// XGBoost runs on OpenMP: with more threads than idle cores, libgomp's
// default busy waiting makes training several times slower (measured 4×
// with 2 threads on 2 loaded cores). OMP_WAIT_POLICY=PASSIVE in the
// server's environment avoids it; it cannot be set from inside the process.
//
// Threads: fit uses at most ctx.threads (XGBoost's nthread; logistic's
// sums by parallel_for; mlp one). XGBoost's base score is 0.5 (margin 0). A fitted or
// read learner predicts on one thread (serving). predict / contributions /
// importance are const and may be called from several threads (XGBoost
// calls are serialised by a lock inside the learner).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "byte_io.h"
#include "context.h"
#include "params.h"

namespace recsys::learn {

// A view: the caller owns the arrays.
enum class Task : uint8_t { Binary, Regression, SurvivalAft };

struct TrainingSet {
    const float* x = nullptr;  // rows × cols, row-major, NaN = missing
    uint64_t rows = 0;
    uint32_t cols = 0;
    const float* y = nullptr;         // rows labels, each 0 or 1
    std::span<const uint32_t> groups;  // sizes of consecutive groups summing to rows; empty = none
    Task task = Task::Binary;
    const float* y_upper = nullptr;    // SurvivalAft only: rows upper bounds (+inf = censored)
};

class Learner {
public:
    virtual ~Learner() = default;
    virtual std::string kind() const = 0;
    uint32_t n_features() const { return d_; }
    // The parameters trained with, defaults included (canonical JSON).
    const std::string& params_json() const { return params_json_; }

    // out[i] = margin of row i of x (rows × n_features(), row-major).
    virtual void predict(const float* x, uint64_t rows, float* out) const = 0;
    float predict_one(const float* row) const {
        float s;
        predict(row, 1, &s);
        return s;
    }
    // The row's margin split into n_features() + 1 terms (one per feature,
    // then the bias) that sum to predict_one(row) (up to float rounding).
    // Trees: XGBoost's exact TreeSHAP values. logistic: coefficient ×
    // standardised value (+ the missing indicator's term) per feature, the
    // intercept as bias. Returns false, out untouched, if the learner cannot
    // explain a score (mlp).
    virtual bool contributions(const float* row, std::vector<double>& out) const = 0;
    // One non-negative value per feature, larger = more important. Trees:
    // XGBoost "total_gain" (summed loss reduction of every split on the
    // feature; 0 if never used). logistic: |coefficient| of the standardised
    // feature plus |coefficient| of its missing indicator. mlp: none.
    virtual std::optional<std::vector<double>> importance() const = 0;

    // Self-describing: kind, feature count, parameters, payload.
    void write(ByteWriter& w) const;

protected:
    virtual void write_payload(ByteWriter& w) const = 0;
    void set_base(uint32_t d, std::string params_json) {
        d_ = d;
        params_json_ = std::move(params_json);
    }

private:
    friend std::unique_ptr<Learner> read_learner(ByteReader& r);
    uint32_t d_ = 0;
    std::string params_json_;
};

// The kinds above, in order.
const std::vector<std::string>& learner_kinds();

// Trains a learner of `kind` for train.task. Throws invalid_input for an
// unknown kind, a kind that does not do the task, bad parameters or data
// (no rows, binary labels not 0/1, a single class, non-finite regression
// labels, survival bounds not 0 < y <= y_upper, ±inf values,
// groups not summing to rows, validation with another column count),
// ResourceLimit before a large allocation beyond ctx.memory_limit_bytes,
// and Cancelled when ctx.check_cancel() throws (checked between rounds,
// Newton steps, epochs and minibatches).
std::unique_ptr<Learner> fit_learner(std::string_view kind, const TrainingSet& train, const TrainingSet* validation,
                                     const Params& params, const Context& ctx);


// P(T <= t) and the p-quantile of T (0 for p <= 0, +inf for p >= 1) under a survival:aft margin.
double aft_cdf(double margin, std::string_view distribution, double scale, double t);
double aft_quantile(double margin, std::string_view distribution, double scale, double p);

// Reads what Learner::write wrote; anything else throws corrupted().
std::unique_ptr<Learner> read_learner(ByteReader& r);

}  // namespace recsys::learn
