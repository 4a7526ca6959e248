#include "purchase_features.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "errors.h"
#include "parallel.h"

namespace recsys::features {

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr size_t kUserFixed = 10;  // user columns before the user_cat_share_<c> ones
constexpr uint32_t kCancelEvery = 4096;

std::string row_text(size_t i) { return "purchase " + std::to_string(i + 1); }

}  // namespace

int64_t floor_day(int64_t ts) {
    int64_t d = ts / kSecondsPerDay;
    return (ts % kSecondsPerDay < 0) ? d - 1 : d;
}

CsrMatrix purchase_matrix(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items) {
    std::vector<std::pair<uint32_t, uint32_t>> pairs;
    pairs.reserve(purchases.size());
    for (const Purchase& p : purchases) pairs.emplace_back(p.user, p.item);
    std::sort(pairs.begin(), pairs.end());
    CsrMatrix m;
    m.rows = n_users;
    m.cols = n_items;
    m.indptr.assign(size_t(n_users) + 1, 0);
    for (size_t i = 0; i < pairs.size(); ++i) {
        if (i > 0 && pairs[i] == pairs[i - 1]) {
            m.values.back() += 1.0f;
            continue;
        }
        m.indices.push_back(pairs[i].second);
        m.values.push_back(1.0f);
        ++m.indptr[pairs[i].first + 1];
    }
    for (uint32_t u = 0; u < n_users; ++u) m.indptr[u + 1] += m.indptr[u];
    return m;
}

void validate_purchases(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items) {
    for (size_t i = 0; i < purchases.size(); ++i) {
        const Purchase& p = purchases[i];
        if (p.user >= n_users)
            throw invalid_input(row_text(i) + ": user index " + std::to_string(p.user) + " is not below n_users " +
                                std::to_string(n_users));
        if (p.item >= n_items)
            throw invalid_input(row_text(i) + ": item index " + std::to_string(p.item) + " is not below n_items " +
                                std::to_string(n_items));
        if (!std::isfinite(p.quantity) || p.quantity <= 0)
            throw invalid_input(row_text(i) + ": quantity must be finite and positive",
                                "Leave returns and cancellations (quantity <= 0) out, and use 1 when unknown.");
        if (std::isinf(p.price) || p.price < 0)
            throw invalid_input(row_text(i) + ": price must be finite and not negative",
                                "Use NULL (NaN) for an unknown price.");
    }
}

// ---------------------------------------------------------------- time split

TimeSplit time_split(std::span<const Purchase> purchases, int64_t cutoff, int64_t window, const Context& ctx) {
    if (window <= 0) throw invalid_input("label window must be positive", "Give the window in seconds, e.g. 28 days = 2419200.");
    TimeSplit s;
    std::vector<UserItem> labels;
    int64_t min_ts = std::numeric_limits<int64_t>::max(), max_ts = std::numeric_limits<int64_t>::min();
    for (size_t i = 0; i < purchases.size(); ++i) {
        if (i % kCancelEvery == 0) ctx.cancel_point();
        const Purchase& p = purchases[i];
        min_ts = std::min(min_ts, p.ts);
        max_ts = std::max(max_ts, p.ts);
        if (p.ts < cutoff) {
            s.history.push_back(p);
        } else if (uint64_t(p.ts) - uint64_t(cutoff) < uint64_t(window)) {  // ts >= cutoff: no overflow
            labels.push_back({p.user, p.item});
        }
    }
    if (s.history.empty())
        throw invalid_input("no purchase is before the cutoff " + std::to_string(cutoff) + ", so there is no history",
                            purchases.empty() ? std::string("Give some purchases.")
                                              : "Choose a later cutoff: the earliest purchase is at " +
                                                    std::to_string(min_ts) + ".");
    if (labels.empty())
        throw invalid_input("no purchase is in the label window [" + std::to_string(cutoff) + ", cutoff + " +
                                std::to_string(window) + " s), so there are no labels",
                            "Choose an earlier cutoff or a longer window: the latest purchase is at " +
                                std::to_string(max_ts) + ".");
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    s.labels = std::move(labels);
    return s;
}

SplitTimes default_split_times(std::span<const Purchase> purchases, int64_t window) {
    if (purchases.empty()) throw invalid_input("no purchases to split", "Give some purchases.");
    if (window <= 0) throw invalid_input("label window must be positive", "Give the window in seconds, e.g. 28 days = 2419200.");
    int64_t min_ts = purchases[0].ts, max_ts = purchases[0].ts;
    for (const Purchase& p : purchases) {
        min_ts = std::min(min_ts, p.ts);
        max_ts = std::max(max_ts, p.ts);
    }
    // In 128 bits: max_ts + 1 - window cannot overflow there.
    const __int128 cutoff = __int128(max_ts) + 1 - window;
    if (cutoff <= min_ts)
        throw invalid_input("the purchases span " + std::to_string((max_ts - min_ts) / kSecondsPerDay) +
                                " days, no more than the label window of " + std::to_string(window / kSecondsPerDay) +
                                " days, so nothing is left for history",
                            "Use a shorter label window, or more data.");
    return {int64_t(cutoff), window};
}

// ----------------------------------------------------------------- features

void FeatureMatrix::append_columns(std::span<const ExtraColumn> extra, const Context& ctx) {
    if (extra.empty()) return;
    std::unordered_set<std::string> seen(names.begin(), names.end());
    for (const ExtraColumn& c : extra) {
        if (c.name.empty()) throw invalid_input("an extra feature column has no name");
        if (!seen.insert(c.name).second)
            throw invalid_input("feature column \"" + c.name + "\" appears twice", "Give each extra column its own name.");
        if (c.values.size() != rows)
            throw invalid_input("extra column \"" + c.name + "\" has " + std::to_string(c.values.size()) +
                                " values for " + std::to_string(rows) + " candidate pairs");
    }
    const size_t new_cols = cols + extra.size();
    ctx.reserve(uint64_t(rows) * new_cols * sizeof(float), "feature matrix", "Score fewer candidate pairs at a time.");
    std::vector<float> out(rows * new_cols);
    for (size_t r = 0; r < rows; ++r) {
        if (r % kCancelEvery == 0) ctx.cancel_point();
        float* dst = out.data() + r * new_cols;
        std::memcpy(dst, values.data() + r * cols, cols * sizeof(float));
        for (size_t j = 0; j < extra.size(); ++j) dst[cols + j] = extra[j].values[r];
    }
    values = std::move(out);
    for (const ExtraColumn& c : extra) names.push_back(c.name);
    cols = new_cols;
}

FeatureBuilder::FeatureBuilder(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items, int64_t now,
                               const ItemAttributes& attributes, const Options& options, const Context& ctx)
    : n_users_(n_users), n_items_(n_items), now_(now), options_(options) {
    validate_purchases(purchases, n_users, n_items);
    if (!std::isfinite(options.recent_days) || options.recent_days <= 0)
        throw invalid_input("recent_days must be positive");
    if (!std::isfinite(options.trend_base_days) || options.trend_base_days <= 0)
        throw invalid_input("trend_base_days must be positive");
    if (!attributes.category.empty() && attributes.category.size() != n_items)
        throw invalid_input("item categories have " + std::to_string(attributes.category.size()) +
                            " entries for " + std::to_string(n_items) + " items",
                            "Give one category per item (kNoCategory when none), or none at all.");
    if (!attributes.list_price.empty() && attributes.list_price.size() != n_items)
        throw invalid_input("item list prices have " + std::to_string(attributes.list_price.size()) +
                            " entries for " + std::to_string(n_items) + " items",
                            "Give one list price per item (NaN when unknown), or none at all.");
    item_category_.assign(n_items, kNoCategory);
    for (uint32_t i = 0; i < attributes.category.size(); ++i) {
        const uint32_t c = attributes.category[i];
        if (c != kNoCategory && c >= attributes.n_categories)
            throw invalid_input("item " + std::to_string(i) + ": category index " + std::to_string(c) +
                                " is not below n_categories " + std::to_string(attributes.n_categories));
        item_category_[i] = c;
    }
    for (uint32_t i = 0; i < attributes.list_price.size(); ++i) {
        const double lp = attributes.list_price[i];
        if (std::isinf(lp) || lp < 0) throw invalid_input("item " + std::to_string(i) + ": list price must be finite and not negative");
    }

    // History only, sorted by (user, item, ts): every user's and every
    // (user, item)'s events are then one contiguous run.
    size_t n_hist = 0;
    for (const Purchase& p : purchases) n_hist += p.ts < now;
    ctx.reserve(uint64_t(n_hist) * (sizeof(Purchase) + sizeof(UserItemStats) + sizeof(std::pair<uint32_t, uint32_t>)) +
                    uint64_t(n_users) * (16 + 8 * 3) + uint64_t(n_items) * 64,
                "purchase features", "Build features from fewer purchases.");
    std::vector<Purchase> h;
    h.reserve(n_hist);
    ui_.reserve(n_hist);  // at most one entry per event
    for (const Purchase& p : purchases)
        if (p.ts < now) h.push_back(p);
    ctx.cancel_point();
    std::sort(h.begin(), h.end(), [](const Purchase& a, const Purchase& b) {
        if (a.user != b.user) return a.user < b.user;
        if (a.item != b.item) return a.item < b.item;
        return a.ts < b.ts;
    });
    ctx.cancel_point();

    std::vector<uint64_t> user_start(uint64_t(n_users) + 1, 0);
    for (const Purchase& p : h) ++user_start[p.user + 1];
    for (uint32_t u = 0; u < n_users; ++u) user_start[u + 1] += user_start[u];

    // Category volumes decide the user_cat_share_<c> columns.
    std::vector<uint64_t> cat_volume(attributes.n_categories, 0);
    for (const Purchase& p : h)
        if (item_category_[p.item] != kNoCategory) ++cat_volume[item_category_[p.item]];
    if (!options.fixed_categories.empty()) {
        std::vector<bool> taken(attributes.n_categories, false);
        for (uint32_t c : options.fixed_categories) {
            if (c >= attributes.n_categories)
                throw invalid_input("fixed category " + std::to_string(c) + " is not below n_categories " +
                                    std::to_string(attributes.n_categories));
            if (taken[c]) throw invalid_input("fixed category " + std::to_string(c) + " is given twice");
            taken[c] = true;
        }
        top_categories_ = options.fixed_categories;
    } else {
        std::vector<uint32_t> cats;
        for (uint32_t c = 0; c < attributes.n_categories; ++c)
            if (cat_volume[c] > 0) cats.push_back(c);
        std::stable_sort(cats.begin(), cats.end(), [&](uint32_t a, uint32_t b) { return cat_volume[a] > cat_volume[b]; });
        if (cats.size() > options.top_categories) cats.resize(options.top_categories);
        top_categories_ = std::move(cats);
    }
    std::vector<int64_t> cat_column(attributes.n_categories, -1);
    for (size_t k = 0; k < top_categories_.size(); ++k) cat_column[top_categories_[k]] = int64_t(k);

    names_ = {"user_n_purchases", "user_n_baskets",  "user_n_items",         "user_days_since_last",
              "user_tenure_days", "user_mean_price", "user_std_price",       "user_mean_basket_size",
              "user_n_days",      "user_days_recent"};
    for (uint32_t c : top_categories_) names_.push_back("user_cat_share_" + std::to_string(c));
    n_user_cols_ = names_.size();
    for (const char* n : {"item_n_purchases", "item_buyers", "item_buyers_recent", "item_trend", "item_mean_price",
                          "item_list_price", "item_category", "item_age_days", "item_repeat_share"})
        names_.push_back(n);
    n_item_cols_ = names_.size() - n_user_cols_;
    for (const char* n : {"ui_times_bought", "ui_total_quantity", "ui_days_since_last", "ui_mean_interval_days",
                          "ui_due", "ui_user_category_share", "ui_relative_price", "ui_bought_before",
                          "ui_day_share"})
        names_.push_back(n);
    // After the ui_* block, not in the user block: purchase timing
    // (timing.cpp) takes the user block as its features, unchanged.
    for (const char* n : {"user_rebuy_share", "ui_days_recent", "ui_days_before_user_last"}) names_.push_back(n);

    // Per user. Many top categories make these columns the largest part.
    ctx.reserve(uint64_t(n_users) * n_user_cols_ * sizeof(float) + uint64_t(n_items) * n_item_cols_ * sizeof(float),
                "per-user purchase features", "Ask for fewer top categories.");
    user_cols_.assign(uint64_t(n_users) * n_user_cols_, kNaN);
    user_events_.assign(n_users, 0);
    user_mean_price_.assign(n_users, std::nan(""));
    user_days_.assign(n_users, 0);
    user_rebuy_share_.assign(n_users, std::nan(""));
    user_last_ts_.assign(n_users, 0);
    user_cat_start_.assign(uint64_t(n_users) + 1, 0);
    ui_start_.assign(uint64_t(n_users) + 1, 0);
    std::vector<int64_t> ts_buf;
    std::vector<uint32_t> cat_buf;
    for (uint32_t u = 0; u < n_users; ++u) {
        if (u % 256 == 0) ctx.cancel_point();
        const size_t b = user_start[u], e = user_start[u + 1];
        float* col = user_cols_.data() + uint64_t(u) * n_user_cols_;
        const size_t n = e - b;
        user_events_[u] = double(n);
        col[0] = float(n);
        // Per (user, item) runs.
        size_t distinct_items = 0;
        uint64_t item_days = 0;  // sum of the items' distinct days
        for (size_t r = b; r < e;) {
            size_t r_end = r;
            UserItemStats s;
            s.item = h[r].item;
            s.first_ts = h[r].ts;
            int64_t last_day = 0, last_recent_day = 0;
            while (r_end < e && h[r_end].item == s.item) {
                const int64_t day = floor_day(h[r_end].ts);
                if (s.days == 0 || day != last_day) ++s.days;
                last_day = day;
                if (double(now - h[r_end].ts) <= options.recent_days * kSecondsPerDay) {
                    if (s.recent_days == 0 || day != last_recent_day) ++s.recent_days;
                    last_recent_day = day;
                }
                s.quantity += h[r_end].quantity;
                s.last_ts = h[r_end].ts;
                ++r_end;
            }
            ui_.push_back(s);
            ++distinct_items;
            item_days += s.days;
            r = r_end;
        }
        ui_start_[u + 1] = ui_.size();
        user_cat_start_[u + 1] = user_cat_.size();  // none without history
        col[2] = float(distinct_items);
        col[1] = 0;
        col[8] = col[9] = 0;  // user_n_days, user_days_recent
        if (n == 0) continue;

        int64_t min_ts = h[b].ts, max_ts = h[b].ts;
        double price_sum = 0;
        size_t priced = 0;
        ts_buf.clear();
        cat_buf.clear();
        for (size_t r = b; r < e; ++r) {
            min_ts = std::min(min_ts, h[r].ts);
            max_ts = std::max(max_ts, h[r].ts);
            if (!std::isnan(h[r].price)) {
                price_sum += h[r].price;
                ++priced;
            }
            ts_buf.push_back(h[r].ts);
            if (item_category_[h[r].item] != kNoCategory) cat_buf.push_back(item_category_[h[r].item]);
        }
        std::sort(ts_buf.begin(), ts_buf.end());
        const size_t baskets = size_t(std::unique(ts_buf.begin(), ts_buf.end()) - ts_buf.begin());
        col[1] = float(baskets);
        col[3] = float(double(now - max_ts) / kSecondsPerDay);
        user_last_ts_[u] = max_ts;
        user_rebuy_share_[u] = double(item_days - distinct_items) / double(item_days);
        col[4] = float(double(now - min_ts) / kSecondsPerDay);
        if (priced > 0) {
            const double mean = price_sum / double(priced);
            double ss = 0;  // two passes: no cancellation in the variance
            for (size_t r = b; r < e; ++r)
                if (!std::isnan(h[r].price)) ss += (h[r].price - mean) * (h[r].price - mean);
            user_mean_price_[u] = mean;
            col[5] = float(mean);
            col[6] = float(std::sqrt(ss / double(priced)));
        }
        col[7] = float(double(n) / double(baskets));
        // ts_buf holds the distinct basket times, sorted: count their days.
        size_t days = 0, days_recent = 0;
        int64_t last_day = 0, last_recent_day = 0;
        for (size_t k = 0; k < baskets; ++k) {
            const int64_t day = floor_day(ts_buf[k]);
            if (days == 0 || day != last_day) ++days;
            last_day = day;
            if (double(now - ts_buf[k]) > options.recent_days * kSecondsPerDay) continue;
            if (days_recent == 0 || day != last_recent_day) ++days_recent;
            last_recent_day = day;
        }
        user_days_[u] = double(days);
        col[8] = float(days);
        col[9] = float(days_recent);
        for (size_t k = 0; k < top_categories_.size(); ++k) col[kUserFixed + k] = 0;
        std::sort(cat_buf.begin(), cat_buf.end());
        for (size_t r = 0; r < cat_buf.size();) {
            size_t r_end = r;
            while (r_end < cat_buf.size() && cat_buf[r_end] == cat_buf[r]) ++r_end;
            const uint32_t c = cat_buf[r];
            const uint32_t count = uint32_t(r_end - r);
            user_cat_.push_back({c, count});
            if (cat_column[c] >= 0) col[kUserFixed + cat_column[c]] = float(double(count) / double(n));
            r = r_end;
        }
        user_cat_start_[u + 1] = user_cat_.size();
    }

    // Per item.
    const double recent_s = options.recent_days * kSecondsPerDay;
    const double earlier_s = (options.recent_days + options.trend_base_days) * kSecondsPerDay;
    std::vector<uint64_t> events(n_items, 0), recent(n_items, 0), earlier(n_items, 0), priced(n_items, 0);
    std::vector<uint64_t> buyers(n_items, 0), buyers_recent(n_items, 0), repeat_buyers(n_items, 0);
    std::vector<double> price_sum(n_items, 0);
    std::vector<int64_t> first_ts(n_items, std::numeric_limits<int64_t>::max());
    for (size_t r = 0; r < h.size(); ++r) {
        if (r % kCancelEvery == 0) ctx.cancel_point();
        const Purchase& p = h[r];
        ++events[p.item];
        const double age = double(now - p.ts);
        if (age <= recent_s) ++recent[p.item];
        else if (age <= earlier_s) ++earlier[p.item];
        if (!std::isnan(p.price)) {
            price_sum[p.item] += p.price;
            ++priced[p.item];
        }
        first_ts[p.item] = std::min(first_ts[p.item], p.ts);
    }
    for (const UserItemStats& s : ui_) {
        ++buyers[s.item];
        repeat_buyers[s.item] += s.days >= 2;
        if (double(now - s.last_ts) <= recent_s) ++buyers_recent[s.item];
    }
    item_cols_.assign(uint64_t(n_items) * n_item_cols_, kNaN);
    item_price_.assign(n_items, std::nan(""));
    for (uint32_t i = 0; i < n_items; ++i) {
        float* col = item_cols_.data() + uint64_t(i) * n_item_cols_;
        col[0] = float(events[i]);
        col[1] = float(buyers[i]);
        col[2] = float(buyers_recent[i]);
        col[3] = float((double(recent[i]) + 1) /
                       (double(earlier[i]) * options.recent_days / options.trend_base_days + 1));
        if (priced[i] > 0) item_price_[i] = price_sum[i] / double(priced[i]);
        col[4] = float(item_price_[i]);
        if (!attributes.list_price.empty()) {
            col[5] = float(attributes.list_price[i]);
            if (priced[i] == 0) item_price_[i] = attributes.list_price[i];
        }
        if (item_category_[i] != kNoCategory) col[6] = float(item_category_[i]);
        if (events[i] > 0) col[7] = float(double(now - first_ts[i]) / kSecondsPerDay);
        if (buyers[i] > 0) col[8] = float(double(repeat_buyers[i]) / double(buyers[i]));
    }
}

const UserItemStats* FeatureBuilder::find(uint32_t user, uint32_t item) const {
    const auto items = user_items(user);
    const auto it = std::lower_bound(items.begin(), items.end(), item,
                                     [](const UserItemStats& s, uint32_t i) { return s.item < i; });
    return it != items.end() && it->item == item ? &*it : nullptr;
}

void FeatureBuilder::fill_row(UserItem pair, float* row) const {
    std::memcpy(row, user_cols_.data() + uint64_t(pair.user) * n_user_cols_, n_user_cols_ * sizeof(float));
    row += n_user_cols_;
    std::memcpy(row, item_cols_.data() + uint64_t(pair.item) * n_item_cols_, n_item_cols_ * sizeof(float));
    row += n_item_cols_;

    const UserItemStats* s = find(pair.user, pair.item);
    double since_last = std::nan(""), interval = std::nan(""), due = std::nan("");
    if (s) {
        since_last = double(now_ - s->last_ts) / kSecondsPerDay;
        if (s->days >= 2) interval = double(s->last_ts - s->first_ts) / kSecondsPerDay / double(s->days - 1);
        if (interval > 0) due = since_last / interval;
    }
    double cat_share = std::nan("");
    const uint32_t c = item_category_[pair.item];
    if (c != kNoCategory && user_events_[pair.user] > 0) {
        const auto b = user_cat_.begin() + int64_t(user_cat_start_[pair.user]);
        const auto e = user_cat_.begin() + int64_t(user_cat_start_[pair.user + 1]);
        const auto it = std::lower_bound(b, e, c, [](const std::pair<uint32_t, uint32_t>& x, uint32_t v) { return x.first < v; });
        cat_share = (it != e && it->first == c ? double(it->second) : 0.0) / user_events_[pair.user];
    }
    const double um = user_mean_price_[pair.user];
    const double rel = um > 0 ? item_price_[pair.item] / um : std::nan("");  // NaN stays NaN

    row[0] = s ? float(s->days) : 0.0f;
    row[1] = s ? float(s->quantity) : 0.0f;
    row[2] = float(since_last);
    row[3] = float(interval);
    row[4] = float(due);
    row[5] = float(cat_share);
    row[6] = float(rel);
    row[7] = s ? 1.0f : 0.0f;
    row[8] = user_days_[pair.user] > 0 ? float((s ? double(s->days) : 0.0) / user_days_[pair.user]) : kNaN;
    row[9] = float(user_rebuy_share_[pair.user]);
    row[10] = s ? float(s->recent_days) : 0.0f;
    row[11] = s ? float(double(user_last_ts_[pair.user] - s->last_ts) / kSecondsPerDay) : kNaN;
}

FeatureMatrix FeatureBuilder::compute(std::span<const UserItem> pairs, std::span<const ExtraColumn> extra,
                                      const Context& ctx) const {
    for (size_t k = 0; k < pairs.size(); ++k)
        if (pairs[k].user >= n_users_ || pairs[k].item >= n_items_)
            throw invalid_input("candidate pair " + std::to_string(k + 1) + " (user " + std::to_string(pairs[k].user) +
                                ", item " + std::to_string(pairs[k].item) + ") is out of range: n_users " +
                                std::to_string(n_users_) + ", n_items " + std::to_string(n_items_));
    FeatureMatrix m;
    m.rows = pairs.size();
    m.cols = names_.size();
    m.names = names_;
    // Checked before the big allocation: the extra columns' names and sizes.
    {
        std::unordered_set<std::string> seen(names_.begin(), names_.end());
        for (const ExtraColumn& c : extra) {
            if (c.name.empty()) throw invalid_input("an extra feature column has no name");
            if (!seen.insert(c.name).second)
                throw invalid_input("feature column \"" + c.name + "\" appears twice", "Give each extra column its own name.");
            if (c.values.size() != pairs.size())
                throw invalid_input("extra column \"" + c.name + "\" has " + std::to_string(c.values.size()) +
                                    " values for " + std::to_string(pairs.size()) + " candidate pairs");
        }
    }
    const size_t total_cols = m.cols + extra.size();
    ctx.reserve(uint64_t(m.rows) * total_cols * sizeof(float), "feature matrix", "Score fewer candidate pairs at a time.");
    m.values.resize(m.rows * total_cols);
    // Rows are independent: any thread count gives the same bytes.
    parallel_for(
        m.rows, ctx,
        [&](uint64_t begin, uint64_t end) {
            ctx.cancel_point();
            for (uint64_t r = begin; r < end; ++r) {
                float* row = m.values.data() + r * total_cols;
                fill_row(pairs[r], row);
                for (size_t j = 0; j < extra.size(); ++j) row[m.cols + j] = extra[j].values[r];
            }
        },
        kCancelEvery);
    m.cols = total_cols;
    for (const ExtraColumn& c : extra) m.names.push_back(c.name);
    return m;
}

// ------------------------------------------------------------ candidates

std::vector<std::vector<uint32_t>> rebuy_candidates(const FeatureBuilder& builder, size_t max_per_user,
                                                    const Context& ctx) {
    std::vector<std::vector<uint32_t>> out(builder.n_users());
    std::vector<UserItemStats> buf;
    for (uint32_t u = 0; u < builder.n_users(); ++u) {
        if (u % 256 == 0) ctx.cancel_point();
        const auto items = builder.user_items(u);
        buf.assign(items.begin(), items.end());
        std::sort(buf.begin(), buf.end(), [](const UserItemStats& a, const UserItemStats& b) {
            if (a.days != b.days) return a.days > b.days;
            if (a.last_ts != b.last_ts) return a.last_ts > b.last_ts;
            return a.item < b.item;
        });
        const size_t n = max_per_user == 0 ? buf.size() : std::min(buf.size(), max_per_user);
        out[u].reserve(n);
        for (size_t k = 0; k < n; ++k) out[u].push_back(buf[k].item);
    }
    return out;
}

std::vector<uint32_t> recent_best_sellers(std::span<const Purchase> purchases, uint32_t n_items, int64_t now,
                                          double days, const Context& ctx) {
    if (!(days > 0)) throw invalid_input("the recent best sellers' window must be positive");
    const int64_t from = now - int64_t(std::llround(days * double(kSecondsPerDay)));
    std::vector<std::pair<uint32_t, uint32_t>> bought;  // (item, user) in the window
    for (size_t k = 0; k < purchases.size(); ++k) {
        if (k % kCancelEvery == 0) ctx.cancel_point();
        const Purchase& p = purchases[k];
        if (p.ts >= from && p.ts < now) {
            if (p.item >= n_items) throw invalid_input(row_text(k) + ": item index is not below n_items");
            bought.emplace_back(p.item, p.user);
        }
    }
    std::sort(bought.begin(), bought.end());
    bought.erase(std::unique(bought.begin(), bought.end()), bought.end());
    std::vector<uint32_t> buyers(n_items, 0);
    for (const auto& [item, user] : bought) ++buyers[item];
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < n_items; ++i)
        if (buyers[i] > 0) out.push_back(i);
    std::stable_sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) { return buyers[a] > buyers[b]; });
    return out;
}

std::vector<UserItem> union_candidates(std::span<const std::vector<std::vector<uint32_t>>> lists, size_t top_n,
                                       uint32_t n_items, const Context& ctx) {
    size_t n_users = 0;
    for (const auto& l : lists) n_users = std::max(n_users, l.size());
    // seen[item] == user + 1 marks the item taken for this user: no clearing between users.
    std::vector<uint64_t> seen(n_items, 0);
    uint64_t most = 0;
    for (const auto& l : lists)
        for (const auto& items : l) most += top_n == 0 ? items.size() : std::min(items.size(), top_n);
    ctx.reserve(most * sizeof(UserItem) + uint64_t(n_items) * sizeof(uint64_t), "candidate pairs",
                "Take fewer candidates per user.");
    std::vector<UserItem> out;
    for (size_t u = 0; u < n_users; ++u) {
        if (u % 256 == 0) ctx.cancel_point();
        for (size_t l = 0; l < lists.size(); ++l) {
            if (u >= lists[l].size()) continue;
            const auto& items = lists[l][u];
            const size_t n = top_n == 0 ? items.size() : std::min(items.size(), top_n);
            for (size_t k = 0; k < n; ++k) {
                const uint32_t i = items[k];
                if (i >= n_items)
                    throw invalid_input("candidate list " + std::to_string(l + 1) + ", user " + std::to_string(u) +
                                        ": item index " + std::to_string(i) + " is not below n_items " +
                                        std::to_string(n_items));
                if (seen[i] == u + 1) continue;
                seen[i] = u + 1;
                out.push_back({uint32_t(u), i});
            }
        }
    }
    return out;
}

std::vector<float> candidate_targets(std::span<const UserItem> candidates, std::span<const UserItem> labels,
                                     const Context& ctx) {
    std::vector<UserItem> lab(labels.begin(), labels.end());
    std::sort(lab.begin(), lab.end());
    ctx.cancel_point();
    ctx.reserve(uint64_t(candidates.size()) * sizeof(float), "candidate targets", "Score fewer candidate pairs at a time.");
    std::vector<float> y(candidates.size());
    for (size_t k = 0; k < candidates.size(); ++k) {
        if (k % kCancelEvery == 0) ctx.cancel_point();
        y[k] = std::binary_search(lab.begin(), lab.end(), candidates[k]) ? 1.0f : 0.0f;
    }
    return y;
}

CandidateRecall candidate_recall(std::span<const UserItem> candidates, std::span<const UserItem> labels,
                                 const FeatureBuilder& builder, const Context& ctx) {
    std::vector<UserItem> cand(candidates.begin(), candidates.end());
    std::sort(cand.begin(), cand.end());
    ctx.cancel_point();
    std::vector<UserItem> lab(labels.begin(), labels.end());
    std::sort(lab.begin(), lab.end());
    lab.erase(std::unique(lab.begin(), lab.end()), lab.end());
    CandidateRecall r;
    for (size_t k = 0; k < lab.size(); ++k) {
        if (k % kCancelEvery == 0) ctx.cancel_point();
        const UserItem p = lab[k];
        if (p.user >= builder.n_users() || p.item >= builder.n_items())
            throw invalid_input("label pair (user " + std::to_string(p.user) + ", item " + std::to_string(p.item) +
                                ") is out of the builder's range");
        const bool found = std::binary_search(cand.begin(), cand.end(), p);
        ++r.labels;
        r.found += found;
        if (!builder.bought_before(p.user, p.item)) {
            ++r.new_labels;
            r.new_found += found;
        }
    }
    return r;
}

}  // namespace recsys::features
