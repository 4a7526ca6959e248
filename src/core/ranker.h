// Feature-aware second-stage ranker (issue 13): candidates from base models
// and re-buys, purchase features (purchase_features.h), a learner
// (learners.h) trained on a time split, served as an ordinary Model whose
// algorithm is "ranker".
//
// Training (train_ranker):
//   1. Split: features from purchases with ts < cutoff, labels = the distinct
//      (user, item) pairs in [cutoff, cutoff + window). Default cutoff: the
//      last `label_window_days` of the data (features::default_split_times).
//   2. Base models (registry algorithms, default "ease,popularity") trained
//      on the pre-cutoff purchases only (one interaction per purchase row).
//   3. Candidates of each user with at least one label: the user's
//      re-buys (items bought before, most distinct days first, then latest),
//      then each base model's top candidates_per_model items the user has
//      not bought, in base-model order, then the user's first
//      best_seller_candidates unbought items of the recent best sellers
//      (features::recent_best_sellers over best_seller_days), each item once.
//      With training_negatives, a training (not held-out) user keeps all
//      bought candidates and a seeded sample of that many unbought ones.
//   4. Rows = candidates with the FeatureBuilder's columns plus, per base
//      model b, "<b>_score" (its score for the item), "<b>_rank" (1-based
//      position in its top list, NaN outside it) and "<b>_last_score" (its
//      score from the user's recent basket, anonymous: the history's items whose latest
//      purchase is within last_basket_days of the user's latest); label 1 when the pair is
//      among the labels; one group per user. A seeded validation_fraction of
//      the users is held out as the learner's validation set (early stopping).
//   5. Serving: base models retrained and the FeatureBuilder rebuilt on ALL
//      purchases at `now` (default: latest ts + 1 s), keeping the training
//      builder's top categories so that the columns are the same.
//
// Serving (Scorer::score for a known user): the same candidates and columns
// at `now`, each candidate scored 1 / (1 + exp(-margin)) (> 0); every other
// item scores 0, which recommend() ranks after the candidates and fills by
// popularity. Re-buys are candidates, so recommend with exclude_seen => false
// to serve them. An anonymous basket (no user) gets no scores (popularity).
//
// Parameters: a flat JSON object (kParams in ranker.cpp):
//   learner              learner kind (learners.h), default "boosted"; "auto": each
//                        kind of auto_learners fitted with its defaults (early stopping on
//                        half of the validation customers, a seeded draw), the one with the
//                        best nDCG@10 (group_ndcg10) on the other half kept
//   auto_learners        learner "auto": comma-separated kinds tried, default
//                        "logistic,boosted,mlp"
//   learner.<p>          the learner's parameter <p> (e.g. "learner.max_depth": 4)
//   base_models          comma-separated registry algorithms, default "ease,popularity"
//   <base>.<p>           a base model's parameter (e.g. "ease.lambda": 300);
//                        ease's max_items defaults to min(items, 2000)
//   candidates_per_model top-N of each base model (100)
//   rebuy_candidates     most re-buy candidates per user (0 = all, default)
//   best_seller_candidates  recent best sellers per user (0, default: none)
//   best_seller_days     their window before the cutoff / now (30)
//   training_negatives   unbought candidates kept per training user and window (0 = all)
//   cutoff, now          epoch seconds, or "YYYY-MM-DD[ HH:MM[:SS]]" (UTC)
//   label_window_days    label window length (28)
//   validation_fraction  share of training users held out (0.1; 0 = none)
//   seed                 validation users' draw (0)
//   top_categories       user_cat_share_<c> columns (10)
//   last_basket_days     the recent basket of <b>_last_score (0: the items of the latest purchase time)
//   training_windows     label windows stacked for the training rows (1): window w
//                        has cutoff - w * label_window_days, its own base models and
//                        features; stops at the first earlier window without history or labels
//
// Serialised inside the model format as the Scorer payload: the
// configuration, the purchases and attributes (the FeatureBuilder is rebuilt
// on read), the serving base models (name, parameters, payload) and the
// learner (Learner::write).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "learners.h"
#include "model.h"
#include "purchase_features.h"

namespace recsys::ranker {

extern const Algorithm algorithm;

struct Report {
    int64_t cutoff = 0, window = 0, now = 0;
    uint64_t training_users = 0, validation_users = 0;
    uint64_t rows = 0, positives = 0;
    features::CandidateRecall recall;  // of the training rows' candidates, on the label window
    std::vector<std::string> feature_names;
    std::string learner;
    // The held-out customers' nDCG@10 (group_ndcg10) of the learner, when
    // some were held out (learner "auto": the choice half's); and for "auto"
    // every kind tried, in order, with its score.
    std::optional<double> validation_ndcg;
    std::vector<std::pair<std::string, double>> learner_validation;
    std::string to_json() const;
};

// One term of a ranker's explanation: a feature's value and its part of the
// margin (the learner's contributions; the last term is "bias").
struct FeatureContribution {
    std::string feature;
    double value;
    double contribution;
};

class RankerScorer;

// The training rows (exposed for tests): one group of consecutive rows per
// user, users in `group_users`, `validation` flags per group.
struct TrainingRows {
    features::FeatureMatrix x;
    std::vector<float> y;
    std::vector<uint32_t> groups, group_users;
    std::vector<uint8_t> validation;
    std::vector<features::UserItem> pairs;
    features::CandidateRecall recall;
    int64_t cutoff = 0, window = 0;
    std::vector<uint32_t> top_categories;
};

// Steps 1-4 with the parameters of params_json (learner keys are ignored).
TrainingRows training_rows(std::span<const features::Purchase> purchases, uint32_t n_users, uint32_t n_items,
                           const features::ItemAttributes& attributes, std::string_view params_json,
                           const Context& ctx);

// Trains a ranker on dense ids (purchases validated; attributes as for
// FeatureBuilder). The Model gets `users` / `items` as its ids (sizes
// n_users / n_items), a history of one unit per purchase row and
// popularity = distinct buyers. Errors: invalid_input for bad parameters,
// purchases, a split with no history or labels, no positive training row;
// Cancelled.
Model train_ranker(std::span<const features::Purchase> purchases, IdMap users, IdMap items,
                   const features::ItemAttributes& attributes, std::string_view params_json, const Context& ctx,
                   Report* report = nullptr);

// The Model around a scorer trained from purchases (ranker, timing): ids,
// a history of one unit per purchase row, popularity = distinct buyers.
Model model_from_purchases(std::string algorithm, std::string params_json, std::span<const features::Purchase> purchases,
                           IdMap users, IdMap items, std::unique_ptr<Scorer> scorer);

// Checks a parameter set as train_ranker reads it (names, ranges, learner
// kind, base model names), before any data is read; throws invalid_input.
void check_params(std::string_view params_json);

// Binary nDCG@10 of each group's rows ordered by margin (descending; ties
// in row order), ideal DCG over min(10, the group's positive rows), averaged
// over the groups with a positive row; NaN when none has one. `groups` are
// sizes of consecutive rows.
double group_ndcg10(std::span<const float> margins, std::span<const float> y, std::span<const uint32_t> groups);

// Seconds since the epoch of "YYYY-MM-DD[(T| )HH:MM[:SS]][Z]" (UTC); throws invalid_input.
int64_t parse_time(std::string_view text);

// The ranker's scorer, for the per-feature explanation.
class RankerScorer : public Scorer {
public:
    ~RankerScorer() override;
    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override;
    // All rows' candidates through one feature matrix and one prediction:
    // the learner's per-call cost (an XGBoost prediction) is paid once.
    void score_block(std::span<const Basket> baskets, std::span<const uint32_t> users, uint32_t n_items,
                     std::span<float> out) const override;
    bool zero_means_unknown() const override { return true; }
    void write(ByteWriter& w) const override;

    // The candidate items of a known user with their margins, in candidate order.
    void candidates(const Basket& basket, uint32_t user, std::vector<uint32_t>& items, std::vector<float>& margins) const;
    // Per-feature contributions to the margin of (user, item), summing to it
    // with the bias; throws invalid_input when the item is not a candidate of
    // the user, or the learner cannot explain (mlp).
    std::vector<FeatureContribution> explain_features(const Basket& basket, uint32_t user, uint32_t item) const;
    // Gain per feature (learner importance), or empty when it has none.
    std::vector<std::pair<std::string, double>> importance() const;
    const std::vector<std::string>& feature_names() const;

    struct State;
    explicit RankerScorer(std::unique_ptr<State> s);

private:
    // The candidates of the known users among `users` (with `baskets`) as
    // (user, item) pairs, the row of `users` each comes from, and their margins.
    void margins(std::span<const Basket> baskets, std::span<const uint32_t> users,
                 std::vector<features::UserItem>& pairs, std::vector<uint32_t>& rows,
                 std::vector<float>& margins) const;

    std::unique_ptr<State> s_;
};

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::ranker
