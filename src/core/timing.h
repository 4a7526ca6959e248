// Purchase timing (issue 19): when will each customer buy again. Per-customer
// features from the purchases before a cutoff, the days to the next purchase
// after it (right-censored at the end of the data) and "buys again within H
// days", two learners (learners.h) for them, served as an ordinary Model
// whose algorithm is "timing".
//
// Times are int64 seconds since the epoch; "days" are fractional, 86400 s.
// A customer's "purchase days" are the distinct UTC days (features::floor_day)
// with a purchase; "gaps" are the day differences between consecutive
// purchase days (whole days, >= 1).
//
// Features at `now` (customer_features), one row per user, from purchases
// with ts < now only: first the FeatureBuilder's user columns
// (purchase_features.h: user_n_purchases .. user_cat_share_<c>), then
//
// | column               | definition                                                            | NaN when              |
// |----------------------|-----------------------------------------------------------------------|-----------------------|
// | purchase_days        | distinct purchase days                                                | never                 |
// | days_<W>             | purchase days with a purchase at ts >= now - W days, W = 30/90/180/365| never                 |
// | spend_<W>            | sum of quantity * price of those purchases (unpriced ones skipped)    | no priced purchase    |
// | spend_total          | the same over all purchases                                           | no priced purchase    |
// | spend_per_day        | spend_total / purchase_days                                           | spend_total NaN       |
// | gap_mean / _median   | mean / median gap (median of an even count: mean of the middle two)   | < 2 purchase days     |
// | gap_std              | population std of the gaps                                            | < 2 purchase days     |
// | gap_min / gap_last   | smallest / latest gap                                                 | < 2 purchase days     |
// | gap_trend            | least-squares slope of gap k against k = 0, 1, ...                    | < 3 purchase days     |
// | gap_within_h         | share of the gaps <= H days                                           | < 2 purchase days     |
// | due_ratio            | user_days_since_last / gap_mean                                       | gap_mean NaN          |
// | overdue_days         | user_days_since_last - gap_mean                                       | gap_mean NaN          |
// | day_rate_30          | purchase_days * 30 / max(user_tenure_days, 30)                        | no history            |
// | hour_mean            | mean UTC hour of day (fractional) over baskets (distinct ts)          | no history            |
// | dow_top_share        | share of purchase days on their most frequent weekday                 | no history            |
// | weekend_share        | share of purchase days on a Saturday or Sunday                        | no history            |
// | last_year_days       | purchase days with ts in [now - 365 d, now - 365 d + H d)             | never                 |
// | repeat_items         | items bought on >= 2 distinct days                                    | never                 |
// | items_due            | repeat items whose last ts + mean interval < now + H days             | never                 |
// | item_due_min_days    | min over repeat items of (last ts + mean interval - now) / 86400      | no repeat item        |
// | items_due_soon       | repeat items whose last ts + mean interval is in [now, now + H days)  | never                 |
// | item_due_ratio_mean  | mean over repeat items of (now - last ts) / mean interval             | no repeat item        |
// | item_due_ratio_max   | max of the same                                                       | no repeat item        |
// | gap_hazard_h         | of the gaps > user_days_since_last, the share <= it + H               | no such gap           |
// | last_year_days_90    | purchase days with ts in [now - 365 d, now - 275 d)                   | never                 |
// | days_to_christmas    | days from now to the next Dec 25 00:00 UTC (days_to_christmas())      | never                 |
// | quantity_mean        | mean quantity of the purchases                                        | no history            |
// | basket_spend_mean    | spend_total / user_n_baskets                                          | spend_total NaN       |
//
// (an item's mean interval as ui_mean_interval_days of purchase_features.h).
//
// Targets at a cutoff c with data ending at `end` (exclusive): days =
// (first ts with c <= ts < end - c) / 86400, observed; without one the
// customer is right-censored at (end - c) / 86400. within = observed and
// days < H.
//
// Training (train_timing): cutoffs c_k = cutoff - k * cutoff_step_days,
// k = 0 .. training_cutoffs - 1 (stacked: one row per customer and cutoff;
// stops at the first c_k with no purchase before it). Default cutoff: the
// data's end (latest ts + 1 s) - H days, so that every row's "within H" is
// observed. Rows: customers with >= 2 purchase days before c_k; features
// at c_k, targets from the purchases in [c_k, c_k + (end - cutoff)): every
// cutoff's customers are followed for the same time as the latest cutoff's
// (so that stacked rows are alike), and every row is labelled from
// purchases before the end of the training data, so an evaluation on
// purchases after it (evaluate_timing, the bench) is strictly later in time.
// Customers with one purchase day get the fallback (below) instead.
//
// Learners. "Within H days": logistic, forest or boosted (binary);
// p_within = sigmoid(margin). Days: linear, forest or boosted regress
// log(1 + days) on the OBSERVED rows only, so they predict the days to the
// return of a customer who returns within the training horizon (censored
// rows are left out: their time is unknown, only bounded below);
// expected_days = exp(margin) - 1 (>= 0). "aft" is XGBoost survival:aft on
// all rows, censored ones as [days, +inf), observed as [days, days] (days at
// least 1/24, an hour): expected_days = the median of T given T <= W, W the
// training rows' follow-up (end - cutoff, in days; H by default):
// learn::aft_quantile(F(W) / 2), F = learn::aft_cdf. That is the time a
// customer who returns within the follow-up most plausibly takes, the
// MAE-optimal guess for returning customers (the mean E[T], censored
// customers' long tails included, was several times the observed times).
// Capped at 36500 days.
//
// Fallback: a customer with fewer than 2 purchase days at `now` gets
// expected_days = the median observed days and p_within = the share
// returning within H of the training rows' one-purchase-day customers (all
// customers when there are none), flagged one_purchase.
//
// Serving: the features at `now` (default latest ts + 1 s), computed at
// training and stored; expected_at = now + expected_days.
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
#include "ranker.h"

namespace recsys::timing {

extern const Algorithm algorithm;

inline constexpr int kWindowDays[] = {30, 90, 180, 365};

// Days (fractional) from now to the next 25 December 00:00 UTC, now included (0 on it).
double days_to_christmas(int64_t now);

struct CustomerFeatures {
    features::FeatureMatrix x;            // one row per user
    std::vector<uint32_t> purchase_days;  // per user, before now
    std::vector<uint32_t> top_categories;
};

// The features above for every user (n_users rows). Errors as FeatureBuilder.
CustomerFeatures customer_features(std::span<const features::Purchase> purchases, uint32_t n_users,
                                   uint32_t n_items, int64_t now, double horizon_days,
                                   const features::ItemAttributes& attributes, const features::Options& options,
                                   const Context& ctx);

struct Target {
    double days = 0;
    bool observed = false;
};

// Per user, the days from cutoff to the first purchase in [cutoff, end), or
// censored at (end - cutoff) / 86400.
std::vector<Target> targets(std::span<const features::Purchase> purchases, uint32_t n_users, int64_t cutoff,
                            int64_t end, const Context& ctx);

// ------------------------------------------------------------- metrics

struct Metrics {
    uint64_t customers = 0, observed = 0, within = 0;
    double mae = 0, rmse = 0;  // days, over observed customers (NaN without)
    double concordance = 0;    // Harrell's C of expected days (censored included), NaN without a comparable pair
    double auc = 0, brier = 0; // of p_within for "within H"; AUC NaN with a single class
};

// Harrell's C: over pairs (i, j) with i observed and days_i < days_j
// (j observed or censored), the share where predicted_i < predicted_j, ties
// in the prediction counting one half. Brute force over all pairs (O(n²)).
double concordance_index(std::span<const double> predicted_days, std::span<const Target> truth, const Context& ctx);
// Mann-Whitney AUC, ties in the score counting one half; NaN with one class.
double auc(std::span<const double> score, std::span<const uint8_t> label);
// Either prediction span may be empty (its metrics are then NaN).
Metrics metrics(std::span<const double> expected_days, std::span<const double> p_within,
                std::span<const Target> truth, double horizon_days, const Context& ctx);

// ------------------------------------------------------------- training

struct Report {
    std::vector<int64_t> cutoffs;
    int64_t end = 0, now = 0;
    double horizon_days = 0;
    uint64_t rows = 0, observed = 0, within = 0, one_purchase_rows = 0;
    double training_median_days = 0;  // median observed days of the rows (the constant baseline)
    double fallback_days = 0, fallback_p_within = 0;
    std::string time_learner, within_learner;
    std::vector<std::string> feature_names;
    std::string to_json() const;
};

// The training rows (exposed for tests and the bench).
struct TrainingRows {
    features::FeatureMatrix x;
    std::vector<Target> y;
    std::vector<uint32_t> users;
    std::vector<int64_t> row_cutoff;
    std::vector<int64_t> cutoffs;
    std::vector<Target> one_purchase;  // targets of the one-purchase-day customers, all cutoffs
    std::vector<uint32_t> top_categories;
    int64_t end = 0;
};

TrainingRows training_rows(std::span<const features::Purchase> purchases, uint32_t n_users, uint32_t n_items,
                           const features::ItemAttributes& attributes, std::string_view params_json,
                           const Context& ctx);

// Trains on dense ids (users / items of sizes n_users / n_items). Errors:
// invalid_input for bad parameters or purchases, a cutoff outside the data,
// too few rows; Cancelled.
Model train_timing(std::span<const features::Purchase> purchases, IdMap users, IdMap items,
                   const features::ItemAttributes& attributes, std::string_view params_json, const Context& ctx,
                   Report* report = nullptr);

// Checks a parameter set before any data is read; throws invalid_input.
void check_params(std::string_view params_json);

struct Prediction {
    double expected_days = 0;
    double p_within = 0;
    bool one_purchase = false;  // the fallback
};

using ranker::FeatureContribution;  // a feature's value and its part of a margin

class TimingScorer : public Scorer {
public:
    struct State;
    explicit TimingScorer(std::unique_ptr<State> s);
    ~TimingScorer() override;
    // Not an item recommender: throws invalid_input.
    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override;
    void write(ByteWriter& w) const override;

    int64_t now() const;
    double horizon_days() const;
    Prediction predict(uint32_t user) const;
    // Every user at once (one learner call each).
    std::vector<Prediction> predict_all(const Context& ctx) const;
    // The terms of the margin of the days model (target "days") or the
    // within model ("within"), per feature then "bias"; throws invalid_input
    // for a one-purchase customer or a learner that cannot explain.
    std::vector<FeatureContribution> explain_features(uint32_t user, std::string_view target) const;
    // Evaluation on later purchases (user index, ts): targets from now to
    // `end`, customers with >= 2 purchase days at now only (the fallback
    // ones are counted in `skipped`).
    Metrics evaluate(std::span<const std::pair<uint32_t, int64_t>> test, int64_t end, uint64_t* skipped,
                     const Context& ctx) const;

private:
    std::unique_ptr<State> s_;
};

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::timing
