// Purchase features for a second-stage ranker (issue 13): a time split into
// history and label pairs, per (user, item) candidate features computed from
// the history alone, and candidate generation helpers with their recall.
//
// (Not named features.h: that would shadow glibc's <features.h>, src/core
// being an include path.)
//
// Everything works on dense indexes (users < n_users, items < n_items); the
// glue maps real ids with IdMap. Times are int64 seconds since the epoch.
//
// No leakage: a FeatureBuilder built at cutoff `now` reads only purchases
// with ts < now, whatever else it is given, so the same purchases can be
// passed for training (cutoff = split point) and serving (cutoff = today).
//
// Feature columns, in order (FeatureBuilder::names()). "days" of a time ts
// are (now - ts) / 86400 (fractional); an "event" is one purchase row with
// ts < now; a "day" is floor(ts / 86400) (UTC calendar day). Prices are unit
// prices; NaN prices are skipped by every price mean. NaN = missing. Values
// are computed in double and stored as float.
//
// | column                 | definition                                                           | NaN when                       |
// |------------------------|----------------------------------------------------------------------|--------------------------------|
// | user_n_purchases       | the user's events                                                    | never (0 without history)      |
// | user_n_baskets         | distinct ts among the user's events (one basket = one timestamp)     | never (0)                      |
// | user_n_items           | distinct items among the user's events                               | never (0)                      |
// | user_days_since_last   | days of the user's latest event                                      | no history                     |
// | user_tenure_days       | days of the user's earliest event                                    | no history                     |
// | user_mean_price        | mean price over the user's events with a price                       | no priced event                |
// | user_std_price         | population std (divide by n) of those prices                         | no priced event                |
// | user_mean_basket_size  | user_n_purchases / user_n_baskets                                    | no history                     |
// | user_n_days            | distinct days among the user's events                                | never (0)                      |
// | user_days_recent       | distinct days among the user's events with ts >= now - R days        | never (0)                      |
// | user_cat_share_<c>     | share of the user's events whose item has category c; one column     | no history                     |
// |                        | per top category c (index), top = the top_categories categories      |                                |
// |                        | with most events in the history (ties: lower index), only those      |                                |
// |                        | with at least one event; no columns without categories               |                                |
// | item_n_purchases       | the item's events                                                    | never (0)                      |
// | item_buyers            | distinct users among the item's events                               | never (0)                      |
// | item_buyers_recent     | distinct users with an event of the item with ts >= now - R days     | never (0)                      |
// | item_trend             | (n_recent + 1) / (n_earlier * R / B + 1): n_recent = the item's      | never (1 for an unsold item)   |
// |                        | events with ts in [now - R days, now), n_earlier = events in         |                                |
// |                        | [now - (R + B) days, now - R days); i.e. recent count over the count |                                |
// |                        | the earlier daily rate predicts, both smoothed by +1                 |                                |
// | item_mean_price        | mean price over the item's events with a price                       | no priced event                |
// | item_list_price        | the attribute list price                                             | not given                      |
// | item_category          | the item's category index, as a number                               | no category                    |
// | item_age_days          | days of the item's earliest event                                    | never sold                     |
// | item_repeat_share      | share of item_buyers who bought the item on 2 or more distinct days  | never sold                     |
// | ui_times_bought        | distinct days with an event of this user and item                    | never (0)                      |
// | ui_total_quantity      | sum of quantity over those events                                    | never (0)                      |
// | ui_days_since_last     | days of the latest such event                                        | never bought                   |
// | ui_mean_interval_days  | (latest - earliest such ts) / 86400 / (ui_times_bought - 1)          | ui_times_bought < 2            |
// | ui_due                 | ui_days_since_last / ui_mean_interval_days                           | interval NaN                   |
// | ui_user_category_share | share of the user's events whose item has the candidate's category   | item without category, or user |
// |                        |                                                                      | without history                |
// | ui_relative_price      | item price / user_mean_price, item price = item_mean_price, or       | either missing, or user mean 0 |
// |                        | item_list_price when the item has no priced event                    |                                |
// | ui_bought_before       | 1 if the user bought the item before now, else 0                     | never                          |
// | ui_day_share           | ui_times_bought / user_n_days: the share of the user's shopping days | no history                     |
// |                        | with this item                                                       |                                |
// | user_rebuy_share       | the user's repeat propensity: over the user's items, (sum of         | no history                     |
// |                        | ui_times_bought - user_n_items) / sum of ui_times_bought, i.e. the   |                                |
// |                        | share of the user's (item, day) purchases that re-buy an item bought |                                |
// |                        | on an earlier day (a user column, placed last so that the user block |                                |
// |                        | stays what purchase timing reads)                                    |                                |
// | ui_days_recent         | distinct days with an event of this user and item with               | never (0)                      |
// |                        | ts >= now - R days                                                   |                                |
// | ui_days_before_user_last | (the user's latest ts - the latest ts of this item) / 86400: 0 when | never bought                   |
// |                        | the item was in the user's last basket                               |                                |
//
// R = Options::recent_days (default 30), B = Options::trend_base_days
// (default 90). Caller columns (base model score, rank, ...) follow, in the
// order given to compute().
//
// Typical use. Training:
//   SplitTimes t = default_split_times(purchases);
//   TimeSplit s = time_split(purchases, t.cutoff, t.window, ctx);
//   FeatureBuilder fb(purchases, n_users, n_items, t.cutoff, attributes, {}, ctx);
//   std::vector<std::vector<std::vector<uint32_t>>> lists = {rebuy_candidates(fb, 50, ctx), base_top_n};
//   std::vector<UserItem> pairs = union_candidates(lists, 100, n_items, ctx);
//   std::vector<ExtraColumn> extra = {{"base_score", score}, {"base_rank", rank}};  // per pair
//   FeatureMatrix x = fb.compute(pairs, extra, ctx);
//   std::vector<float> y = candidate_targets(pairs, s.labels, ctx);
// The base model behind base_top_n / score / rank must be trained on
// s.history only, or its columns leak the labels. Serving: a FeatureBuilder
// at now = the current time (or latest ts + 1), base model on everything,
// Options::fixed_categories = the training builder's top_categories(), so
// that the columns are the same.
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "context.h"
#include "csr.h"

namespace recsys::features {

inline constexpr int64_t kSecondsPerDay = 86400;

struct Purchase {
    uint32_t user = 0;
    uint32_t item = 0;
    int64_t ts = 0;  // seconds since the epoch
    double quantity = 1.0;  // finite and > 0 (filter returns out first)
    double price = std::numeric_limits<double>::quiet_NaN();  // unit price >= 0, NaN if unknown
};

struct UserItem {
    uint32_t user = 0;
    uint32_t item = 0;
    friend auto operator<=>(const UserItem&, const UserItem&) = default;
};

// Checks indexes, quantities and prices; invalid_input naming the first bad row.
void validate_purchases(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items);

// n_users x n_items, one unit per purchase row (a model's history).
CsrMatrix purchase_matrix(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items);

// floor(ts / 86400): the UTC calendar day of a time.
int64_t floor_day(int64_t ts);

// ---------------------------------------------------------------- time split

struct TimeSplit {
    std::vector<Purchase> history;  // ts < cutoff, in input order
    std::vector<UserItem> labels;   // distinct pairs with cutoff <= ts < cutoff + window, sorted
};

// Throws invalid_input when window <= 0, when no purchase is before the
// cutoff (no history) or none falls in [cutoff, cutoff + window) (no labels).
TimeSplit time_split(std::span<const Purchase> purchases, int64_t cutoff, int64_t window, const Context& ctx);

struct SplitTimes {
    int64_t cutoff = 0;
    int64_t window = 0;
};

inline constexpr int64_t kDefaultLabelWindow = 28 * kSecondsPerDay;

// Default: the label window is the last `window` seconds of the data,
// cutoff = max_ts + 1 - window, so labels are the purchases with
// max_ts + 1 - window <= ts <= max_ts. Throws invalid_input when purchases
// is empty, window <= 0, or the data spans no more than the window (nothing
// would be left for history).
SplitTimes default_split_times(std::span<const Purchase> purchases, int64_t window = kDefaultLabelWindow);

// ----------------------------------------------------------------- features

inline constexpr uint32_t kNoCategory = std::numeric_limits<uint32_t>::max();

// Optional per-item attributes: each vector is either empty (unknown for all
// items) or has n_items entries.
struct ItemAttributes {
    uint32_t n_categories = 0;
    std::vector<uint32_t> category;  // < n_categories, or kNoCategory
    std::vector<double> list_price;  // >= 0, or NaN
};

struct Options {
    uint32_t top_categories = 10;  // C: user_cat_share_<c> columns
    // When not empty: exactly these categories, in this order, for the
    // user_cat_share_<c> columns (top_categories ignored). Pass a training
    // builder's top_categories() to a serving builder so that both have the
    // same columns. Distinct, each < n_categories.
    std::vector<uint32_t> fixed_categories;
    double recent_days = 30;       // R
    double trend_base_days = 90;   // B
};

// A caller column appended to the features: one value per candidate pair.
struct ExtraColumn {
    std::string name;
    std::span<const float> values;
};

// Row-major rows x cols floats, NaN = missing; names[j] names column j.
struct FeatureMatrix {
    size_t rows = 0;
    size_t cols = 0;
    std::vector<float> values;
    std::vector<std::string> names;

    float at(size_t row, size_t col) const { return values[row * cols + col]; }
    // Appends columns at the right (copies the matrix once). Each column has
    // `rows` values; names must be new and non-empty.
    void append_columns(std::span<const ExtraColumn> extra, const Context& ctx);
};

// One user's history with one item (the ui_* aggregates).
struct UserItemStats {
    uint32_t item = 0;
    uint32_t days = 0;  // distinct days bought
    uint32_t recent_days = 0;  // of them, days with an event in the last recent_days before now
    double quantity = 0;
    int64_t first_ts = 0, last_ts = 0;
};

class FeatureBuilder {
public:
    // Reads the purchases with ts < now only (all are validated). Errors:
    // invalid_input for bad purchases, attributes or options.
    FeatureBuilder(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items, int64_t now,
                   const ItemAttributes& attributes, const Options& options, const Context& ctx);

    const std::vector<std::string>& names() const { return names_; }
    size_t n_features() const { return names_.size(); }
    uint32_t n_users() const { return n_users_; }
    uint32_t n_items() const { return n_items_; }
    int64_t now() const { return now_; }
    // Indexes of the user_cat_share_<c> categories, best first.
    const std::vector<uint32_t>& top_categories() const { return top_categories_; }

    // Features of each pair (indexes must be in range), then `extra` columns
    // (each with pairs.size() values). Pairs may repeat and come in any order.
    // Runs on ctx.threads threads; the result does not depend on their number.
    FeatureMatrix compute(std::span<const UserItem> pairs, std::span<const ExtraColumn> extra,
                          const Context& ctx) const;
    FeatureMatrix compute(std::span<const UserItem> pairs, const Context& ctx) const {
        return compute(pairs, {}, ctx);
    }

    // The user columns of the features (user_n_purchases .. user_cat_share_*,
    // the first n_user_features() names), computed once per user.
    size_t n_user_features() const { return n_user_cols_; }
    std::span<const float> user_features(uint32_t user) const {
        return {user_cols_.data() + uint64_t(user) * n_user_cols_, n_user_cols_};
    }

    // The user's bought items before now, sorted by item.
    std::span<const UserItemStats> user_items(uint32_t user) const {
        return {ui_.data() + ui_start_[user], ui_.data() + ui_start_[user + 1]};
    }
    bool bought_before(uint32_t user, uint32_t item) const { return find(user, item) != nullptr; }

private:
    const UserItemStats* find(uint32_t user, uint32_t item) const;
    void fill_row(UserItem pair, float* row) const;

    uint32_t n_users_, n_items_;
    int64_t now_;
    Options options_;
    std::vector<std::string> names_;
    std::vector<uint32_t> top_categories_;
    std::vector<uint32_t> item_category_;  // kNoCategory when none

    // Per user, fixed columns (user_n_purchases .. user_cat_share_*), n_user_cols_ each.
    size_t n_user_cols_ = 0;
    std::vector<float> user_cols_;
    std::vector<double> user_events_, user_mean_price_, user_days_, user_rebuy_share_;
    std::vector<int64_t> user_last_ts_;  // the user's latest event (0 without history)
    // Per user, (category, events) sorted by category: ui_user_category_share.
    std::vector<uint64_t> user_cat_start_;
    std::vector<std::pair<uint32_t, uint32_t>> user_cat_;
    // Per item, fixed columns (item_n_purchases .. item_age_days).
    size_t n_item_cols_ = 0;
    std::vector<float> item_cols_;
    std::vector<double> item_price_;  // mean paid, else list price, else NaN
    // Per user, the bought items (CSR by user, sorted by item).
    std::vector<uint64_t> ui_start_;
    std::vector<UserItemStats> ui_;
};

// ------------------------------------------------------------ candidates

// Per user, the items bought before the builder's now, most distinct days
// first, then latest purchase first, then lower index; at most
// max_per_user each (0 = all).
std::vector<std::vector<uint32_t>> rebuy_candidates(const FeatureBuilder& builder, size_t max_per_user,
                                                    const Context& ctx);

// The items bought in [now - days, now) (days > 0), most distinct buyers in
// that window first, then lower index: a shop's recent best sellers, a
// candidate source that follows the season. Items without such a buyer are
// left out. Purchases at or after now are ignored.
std::vector<uint32_t> recent_best_sellers(std::span<const Purchase> purchases, uint32_t n_items, int64_t now,
                                          double days, const Context& ctx);

// Union of per-user ranked lists (lists[l][user] = items, best first; users
// beyond a list's size have none): for each user in index order, the first
// top_n items of each list (0 = all), lists in the order given, each item
// kept at its first appearance. Items must be < n_items.
std::vector<UserItem> union_candidates(std::span<const std::vector<std::vector<uint32_t>>> lists, size_t top_n,
                                       uint32_t n_items, const Context& ctx);

// The training target of each candidate: 1 if the pair is among `labels`
// (any order, repeats fine), else 0; aligned with `candidates`.
std::vector<float> candidate_targets(std::span<const UserItem> candidates, std::span<const UserItem> labels,
                                     const Context& ctx);

struct CandidateRecall {
    uint64_t labels = 0, found = 0;          // all label pairs
    uint64_t new_labels = 0, new_found = 0;  // label pairs not bought before the cutoff
    // found / labels; NaN when there are no labels (likewise for new).
    double recall() const { return labels ? double(found) / double(labels) : std::nan(""); }
    double new_recall() const { return new_labels ? double(new_found) / double(new_labels) : std::nan(""); }
};

// Distinct label pairs counted once; "new" means builder.bought_before is false.
CandidateRecall candidate_recall(std::span<const UserItem> candidates, std::span<const UserItem> labels,
                                 const FeatureBuilder& builder, const Context& ctx);

}  // namespace recsys::features
