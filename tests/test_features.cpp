// Purchase features (purchase_features.h): every column against naive loops
// over all purchases, no leakage past the cutoff, the time split, candidate
// helpers and their recall.
#include "purchase_features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "best_sellers_reference.h"
#include "expect_error.h"
#include "rng.h"

using namespace recsys::features;
using recsys::Context;
using recsys::ErrorKind;
using recsys::expect_error;
using recsys::SplitMix64;

namespace {

const double NaN = std::nan("");
constexpr int64_t kDay = 86400;
constexpr int64_t kBase = 1'600'000'000;

struct Data {
    uint32_t n_users = 0, n_items = 0;
    std::vector<Purchase> purchases;
    ItemAttributes attributes;
    int64_t now = 0;
};

// Small random data with the awkward cases: unknown prices, items without a
// category or never sold, users with one purchase or none, several rows per
// basket (same ts), several baskets per day, purchases after `now`.
Data make_data(uint64_t seed) {
    SplitMix64 g(seed);
    Data d;
    d.n_users = 14;
    d.n_items = 16;
    d.attributes.n_categories = 5;
    for (uint32_t i = 0; i < d.n_items; ++i) {
        d.attributes.category.push_back(g.below(10) < 3 ? kNoCategory : g.below(5));
        d.attributes.list_price.push_back(g.below(2) ? NaN : 1 + g.below(50) / 4.0);
    }
    d.now = kBase + 200 * kDay;
    // Users 0..9 random (4: only after now); 10 and 11 one purchase each; 12 and
    // 13 none before now.
    for (uint32_t u = 0; u < 10; ++u) {
        const uint32_t baskets = 1 + g.below(8);
        for (uint32_t b = 0; b < baskets; ++b) {
            // Spread over 260 days: some after now. Same-day baskets are likely.
            int64_t ts = kBase + int64_t(g.below(26)) * 10 * kDay + int64_t(g.below(3)) * 3600 + g.below(5);
            if (u == 4) ts = d.now + int64_t(b) * kDay;  // a user without history among others
            const uint32_t rows = 1 + g.below(4);
            for (uint32_t r = 0; r < rows; ++r) {
                Purchase p;
                p.user = u;
                p.item = g.below(d.n_items - 2);  // the last two items are never sold
                p.ts = ts;
                p.quantity = g.below(4) ? 1 + g.below(5) : 0.5;
                p.price = g.below(10) < 3 ? NaN : g.below(40) / 4.0;  // 0 happens too
                d.purchases.push_back(p);
            }
        }
    }
    d.purchases.push_back({10, 3, kBase + 150 * kDay + 17, 2, 4.5});
    d.purchases.push_back({11, 5, kBase + 199 * kDay, 1, NaN});
    d.purchases.push_back({12, 5, d.now, 1, 3.0});  // at now: not history
    d.purchases.push_back({13, 6, d.now + 5 * kDay, 1, 3.0});
    return d;
}

double ref_day(int64_t ts) { return std::floor(double(ts) / double(kDay)); }

// The documented definitions, by loops over every purchase.
std::map<std::string, double> reference(const Data& d, const Options& o, uint32_t u, uint32_t i) {
    std::vector<Purchase> h;
    for (const Purchase& p : d.purchases)
        if (p.ts < d.now) h.push_back(p);
    auto days = [&](int64_t ts) { return double(d.now - ts) / kDay; };
    auto cat_of = [&](uint32_t item) { return d.attributes.category.empty() ? kNoCategory : d.attributes.category[item]; };
    std::map<std::string, double> f;

    // Top categories.
    std::vector<std::pair<int64_t, uint32_t>> vol;  // (-volume, category)
    for (uint32_t c = 0; c < d.attributes.n_categories; ++c) {
        int64_t v = 0;
        for (const Purchase& p : h) v += cat_of(p.item) == c;
        if (v > 0) vol.push_back({-v, c});
    }
    std::sort(vol.begin(), vol.end());
    if (vol.size() > o.top_categories) vol.resize(o.top_categories);
    if (!o.fixed_categories.empty()) {
        vol.clear();
        for (uint32_t c : o.fixed_categories) vol.push_back({0, c});
    }

    // User.
    double n = 0, min_ts = 1e300, max_ts = -1e300, psum = 0, pn = 0;
    std::set<int64_t> baskets;
    std::set<uint32_t> items;
    for (const Purchase& p : h) {
        if (p.user != u) continue;
        ++n;
        baskets.insert(p.ts);
        items.insert(p.item);
        min_ts = std::min(min_ts, double(p.ts));
        max_ts = std::max(max_ts, double(p.ts));
        if (!std::isnan(p.price)) {
            psum += p.price;
            ++pn;
        }
    }
    const double umean = pn ? psum / pn : NaN;
    double ss = 0;
    for (const Purchase& p : h)
        if (p.user == u && !std::isnan(p.price)) ss += (p.price - umean) * (p.price - umean);
    f["user_n_purchases"] = n;
    f["user_n_baskets"] = double(baskets.size());
    f["user_n_items"] = double(items.size());
    f["user_days_since_last"] = n ? (double(d.now) - max_ts) / kDay : NaN;
    f["user_tenure_days"] = n ? (double(d.now) - min_ts) / kDay : NaN;
    f["user_mean_price"] = umean;
    f["user_std_price"] = pn ? std::sqrt(ss / pn) : NaN;
    f["user_mean_basket_size"] = n ? n / double(baskets.size()) : NaN;
    std::set<double> user_days, user_days_recent;
    for (const Purchase& p : h) {
        if (p.user != u) continue;
        user_days.insert(floor_day(p.ts));
        if (double(p.ts) >= double(d.now) - o.recent_days * kDay) user_days_recent.insert(floor_day(p.ts));
    }
    f["user_n_days"] = double(user_days.size());
    f["user_days_recent"] = double(user_days_recent.size());
    auto user_share = [&](uint32_t c) {
        if (n == 0) return NaN;
        double k = 0;
        for (const Purchase& p : h) k += p.user == u && cat_of(p.item) == c;
        return k / n;
    };
    for (const auto& [v, c] : vol) f["user_cat_share_" + std::to_string(c)] = user_share(c);

    // Item.
    const double R = o.recent_days * kDay, B = o.trend_base_days * kDay;
    double ievents = 0, recent = 0, earlier = 0, ipsum = 0, ipn = 0, first = 1e300;
    std::set<uint32_t> buyers, buyers_recent;
    for (const Purchase& p : h) {
        if (p.item != i) continue;
        ++ievents;
        buyers.insert(p.user);
        if (double(p.ts) >= double(d.now) - R) {
            buyers_recent.insert(p.user);
            ++recent;
        } else if (double(p.ts) >= double(d.now) - R - B) {
            ++earlier;
        }
        if (!std::isnan(p.price)) {
            ipsum += p.price;
            ++ipn;
        }
        first = std::min(first, double(p.ts));
    }
    const double list = d.attributes.list_price.empty() ? NaN : d.attributes.list_price[i];
    f["item_n_purchases"] = ievents;
    f["item_buyers"] = double(buyers.size());
    f["item_buyers_recent"] = double(buyers_recent.size());
    f["item_trend"] = (recent + 1) / (earlier * o.recent_days / o.trend_base_days + 1);
    f["item_mean_price"] = ipn ? ipsum / ipn : NaN;
    f["item_list_price"] = list;
    f["item_category"] = cat_of(i) == kNoCategory ? NaN : double(cat_of(i));
    f["item_age_days"] = ievents ? (double(d.now) - first) / kDay : NaN;
    double repeaters = 0;
    for (uint32_t b : buyers) {
        std::set<double> bdays;
        for (const Purchase& p : h)
            if (p.user == b && p.item == i) bdays.insert(floor_day(p.ts));
        repeaters += bdays.size() >= 2;
    }
    f["item_repeat_share"] = buyers.empty() ? NaN : repeaters / double(buyers.size());

    // User x item.
    std::set<double> ui_days;
    double qty = 0, ui_first = 1e300, ui_last = -1e300;
    for (const Purchase& p : h) {
        if (p.user != u || p.item != i) continue;
        ui_days.insert(ref_day(p.ts));
        qty += p.quantity;
        ui_first = std::min(ui_first, double(p.ts));
        ui_last = std::max(ui_last, double(p.ts));
    }
    const bool bought = !ui_days.empty();
    const double since = bought ? (double(d.now) - ui_last) / kDay : NaN;
    const double interval = ui_days.size() >= 2 ? (ui_last - ui_first) / kDay / double(ui_days.size() - 1) : NaN;
    f["ui_times_bought"] = double(ui_days.size());
    f["ui_total_quantity"] = qty;
    f["ui_days_since_last"] = since;
    f["ui_mean_interval_days"] = interval;
    f["ui_due"] = std::isnan(interval) ? NaN : since / interval;
    f["ui_user_category_share"] = cat_of(i) == kNoCategory ? NaN : user_share(cat_of(i));
    const double iprice = ipn ? ipsum / ipn : list;
    f["ui_relative_price"] = (std::isnan(umean) || umean == 0 || std::isnan(iprice)) ? NaN : iprice / umean;
    f["ui_bought_before"] = bought ? 1 : 0;
    f["ui_day_share"] = user_days.empty() ? NaN : double(ui_days.size()) / double(user_days.size());
    // user_rebuy_share: (item, day) purchases of the user that repeat an earlier day's item.
    std::set<std::pair<uint32_t, double>> item_days;
    std::set<uint32_t> user_items;
    for (const Purchase& p : h)
        if (p.user == u) {
            item_days.insert({p.item, ref_day(p.ts)});
            user_items.insert(p.item);
        }
    f["user_rebuy_share"] =
        item_days.empty() ? NaN : double(item_days.size() - user_items.size()) / double(item_days.size());
    std::set<double> ui_recent;
    for (const Purchase& p : h)
        if (p.user == u && p.item == i && double(p.ts) >= double(d.now) - o.recent_days * kDay)
            ui_recent.insert(ref_day(p.ts));
    f["ui_days_recent"] = double(ui_recent.size());
    f["ui_days_before_user_last"] = bought ? (max_ts - ui_last) / kDay : NaN;
    (void)days;
    return f;
}

void expect_near_or_nan(float actual, double expected, const std::string& what) {
    if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual << ", expected NaN";
    } else {
        EXPECT_NEAR(actual, expected, 1e-5 * std::max(1.0, std::abs(expected))) << what;
    }
}

std::vector<UserItem> all_pairs(uint32_t n_users, uint32_t n_items) {
    std::vector<UserItem> pairs;
    for (uint32_t u = 0; u < n_users; ++u)
        for (uint32_t i = 0; i < n_items; ++i) pairs.push_back({u, i});
    return pairs;
}

bool same_bits(const FeatureMatrix& a, const FeatureMatrix& b) {
    return a.rows == b.rows && a.cols == b.cols && a.names == b.names &&
           std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(PurchaseFeatures, EveryColumnMatchesNaiveLoops) {
    const Context ctx;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        Data d = make_data(seed);
        Options o;
        o.top_categories = seed % 2 ? 3 : 10;  // 3 cuts the 5 categories down
        o.recent_days = seed % 3 ? 30 : 7.5;
        o.trend_base_days = seed % 4 ? 90 : 20;
        if (seed == 8) d.attributes = {};  // no attributes at all
        if (seed == 7) o.fixed_categories = {4, 0, 2};
        const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, o, ctx);
        std::vector<UserItem> pairs = all_pairs(d.n_users, d.n_items);
        pairs.push_back({3, 2});  // repeats are fine
        const FeatureMatrix m = fb.compute(pairs, ctx);
        ASSERT_EQ(m.rows, pairs.size());
        ASSERT_EQ(m.cols, fb.n_features());
        ASSERT_EQ(m.names, fb.names());
        ASSERT_EQ(m.values.size(), m.rows * m.cols);
        for (size_t r = 0; r < pairs.size(); ++r) {
            const auto ref = reference(d, o, pairs[r].user, pairs[r].item);
            // Same set of columns, in the header's order for the fixed ones.
            ASSERT_EQ(ref.size(), m.cols) << "seed " << seed;
            for (size_t c = 0; c < m.cols; ++c) {
                const auto it = ref.find(m.names[c]);
                ASSERT_NE(it, ref.end()) << m.names[c];
                expect_near_or_nan(m.at(r, c), it->second,
                                   "seed " + std::to_string(seed) + " user " + std::to_string(pairs[r].user) +
                                       " item " + std::to_string(pairs[r].item) + " " + m.names[c]);
            }
        }
        // Top categories by volume, best first, in the column order.
        for (size_t k = 0; k < fb.top_categories().size(); ++k)
            EXPECT_EQ(m.names[10 + k], "user_cat_share_" + std::to_string(fb.top_categories()[k]));
        if (seed == 7) EXPECT_EQ(fb.top_categories(), o.fixed_categories);
        else EXPECT_LE(fb.top_categories().size(), o.top_categories);
        if (seed == 8) EXPECT_TRUE(fb.top_categories().empty());
    }
}

TEST(PurchaseFeatures, ColumnOrderIsTheDocumentedOne) {
    const Context ctx;
    const Data d = make_data(3);
    Options o;
    o.top_categories = 2;
    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, o, ctx);
    std::vector<std::string> expected = {"user_n_purchases", "user_n_baskets", "user_n_items", "user_days_since_last",
                                         "user_tenure_days", "user_mean_price", "user_std_price",
                                         "user_mean_basket_size", "user_n_days", "user_days_recent"};
    for (uint32_t c : fb.top_categories()) expected.push_back("user_cat_share_" + std::to_string(c));
    for (const char* n : {"item_n_purchases", "item_buyers", "item_buyers_recent", "item_trend", "item_mean_price",
                          "item_list_price", "item_category", "item_age_days", "item_repeat_share",
                          "ui_times_bought", "ui_total_quantity",
                          "ui_days_since_last", "ui_mean_interval_days", "ui_due", "ui_user_category_share",
                          "ui_relative_price", "ui_bought_before", "ui_day_share", "user_rebuy_share",
                          "ui_days_recent", "ui_days_before_user_last"})
        expected.push_back(n);
    EXPECT_EQ(fb.names(), expected);
    EXPECT_EQ(fb.top_categories().size(), 2u);
}

TEST(PurchaseFeatures, HandCheckedValues) {
    // User 0 buys item 0 on days 0, 10 and 10 again (same day), item 1 once;
    // now = day 30. Independent of the reference code above.
    const Context ctx;
    const int64_t t0 = kBase - kBase % kDay;  // midnight
    std::vector<Purchase> p = {{0, 0, t0, 2, 10}, {0, 0, t0 + 10 * kDay, 1, 20}, {0, 0, t0 + 10 * kDay + 60, 1, NaN},
                               {0, 1, t0 + 10 * kDay, 3, 30}, {1, 1, t0 + 29 * kDay, 1, 5}};
    const FeatureBuilder fb(p, 2, 3, t0 + 30 * kDay, {}, {}, ctx);
    const FeatureMatrix m = fb.compute(std::vector<UserItem>{{0, 0}, {1, 2}}, ctx);
    auto col = [&](const std::string& n) { return size_t(std::find(m.names.begin(), m.names.end(), n) - m.names.begin()); };
    EXPECT_EQ(m.at(0, col("user_n_purchases")), 4);
    EXPECT_EQ(m.at(0, col("user_n_baskets")), 3);  // t0, t0+10d (two rows), t0+10d+60
    EXPECT_EQ(m.at(0, col("user_n_items")), 2);
    EXPECT_FLOAT_EQ(m.at(0, col("user_days_since_last")), 20 - 60.0 / kDay);
    EXPECT_EQ(m.at(0, col("user_tenure_days")), 30);
    EXPECT_EQ(m.at(0, col("user_mean_price")), 20);
    EXPECT_FLOAT_EQ(m.at(0, col("user_std_price")), std::sqrt(200.0 / 3));
    EXPECT_FLOAT_EQ(m.at(0, col("user_mean_basket_size")), 4.0f / 3);
    EXPECT_EQ(m.at(0, col("item_buyers")), 1);
    // 3 events 20..30 days ago: all recent (30 days inclusive). (3 + 1) / (0 + 1).
    EXPECT_EQ(m.at(0, col("item_buyers_recent")), 1);
    EXPECT_EQ(m.at(0, col("item_trend")), 4);
    EXPECT_EQ(m.at(0, col("item_mean_price")), 15);
    EXPECT_TRUE(std::isnan(m.at(0, col("item_category"))));
    EXPECT_EQ(m.at(0, col("ui_times_bought")), 2);
    EXPECT_EQ(m.at(0, col("ui_total_quantity")), 4);
    EXPECT_FLOAT_EQ(m.at(0, col("ui_mean_interval_days")), 10 + 60.0 / kDay);
    EXPECT_FLOAT_EQ(m.at(0, col("ui_due")), (20 - 60.0 / kDay) / (10 + 60.0 / kDay));
    EXPECT_FLOAT_EQ(m.at(0, col("ui_relative_price")), 15.0f / 20);
    EXPECT_EQ(m.at(0, col("ui_bought_before")), 1);
    // User 1, never-sold item 2.
    EXPECT_EQ(m.at(1, col("ui_bought_before")), 0);
    EXPECT_EQ(m.at(1, col("ui_times_bought")), 0);
    EXPECT_TRUE(std::isnan(m.at(1, col("ui_days_since_last"))));
    EXPECT_TRUE(std::isnan(m.at(1, col("item_age_days"))));
    EXPECT_EQ(m.at(1, col("item_trend")), 1);
    EXPECT_EQ(m.at(1, col("user_std_price")), 0);  // one priced purchase

    // Recent = 15 days: the 3 events are earlier ones. (0 + 1) / (3 * 15 / 90 + 1).
    Options o;
    o.recent_days = 15;
    const FeatureMatrix m15 = FeatureBuilder(p, 2, 3, t0 + 30 * kDay, {}, o, ctx).compute(std::vector<UserItem>{{0, 0}}, ctx);
    EXPECT_EQ(m15.at(0, col("item_buyers_recent")), 0);
    EXPECT_FLOAT_EQ(m15.at(0, col("item_trend")), 1 / 1.5f);
}

TEST(PurchaseFeatures, NoLeakagePastTheCutoff) {
    const Context ctx;
    for (uint64_t seed = 11; seed <= 15; ++seed) {
        const Data d = make_data(seed);
        const auto pairs = all_pairs(d.n_users, d.n_items);
        const FeatureMatrix base =
            FeatureBuilder(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx).compute(pairs, ctx);

        // Only the history, as time_split returns it.
        const TimeSplit s = time_split(d.purchases, d.now, 1000 * kDay, ctx);
        EXPECT_TRUE(same_bits(base, FeatureBuilder(s.history, d.n_users, d.n_items, d.now, d.attributes, {}, ctx)
                                        .compute(pairs, ctx)));

        // Purchases at or after the cutoff changed, and many added, some at exactly now.
        Data e = d;
        SplitMix64 g(seed);
        for (Purchase& p : e.purchases)
            if (p.ts >= e.now) {
                p.price = 999;
                p.quantity = 7;
                p.item = g.below(e.n_items);
            }
        for (int k = 0; k < 200; ++k)
            e.purchases.push_back({g.below(e.n_users), g.below(e.n_items), e.now + int64_t(g.below(3)) * g.below(90 * kDay),
                                   1 + double(g.below(3)), g.below(2) ? NaN : double(g.below(100))});
        EXPECT_TRUE(same_bits(base, FeatureBuilder(e.purchases, e.n_users, e.n_items, e.now, e.attributes, {}, ctx)
                                        .compute(pairs, ctx)))
            << "seed " << seed;

        // A purchase just before the cutoff does change something: the test can fail.
        e.purchases.push_back({0, 0, e.now - 1, 1, 5});
        EXPECT_FALSE(same_bits(base, FeatureBuilder(e.purchases, e.n_users, e.n_items, e.now, e.attributes, {}, ctx)
                                         .compute(pairs, ctx)));
    }
}

TEST(PurchaseFeatures, ServingBuilderKeepsTrainingColumns) {
    // Later data can reorder the category volumes; fixed categories keep the columns.
    const Context ctx;
    Data d = make_data(23);
    Options o;
    o.top_categories = 3;
    const FeatureBuilder train(d.purchases, d.n_users, d.n_items, d.now, d.attributes, o, ctx);
    const uint32_t last = train.top_categories().back();
    uint32_t item = 0;
    while (d.attributes.category[item] != last) ++item;
    for (int k = 0; k < 500; ++k) d.purchases.push_back({0, item, d.now + 10, 1, 1});
    const FeatureBuilder moved(d.purchases, d.n_users, d.n_items, d.now + 100, d.attributes, o, ctx);
    EXPECT_EQ(moved.top_categories().front(), last);  // the test would catch a change
    o.fixed_categories = train.top_categories();
    const FeatureBuilder serve(d.purchases, d.n_users, d.n_items, d.now + 100, d.attributes, o, ctx);
    EXPECT_EQ(serve.names(), train.names());
}

TEST(PurchaseFeatures, InputOrderDoesNotMatter) {
    const Context ctx;
    Data d = make_data(21);
    const auto pairs = all_pairs(d.n_users, d.n_items);
    const FeatureMatrix a = FeatureBuilder(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx).compute(pairs, ctx);
    std::reverse(d.purchases.begin(), d.purchases.end());
    const FeatureMatrix b = FeatureBuilder(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx).compute(pairs, ctx);
    // Sums may round differently in another order; compare closely, NaN alike.
    ASSERT_EQ(a.values.size(), b.values.size());
    for (size_t k = 0; k < a.values.size(); ++k) expect_near_or_nan(b.values[k], a.values[k], a.names[k % a.cols]);
}

TEST(PurchaseFeatures, ThreadCountDoesNotChangeTheBytes) {
    Context one, two;
    two.threads = 2;
    const Data d = make_data(22);
    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, one);
    std::vector<UserItem> pairs;
    for (int k = 0; k < 40; ++k) {
        const auto all = all_pairs(d.n_users, d.n_items);  // > 4096 rows: several chunks
        pairs.insert(pairs.end(), all.begin(), all.end());
    }
    EXPECT_TRUE(same_bits(fb.compute(pairs, one), fb.compute(pairs, two)));
}

TEST(PurchaseFeatures, ExtraColumns) {
    const Context ctx;
    const Data d = make_data(4);
    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
    const std::vector<UserItem> pairs = {{0, 1}, {2, 3}, {5, 0}};
    const std::vector<float> score = {0.5f, -1.0f, float(NaN)}, rank = {1, 2, 3};
    const std::vector<ExtraColumn> extra = {{"base_score", score}, {"base_rank", rank}};
    const FeatureMatrix m = fb.compute(pairs, extra, ctx);
    ASSERT_EQ(m.cols, fb.n_features() + 2);
    EXPECT_EQ(m.names[m.cols - 2], "base_score");
    EXPECT_EQ(m.names[m.cols - 1], "base_rank");
    const FeatureMatrix plain = fb.compute(pairs, ctx);
    for (size_t r = 0; r < pairs.size(); ++r) {
        for (size_t c = 0; c < plain.cols; ++c) {
            const float x = m.at(r, c), y = plain.at(r, c);
            EXPECT_TRUE(x == y || (std::isnan(x) && std::isnan(y)));
        }
        EXPECT_TRUE(m.at(r, m.cols - 2) == score[r] || std::isnan(score[r]));
        EXPECT_EQ(m.at(r, m.cols - 1), rank[r]);
    }
    EXPECT_TRUE(std::isnan(m.at(2, m.cols - 2)));
    // Appending afterwards gives the same matrix.
    FeatureMatrix later = fb.compute(pairs, ctx);
    later.append_columns(extra, ctx);
    EXPECT_TRUE(same_bits(m, later));

    const std::vector<float> short_col = {1, 2};
    EXPECT_NE(std::string(expect_error([&] {
                              const std::vector<ExtraColumn> x = {{"s", short_col}};
                              fb.compute(pairs, x, ctx);
                          }).what())
                  .find("has 2 values for 3 candidate pairs"),
              std::string::npos);
    expect_error([&] {
        const std::vector<ExtraColumn> x = {{"item_trend", score}};
        fb.compute(pairs, x, ctx);
    });
    expect_error([&] {
        const std::vector<ExtraColumn> x = {{"", score}};
        later.append_columns(x, ctx);
    });
    expect_error([&] {
        const std::vector<ExtraColumn> x = {{"base_rank", score}};
        later.append_columns(x, ctx);
    });
}

TEST(PurchaseFeatures, BadInput) {
    const Context ctx;
    const Data d = make_data(5);
    auto build = [&](std::vector<Purchase> p, ItemAttributes a = {}, Options o = {}) {
        FeatureBuilder(p, d.n_users, d.n_items, d.now, a, o, ctx);
    };
    auto message = [](const recsys::Error& e) { return std::string(e.what()); };
    EXPECT_EQ(message(expect_error([&] { build({{0, 0, 0, 1, 1}, {14, 0, 0, 1, 1}}); })),
              "purchase 2: user index 14 is not below n_users 14");
    EXPECT_EQ(message(expect_error([&] { build({{0, 16, 0, 1, 1}}); })), "purchase 1: item index 16 is not below n_items 16");
    const recsys::Error q = expect_error([&] { build({{0, 0, 0, 0, 1}}); });
    EXPECT_EQ(message(q), "purchase 1: quantity must be finite and positive");
    EXPECT_NE(q.hint().find("returns"), std::string::npos);
    expect_error([&] { build({{0, 0, 0, NaN, 1}}); });
    expect_error([&] { build({{0, 0, 0, -2, 1}}); });
    expect_error([&] { build({{0, 0, 0, 1, -1}}); });
    expect_error([&] { build({{0, 0, 0, 1, INFINITY}}); });
    // Bad rows after the cutoff are errors too: the same input is used for serving.
    expect_error([&] { build({{0, 0, d.now + 1, 1, -1}}); });

    ItemAttributes a;
    a.n_categories = 2;
    a.category.assign(d.n_items - 1, 0);
    EXPECT_NE(message(expect_error([&] { build({}, a); })).find("15 entries for 16 items"), std::string::npos);
    a.category.assign(d.n_items, 0);
    a.category[3] = 2;
    EXPECT_EQ(message(expect_error([&] { build({}, a); })), "item 3: category index 2 is not below n_categories 2");
    a.category[3] = kNoCategory;
    build({}, a);  // fine
    a.list_price.assign(3, 1.0);
    expect_error([&] { build({}, a); });
    a.list_price.assign(d.n_items, -1.0);
    expect_error([&] { build({}, a); });

    Options o;
    o.recent_days = 0;
    expect_error([&] { build({}, {}, o); });
    o = {};
    a.list_price.clear();
    o.fixed_categories = {1, 2};
    EXPECT_EQ(message(expect_error([&] { build({}, a, o); })), "fixed category 2 is not below n_categories 2");
    o.fixed_categories = {1, 1};
    EXPECT_EQ(message(expect_error([&] { build({}, a, o); })), "fixed category 1 is given twice");
    o = {};
    o.trend_base_days = NaN;
    expect_error([&] { build({}, {}, o); });

    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
    EXPECT_NE(message(expect_error([&] { fb.compute(std::vector<UserItem>{{0, 0}, {0, 16}}, ctx); }))
                  .find("candidate pair 2 (user 0, item 16) is out of range"),
              std::string::npos);

    Context small;
    small.memory_limit_bytes = 1000;
    expect_error([&] { fb.compute(all_pairs(d.n_users, d.n_items), small); }, ErrorKind::ResourceLimit);
}

TEST(PurchaseFeatures, Cancel) {
    const Data d = make_data(6);
    Context ctx;
    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
    ctx.check_cancel = [] { throw recsys::Cancelled(); };
    EXPECT_THROW(fb.compute(all_pairs(d.n_users, d.n_items), ctx), recsys::Cancelled);
    EXPECT_THROW(FeatureBuilder(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx), recsys::Cancelled);
    EXPECT_THROW(time_split(d.purchases, d.now, kDay, ctx), recsys::Cancelled);
}

// ---------------------------------------------------------------- time split

TEST(TimeSplit, MatchesNaiveFilter) {
    const Context ctx;
    for (uint64_t seed = 31; seed <= 36; ++seed) {
        const Data d = make_data(seed);
        const int64_t cutoff = kBase + int64_t(seed - 30) * 30 * kDay, window = 25 * kDay;
        const TimeSplit s = time_split(d.purchases, cutoff, window, ctx);
        std::vector<Purchase> history;
        std::set<UserItem> labels;
        for (const Purchase& p : d.purchases) {
            if (p.ts < cutoff) history.push_back(p);
            if (p.ts >= cutoff && p.ts < cutoff + window) labels.insert({p.user, p.item});
        }
        ASSERT_EQ(s.history.size(), history.size());
        for (size_t k = 0; k < history.size(); ++k) {
            EXPECT_EQ(s.history[k].user, history[k].user);
            EXPECT_EQ(s.history[k].ts, history[k].ts);
        }
        EXPECT_EQ(s.labels, std::vector<UserItem>(labels.begin(), labels.end()));
    }
}

TEST(TimeSplit, Boundaries) {
    const Context ctx;
    const std::vector<Purchase> p = {{0, 0, 100}, {0, 1, 200}, {1, 2, 299}, {1, 3, 300}, {2, 0, 200}, {2, 0, 250}};
    const TimeSplit s = time_split(p, 200, 100, ctx);
    ASSERT_EQ(s.history.size(), 1u);
    EXPECT_EQ(s.history[0].ts, 100);
    // ts == cutoff is a label, ts == cutoff + window is not; (2, 0) once.
    EXPECT_EQ(s.labels, (std::vector<UserItem>{{0, 1}, {1, 2}, {2, 0}}));

    const recsys::Error no_hist = expect_error([&] { time_split(p, 100, 100, ctx); });
    EXPECT_EQ(std::string(no_hist.what()), "no purchase is before the cutoff 100, so there is no history");
    EXPECT_EQ(no_hist.hint(), "Choose a later cutoff: the earliest purchase is at 100.");
    const recsys::Error no_labels = expect_error([&] { time_split(p, 301, 100, ctx); });
    EXPECT_EQ(std::string(no_labels.what()), "no purchase is in the label window [301, cutoff + 100 s), so there are no labels");
    EXPECT_EQ(no_labels.hint(), "Choose an earlier cutoff or a longer window: the latest purchase is at 300.");
    expect_error([&] { time_split(p, 200, 0, ctx); });
    expect_error([&] { time_split({}, 200, 10, ctx); });
}

TEST(TimeSplit, DefaultTimes) {
    const Context ctx;
    std::vector<Purchase> p = {{0, 0, kBase}, {0, 1, kBase + 40 * kDay}, {1, 1, kBase + 100 * kDay}};
    const SplitTimes t = default_split_times(p);
    EXPECT_EQ(t.window, 28 * kDay);
    EXPECT_EQ(t.cutoff, kBase + 100 * kDay + 1 - 28 * kDay);
    // The latest purchase is a label; the window is exactly the last 28 days.
    const TimeSplit s = time_split(p, t.cutoff, t.window, ctx);
    EXPECT_EQ(s.labels, (std::vector<UserItem>{{1, 1}}));
    EXPECT_EQ(s.history.size(), 2u);
    EXPECT_EQ(default_split_times(p, 61 * kDay).cutoff, kBase + 39 * kDay + 1);

    const recsys::Error too_short = expect_error([&] { default_split_times(p, 100 * kDay + 1); });
    EXPECT_EQ(std::string(too_short.what()),
              "the purchases span 100 days, no more than the label window of 100 days, so nothing is left for history");
    EXPECT_EQ(too_short.hint(), "Use a shorter label window, or more data.");
    default_split_times(p, 100 * kDay);  // the first purchase alone is history
    expect_error([&] { default_split_times({}); });
    expect_error([&] { default_split_times(p, 0); });
}

// ---------------------------------------------------------------- candidates

TEST(Candidates, RebuyMatchesNaiveOrder) {
    const Context ctx;
    for (uint64_t seed = 41; seed <= 45; ++seed) {
        const Data d = make_data(seed);
        const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
        for (size_t max_per_user : {size_t(0), size_t(2)}) {
            const auto got = rebuy_candidates(fb, max_per_user, ctx);
            ASSERT_EQ(got.size(), d.n_users);
            for (uint32_t u = 0; u < d.n_users; ++u) {
                // (-distinct days, -last ts, item) per bought item.
                std::vector<std::tuple<int64_t, int64_t, uint32_t>> keys;
                for (uint32_t i = 0; i < d.n_items; ++i) {
                    std::set<double> days;
                    int64_t last = 0;
                    for (const Purchase& p : d.purchases)
                        if (p.user == u && p.item == i && p.ts < d.now) {
                            days.insert(ref_day(p.ts));
                            last = std::max(last, p.ts);
                        }
                    if (!days.empty()) keys.push_back({-int64_t(days.size()), -last, i});
                }
                std::sort(keys.begin(), keys.end());
                if (max_per_user && keys.size() > max_per_user) keys.resize(max_per_user);
                std::vector<uint32_t> expected;
                for (const auto& k : keys) expected.push_back(std::get<2>(k));
                EXPECT_EQ(got[u], expected) << "seed " << seed << " user " << u;
            }
        }
    }
}

TEST(Candidates, UnionAndRecallMatchNaive) {
    const Context ctx;
    for (uint64_t seed = 51; seed <= 56; ++seed) {
        SplitMix64 g(seed);
        const Data d = make_data(seed);
        const uint32_t n_items = d.n_items;
        // Three lists of different lengths (the last covers fewer users), with repeats.
        std::vector<std::vector<std::vector<uint32_t>>> lists(3);
        for (size_t l = 0; l < 3; ++l) {
            lists[l].resize(l == 2 ? d.n_users - 4 : d.n_users);
            for (auto& items : lists[l]) {
                const uint32_t n = g.below(8);
                for (uint32_t k = 0; k < n; ++k) items.push_back(g.below(n_items));
            }
        }
        for (size_t top_n : {size_t(0), size_t(3)}) {
            const auto got = union_candidates(lists, top_n, n_items, ctx);
            std::vector<UserItem> expected;
            for (uint32_t u = 0; u < d.n_users; ++u)
                for (const auto& l : lists) {
                    if (u >= l.size()) continue;
                    for (size_t k = 0; k < l[u].size() && (top_n == 0 || k < top_n); ++k) {
                        const UserItem p{u, l[u][k]};
                        if (std::find(expected.begin(), expected.end(), p) == expected.end()) expected.push_back(p);
                    }
                }
            EXPECT_EQ(got, expected);

            // Recall of the union on labels after now.
            const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
            std::vector<UserItem> labels;
            for (int k = 0; k < 30; ++k) labels.push_back({g.below(d.n_users), g.below(n_items)});  // repeats too
            const CandidateRecall r = candidate_recall(got, labels, fb, ctx);
            std::set<UserItem> distinct(labels.begin(), labels.end());
            uint64_t found = 0, fresh = 0, fresh_found = 0;
            for (const UserItem& p : distinct) {
                const bool in = std::find(got.begin(), got.end(), p) != got.end();
                bool before = false;
                for (const Purchase& q : d.purchases) before |= q.user == p.user && q.item == p.item && q.ts < d.now;
                found += in;
                fresh += !before;
                fresh_found += in && !before;
            }
            EXPECT_EQ(r.labels, distinct.size());
            EXPECT_EQ(r.found, found);
            EXPECT_EQ(r.new_labels, fresh);
            EXPECT_EQ(r.new_found, fresh_found);
            EXPECT_DOUBLE_EQ(r.recall(), double(found) / double(distinct.size()));

            const std::vector<float> y = candidate_targets(got, labels, ctx);
            ASSERT_EQ(y.size(), got.size());
            size_t ones = 0;
            for (size_t k = 0; k < got.size(); ++k) {
                const bool in = std::find(labels.begin(), labels.end(), got[k]) != labels.end();
                EXPECT_EQ(y[k], in ? 1.0f : 0.0f);
                ones += in;
            }
            EXPECT_EQ(ones, found);  // candidates are distinct
        }
    }
    const Context ctx2;
    const std::vector<std::vector<std::vector<uint32_t>>> bad = {{{1, 2}, {9}}};
    EXPECT_EQ(std::string(expect_error([&] { union_candidates(bad, 0, 9, ctx2); }).what()),
              "candidate list 1, user 1: item index 9 is not below n_items 9");
    EXPECT_TRUE(std::isnan(CandidateRecall{}.recall()));
}

TEST(Candidates, RecentBestSellersMatchNaive) {
    const Context ctx;
    for (uint64_t seed = 71; seed <= 76; ++seed) {
        const Data d = make_data(seed);
        for (double days : {1.0, 30.0, 90.5, 1000.0}) {
            const auto got = recent_best_sellers(d.purchases, d.n_items, d.now, days, ctx);
            const int64_t from = d.now - int64_t(std::llround(days * double(kDay)));
            EXPECT_EQ(got, naive_best_sellers(d.purchases, d.n_items, from, d.now))
                << "seed " << seed << " days " << days;
        }
    }
    // Window edges: ts == now - days counts, ts == now does not.
    const std::vector<Purchase> p = {{0, 0, 100 * kDay}, {1, 1, 110 * kDay - 1}, {0, 2, 110 * kDay}, {1, 1, 99 * kDay}};
    EXPECT_EQ(recent_best_sellers(p, 3, 110 * kDay, 10, ctx), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(std::string(expect_error([&] { recent_best_sellers(p, 3, 110 * kDay, 0, ctx); }).what()),
              "the recent best sellers' window must be positive");
}

TEST(Candidates, RebuyRecallIsOneOnRepeatsAndZeroOnNew) {
    // Labels that are all re-buys are all found among re-buy candidates; new ones never.
    const Context ctx;
    const Data d = make_data(61);
    const FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, d.attributes, {}, ctx);
    const auto rebuy = rebuy_candidates(fb, 0, ctx);
    const std::vector<std::vector<std::vector<uint32_t>>> lists = {rebuy};
    const auto cand = union_candidates(lists, 0, d.n_items, ctx);
    std::vector<UserItem> labels = all_pairs(d.n_users, d.n_items);
    const CandidateRecall r = candidate_recall(cand, labels, fb, ctx);
    EXPECT_EQ(r.labels, labels.size());
    EXPECT_EQ(r.found, r.labels - r.new_labels);
    EXPECT_EQ(r.new_found, 0u);
    EXPECT_GT(r.found, 0u);
}
