// Purchase timing (timing.h): every customer feature against naive loops
// over all purchases, the censored targets, the metrics against brute force,
// the learners' regression and survival tasks (a survival model recovers the
// mean of exponential return times despite censoring), and the model: round
// trip, fallback, explanations, bad parameters.
#include "timing.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "expect_error.h"
#include "rng.h"

using namespace recsys;
using features::Purchase;

namespace {

const double NaN = std::nan("");
constexpr int64_t kDay = 86400;
constexpr int64_t kBase = 1'600'000'000;

struct Data {
    uint32_t n_users = 0, n_items = 0;
    std::vector<Purchase> purchases;
    int64_t now = 0;
};

// Users 0..11 random over 500 days (some purchases after now, several per
// day, unknown prices); 12 one purchase; 13 none before now.
Data make_data(uint64_t seed) {
    SplitMix64 g(seed);
    Data d;
    d.n_users = 14;
    d.n_items = 9;
    d.now = kBase + 420 * kDay + 5 * 3600;
    for (uint32_t u = 0; u < 12; ++u) {
        const uint32_t baskets = 1 + g.below(14);
        for (uint32_t b = 0; b < baskets; ++b) {
            const int64_t ts = kBase + int64_t(g.below(500)) * kDay + int64_t(g.below(24)) * 3600 + g.below(60);
            const uint32_t rows = 1 + g.below(3);
            for (uint32_t r = 0; r < rows; ++r)
                d.purchases.push_back({u, uint32_t(g.below(d.n_items)), ts, double(1 + g.below(5)),
                                       g.below(6) == 0 ? NaN : 0.5 + g.below(20) / 4.0});
        }
    }
    d.purchases.push_back({12, 0, d.now - 3 * kDay, 1, 2});
    d.purchases.push_back({13, 1, d.now + 3 * kDay, 1, 2});
    return d;
}

double col(const timing::CustomerFeatures& f, uint32_t u, const std::string& name) {
    const auto it = std::find(f.x.names.begin(), f.x.names.end(), name);
    EXPECT_NE(it, f.x.names.end()) << name;
    return f.x.at(u, size_t(it - f.x.names.begin()));
}

void expect_near_or_nan(double got, double want, const std::string& what) {
    if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << what << ": " << got;
    } else {
        EXPECT_NEAR(got, want, 1e-4 * std::max(1.0, std::abs(want))) << what;
    }
}

int64_t day_of(int64_t ts) { return ts >= 0 ? ts / kDay : (ts - kDay + 1) / kDay; }

}  // namespace

TEST(Timing, FeaturesMatchNaiveLoops) {
    for (uint64_t seed : {1, 2, 3}) {
        const Data d = make_data(seed);
        const double H = 30;
        Context ctx;
        const auto f = timing::customer_features(d.purchases, d.n_users, d.n_items, d.now, H, {}, {}, ctx);
        const features::FeatureBuilder fb(d.purchases, d.n_users, d.n_items, d.now, {}, {}, ctx);
        ASSERT_EQ(f.x.rows, d.n_users);
        for (uint32_t u = 0; u < d.n_users; ++u) {
            SCOPED_TRACE("seed " + std::to_string(seed) + " user " + std::to_string(u));
            // The FeatureBuilder's user columns come first, unchanged.
            for (size_t j = 0; j < fb.n_user_features(); ++j)
                expect_near_or_nan(f.x.at(u, j), fb.user_features(u)[j], fb.names()[j]);
            std::set<int64_t> days, baskets;
            std::map<uint32_t, std::set<int64_t>> item_days;
            std::map<uint32_t, std::pair<int64_t, int64_t>> item_span;
            double spend_total = 0;
            bool priced = false;
            int64_t last = 0;
            for (const Purchase& p : d.purchases) {
                if (p.user != u || p.ts >= d.now) continue;
                days.insert(day_of(p.ts));
                baskets.insert(p.ts);
                item_days[p.item].insert(day_of(p.ts));
                auto [it, added] = item_span.try_emplace(p.item, p.ts, p.ts);
                it->second.first = std::min(it->second.first, p.ts);
                it->second.second = std::max(it->second.second, p.ts);
                if (!std::isnan(p.price)) {
                    spend_total += p.quantity * p.price;
                    priced = true;
                }
                last = std::max(last, p.ts);
            }
            EXPECT_EQ(f.purchase_days[u], days.size());
            EXPECT_EQ(col(f, u, "purchase_days"), double(days.size()));
            for (int w : timing::kWindowDays) {
                std::set<int64_t> wd;
                double spend = 0;
                for (const Purchase& p : d.purchases)
                    if (p.user == u && p.ts < d.now && p.ts >= d.now - int64_t(w) * kDay) {
                        wd.insert(day_of(p.ts));
                        if (!std::isnan(p.price)) spend += p.quantity * p.price;
                    }
                expect_near_or_nan(col(f, u, "days_" + std::to_string(w)), double(wd.size()), "days_w");
                expect_near_or_nan(col(f, u, "spend_" + std::to_string(w)), priced ? spend : NaN, "spend_w");
            }
            expect_near_or_nan(col(f, u, "spend_total"), priced ? spend_total : NaN, "spend_total");
            expect_near_or_nan(col(f, u, "spend_per_day"), priced ? spend_total / double(days.size()) : NaN,
                               "spend_per_day");
            std::vector<double> gaps;
            for (auto it = days.begin(); it != days.end() && std::next(it) != days.end(); ++it)
                gaps.push_back(double(*std::next(it) - *it));
            const double since = days.empty() ? NaN : double(d.now - last) / kDay;
            double mean = NaN, median = NaN, sd = NaN, mn = NaN, lastgap = NaN, trend = NaN, within = NaN;
            if (!gaps.empty()) {
                mean = 0;
                for (double g : gaps) mean += g / double(gaps.size());
                std::vector<double> s = gaps;
                std::sort(s.begin(), s.end());
                median = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
                sd = 0;
                within = 0;
                for (double g : gaps) {
                    sd += (g - mean) * (g - mean) / double(gaps.size());
                    within += (g <= H) / double(gaps.size());
                }
                sd = std::sqrt(sd);
                mn = s.front();
                lastgap = gaps.back();
                if (gaps.size() >= 2) {  // slope by the normal equations of y = a + b k
                    double n = double(gaps.size()), sk = 0, sy = 0, skk = 0, sky = 0;
                    for (size_t k = 0; k < gaps.size(); ++k) {
                        sk += double(k);
                        sy += gaps[k];
                        skk += double(k * k);
                        sky += double(k) * gaps[k];
                    }
                    trend = (n * sky - sk * sy) / (n * skk - sk * sk);
                }
            }
            expect_near_or_nan(col(f, u, "gap_mean"), mean, "gap_mean");
            expect_near_or_nan(col(f, u, "gap_median"), median, "gap_median");
            expect_near_or_nan(col(f, u, "gap_std"), sd, "gap_std");
            expect_near_or_nan(col(f, u, "gap_min"), mn, "gap_min");
            expect_near_or_nan(col(f, u, "gap_last"), lastgap, "gap_last");
            expect_near_or_nan(col(f, u, "gap_trend"), trend, "gap_trend");
            expect_near_or_nan(col(f, u, "gap_within_h"), within, "gap_within_h");
            expect_near_or_nan(col(f, u, "due_ratio"), mean > 0 ? since / mean : NaN, "due_ratio");
            expect_near_or_nan(col(f, u, "overdue_days"), since - mean, "overdue_days");
            if (days.empty()) {
                EXPECT_TRUE(std::isnan(col(f, u, "day_rate_30")));
                EXPECT_TRUE(std::isnan(col(f, u, "hour_mean")));
            } else {
                int64_t first = *baskets.begin();
                const double tenure = double(d.now - first) / kDay;
                expect_near_or_nan(col(f, u, "day_rate_30"), double(days.size()) * 30 / std::max(tenure, 30.0),
                                   "day_rate_30");
                double hours = 0;
                for (int64_t ts : baskets) hours += double(ts % kDay) / 3600 / double(baskets.size());
                expect_near_or_nan(col(f, u, "hour_mean"), hours, "hour_mean");
                std::map<int, int> dow;
                int weekend = 0;
                for (int64_t day : days) {
                    // 1970-01-01 was a Thursday (Monday = 0 .. Sunday = 6).
                    const int w = int((day + 3) % 7);
                    ++dow[w];
                    weekend += w >= 5;
                }
                int top = 0;
                for (auto [w, n] : dow) top = std::max(top, n);
                expect_near_or_nan(col(f, u, "dow_top_share"), double(top) / double(days.size()), "dow_top_share");
                expect_near_or_nan(col(f, u, "weekend_share"), double(weekend) / double(days.size()), "weekend_share");
            }
            std::set<int64_t> ly;
            for (const Purchase& p : d.purchases)
                if (p.user == u && p.ts >= d.now - 365 * kDay && double(p.ts) < double(d.now - 365 * kDay) + H * kDay)
                    ly.insert(day_of(p.ts));
            EXPECT_EQ(col(f, u, "last_year_days"), double(ly.size()));
            double repeat = 0, due = 0, due_min = NaN;
            for (const auto& [item, ds] : item_days) {
                if (ds.size() < 2) continue;
                ++repeat;
                const auto [a, b] = item_span[item];
                const double next = (double(b) + double(b - a) / double(ds.size() - 1) - double(d.now)) / kDay;
                due += next < H;
                due_min = std::isnan(due_min) ? next : std::min(due_min, next);
            }
            EXPECT_EQ(col(f, u, "repeat_items"), repeat);
            EXPECT_EQ(col(f, u, "items_due"), due);
            expect_near_or_nan(col(f, u, "item_due_min_days"), due_min, "item_due_min_days");
            double due_soon = 0, ratio_sum = 0, ratio_max = NaN;
            for (const auto& [item, ds] : item_days) {
                if (ds.size() < 2) continue;
                const auto [a, b] = item_span[item];
                const double interval = double(b - a) / double(ds.size() - 1);
                const double next = (double(b) + interval - double(d.now)) / kDay;
                due_soon += next >= 0 && next < H;
                const double ratio = double(d.now - b) / interval;
                ratio_sum += ratio;
                ratio_max = std::isnan(ratio_max) ? ratio : std::max(ratio_max, ratio);
            }
            EXPECT_EQ(col(f, u, "items_due_soon"), due_soon);
            expect_near_or_nan(col(f, u, "item_due_ratio_mean"), repeat > 0 ? ratio_sum / repeat : NaN,
                               "item_due_ratio_mean");
            expect_near_or_nan(col(f, u, "item_due_ratio_max"), ratio_max, "item_due_ratio_max");
            double longer = 0, ending = 0;
            for (double g : gaps)
                if (g > since) {
                    ++longer;
                    ending += g <= since + H;
                }
            expect_near_or_nan(col(f, u, "gap_hazard_h"), longer > 0 ? ending / longer : NaN, "gap_hazard_h");
            std::set<int64_t> ly90;
            double quantity = 0, rows = 0;
            for (const Purchase& p : d.purchases) {
                if (p.user != u || p.ts >= d.now) continue;
                if (p.ts >= d.now - 365 * kDay && p.ts < d.now - 275 * kDay) ly90.insert(day_of(p.ts));
                quantity += p.quantity;
                ++rows;
            }
            EXPECT_EQ(col(f, u, "last_year_days_90"), double(ly90.size()));
            expect_near_or_nan(col(f, u, "days_to_christmas"), timing::days_to_christmas(d.now), "days_to_christmas");
            expect_near_or_nan(col(f, u, "quantity_mean"), rows > 0 ? quantity / rows : NaN, "quantity_mean");
            expect_near_or_nan(col(f, u, "basket_spend_mean"),
                               priced ? spend_total / double(baskets.size()) : NaN, "basket_spend_mean");
        }
    }
}

// Walks day by day to the next 25 December (1970-01-01 + days, by the civil calendar of gmtime).
TEST(Timing, DaysToChristmasMatchesACalendarWalk) {
    SplitMix64 g(9);
    for (int k = 0; k < 200; ++k) {
        const int64_t now = int64_t(g.below(2'000'000'000)) + (k % 2 ? 0 : -int64_t(g.below(86400)));
        int64_t day = day_of(now);
        for (;; ++day) {
            const time_t t = time_t(day * kDay);
            std::tm tm{};
            gmtime_r(&t, &tm);
            if (tm.tm_mon == 11 && tm.tm_mday == 25 && day * kDay >= now) break;
        }
        EXPECT_NEAR(timing::days_to_christmas(now), double(day * kDay - now) / kDay, 1e-9) << now;
    }
    EXPECT_EQ(timing::days_to_christmas(1320796800), 46);                // 2011-11-09
    EXPECT_EQ(timing::days_to_christmas(1324771200), 0);                 // 2011-12-25
    EXPECT_NEAR(timing::days_to_christmas(1324771201), 366 - 1.0 / kDay, 1e-9);  // to 2012-12-25, a leap year
}

TEST(Timing, FeaturesIgnorePurchasesAfterNow) {
    Data d = make_data(4);
    Context ctx;
    const auto a = timing::customer_features(d.purchases, d.n_users, d.n_items, d.now, 30, {}, {}, ctx);
    d.purchases.push_back({0, 0, d.now, 5, 5});
    d.purchases.push_back({1, 1, d.now + 10 * kDay, 5, 5});
    const auto b = timing::customer_features(d.purchases, d.n_users, d.n_items, d.now, 30, {}, {}, ctx);
    ASSERT_EQ(a.x.values.size(), b.x.values.size());
    for (size_t k = 0; k < a.x.values.size(); ++k)
        EXPECT_TRUE(a.x.values[k] == b.x.values[k] || (std::isnan(a.x.values[k]) && std::isnan(b.x.values[k])));
}

TEST(Timing, TargetsAreCensoredAtTheEnd) {
    const std::vector<Purchase> p = {{0, 0, 100 * kDay}, {0, 0, 103 * kDay + 3600}, {0, 0, 101 * kDay},
                                     {1, 0, 50 * kDay},  {2, 0, 130 * kDay},        {2, 0, 90 * kDay}};
    Context ctx;
    const auto t = timing::targets(p, 3, 100 * kDay + 7200, 120 * kDay, ctx);
    EXPECT_TRUE(t[0].observed);
    EXPECT_NEAR(t[0].days, 1 - 2.0 / 24, 1e-12);  // the day-101 purchase, the first after the cutoff
    EXPECT_FALSE(t[1].observed);
    EXPECT_NEAR(t[1].days, 20 - 2.0 / 24, 1e-12);
    EXPECT_FALSE(t[2].observed);  // day 130 is after the end
}

TEST(Timing, MetricsMatchBruteForce) {
    SplitMix64 g(7);
    std::vector<timing::Target> truth;
    std::vector<double> pred, p;
    for (int i = 0; i < 60; ++i) {
        truth.push_back({double(1 + g.below(40)), g.below(4) != 0});
        pred.push_back(double(g.below(30)));  // ties on purpose
        p.push_back(double(g.below(10)) / 10);
    }
    Context ctx;
    const auto m = timing::metrics(pred, p, truth, 20, ctx);
    double ae = 0, se = 0, n = 0, agree = 0, pairs = 0, pos_gt = 0, np = 0, nn = 0, brier = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
        const bool wi = truth[i].observed && truth[i].days < 20;
        brier += (p[i] - wi) * (p[i] - wi) / double(truth.size());
        if (truth[i].observed) {
            ae += std::abs(pred[i] - truth[i].days);
            se += (pred[i] - truth[i].days) * (pred[i] - truth[i].days);
            ++n;
        }
        for (size_t j = 0; j < truth.size(); ++j) {
            if (truth[i].observed && truth[i].days < truth[j].days) {
                ++pairs;
                agree += pred[i] < pred[j] ? 1 : pred[i] == pred[j] ? 0.5 : 0;
            }
            const bool wj = truth[j].observed && truth[j].days < 20;
            if (wi && !wj) pos_gt += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
        }
        np += wi;
        nn += !wi;
    }
    EXPECT_NEAR(m.mae, ae / n, 1e-12);
    EXPECT_NEAR(m.rmse, std::sqrt(se / n), 1e-12);
    EXPECT_NEAR(m.concordance, agree / pairs, 1e-12);
    EXPECT_NEAR(m.auc, pos_gt / (np * nn), 1e-12);
    EXPECT_NEAR(m.brier, brier, 1e-12);
    EXPECT_EQ(m.observed, uint64_t(n));
}

TEST(Timing, LinearRegressionIsLeastSquares) {
    SplitMix64 g(11);
    const uint32_t n = 300, d = 3;
    std::vector<float> x(n * d), y(n);
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t j = 0; j < d; ++j) x[i * d + j] = float(g.uniform() * 4 - 2);
        y[i] = float(1.5 + 2 * x[i * d] - 0.5 * x[i * d + 2] + 0.1 * (g.uniform() - 0.5));
    }
    learn::TrainingSet t{x.data(), n, d, y.data(), {}, learn::Task::Regression};
    Context ctx;
    auto m = learn::fit_learner("linear", t, nullptr, Params::parse_json(R"({"l2": 0})"), ctx);
    // Brute force: the normal equations in raw features.
    Eigen::MatrixXd A(n, d + 1);
    Eigen::VectorXd b(n);
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t j = 0; j < d; ++j) A(i, j) = x[i * d + j];
        A(i, d) = 1;
        b[i] = y[i];
    }
    const Eigen::VectorXd beta = (A.transpose() * A).ldlt().solve(A.transpose() * b);
    for (uint32_t i = 0; i < 20; ++i)
        EXPECT_NEAR(m->predict_one(&x[i * d]), (A.row(i) * beta)(0), 1e-4);
    std::vector<double> parts;
    ASSERT_TRUE(m->contributions(&x[0], parts));
    double sum = 0;
    for (double v : parts) sum += v;
    EXPECT_NEAR(sum, m->predict_one(&x[0]), 1e-4);
    // Wrong task or kind: clear errors.
    const Error e = expect_error([&] { learn::fit_learner("logistic", t, nullptr, Params(), ctx); });
    EXPECT_NE(std::string(e.what()).find("does not do regression"), std::string::npos) << e.what();
    learn::TrainingSet tb = t;
    tb.task = learn::Task::Binary;
    expect_error([&] { learn::fit_learner("linear", tb, nullptr, Params(), ctx); });
}

TEST(Timing, TreeRegressionLearnsTheSignal) {
    SplitMix64 g(12);
    const uint32_t n = 2000, d = 2;
    std::vector<float> x(n * d), y(n);
    for (uint32_t i = 0; i < n; ++i) {
        x[i * d] = float(g.uniform());
        x[i * d + 1] = float(g.uniform());
        y[i] = float(x[i * d] > 0.5 ? 3 : 1) + float(0.2 * (g.uniform() - 0.5));
    }
    learn::TrainingSet t{x.data(), n, d, y.data(), {}, learn::Task::Regression};
    Context ctx;
    for (const char* kind : {"tree", "forest", "boosted"}) {
        auto m = learn::fit_learner(kind, t, nullptr, Params(), ctx);
        const float lo[2] = {0.2f, 0.5f}, hi[2] = {0.8f, 0.5f};
        EXPECT_NEAR(m->predict_one(lo), 1, 0.2) << kind;
        EXPECT_NEAR(m->predict_one(hi), 3, 0.2) << kind;
    }
}

// Exponential return times with mean 20 days, followed for 25 days: about
// 29% are censored. The survival model recovers the mean; the mean of the
// observed times alone is far below it.
TEST(Timing, SurvivalModelRecoversTheMeanDespiteCensoring) {
    SplitMix64 g(21);
    const uint32_t n = 6000;
    const double mean = 20, follow = 25;
    std::vector<float> x(n), lo(n), hi(n);
    double observed_sum = 0, observed = 0;
    for (uint32_t i = 0; i < n; ++i) {
        x[i] = float(g.uniform());  // noise
        const double t = -mean * std::log(1 - g.uniform());
        if (t < follow) {
            lo[i] = hi[i] = float(std::max(t, 1.0 / 24));
            observed_sum += t;
            ++observed;
        } else {
            lo[i] = float(follow);
            hi[i] = std::numeric_limits<float>::infinity();
        }
    }
    EXPECT_LT(observed_sum / observed, 0.6 * mean);  // ignoring censoring is badly biased
    learn::TrainingSet t{x.data(), n, 1, lo.data(), {}, learn::Task::SurvivalAft, hi.data()};
    Context ctx;
    auto m = learn::fit_learner("boosted", t, nullptr, Params::parse_json(R"({"rounds": 200, "max_depth": 1})"), ctx);
    double est = 0;
    // E[T] = ∫ P(T > t) dt, by the trapezoid rule on [0, 1000] (P(T > 1000) is negligible here).
    auto mean_time = [](double margin) {
        const int steps = 20000;
        const double h = 1000.0 / steps;
        double sum = 0;
        for (int k = 0; k <= steps; ++k)
            sum += (k == 0 || k == steps ? 0.5 : 1) * (1 - learn::aft_cdf(margin, "extreme", 1, k * h)) * h;
        return sum;
    };
    for (uint32_t i = 0; i < n; i += 10) est += mean_time(m->predict_one(&x[i])) / (n / 10);
    EXPECT_NEAR(est, mean, 0.1 * mean);
    // The median of a return within the follow-up (the timing model's "aft"
    // days): for Exp(mean) truncated at follow, -mean·log(1 - (1 - e^(-follow/mean)) / 2).
    const double truth = -mean * std::log(1 - (1 - std::exp(-follow / mean)) / 2);
    double within = 0;
    for (uint32_t i = 0; i < n; i += 10) {
        const double margin = m->predict_one(&x[i]);
        within += learn::aft_quantile(margin, "extreme", 1, learn::aft_cdf(margin, "extreme", 1, follow) / 2) / (n / 10);
    }
    EXPECT_NEAR(within, truth, 0.1 * truth);
    // Bad bounds are refused.
    hi[0] = lo[0] / 2;
    expect_error([&] { learn::fit_learner("boosted", t, nullptr, Params(), ctx); });
}

// aft_cdf against the closed forms (Weibull, log-logistic) and a numerical
// integral of the normal density; aft_quantile inverts it.
TEST(Timing, AftDistributionFunctions) {
    for (const char* dist : {"extreme", "normal", "logistic"})
        for (double margin : {-1.0, 0.5, 3.0})
            for (double scale : {0.3, 1.0, 2.0})
                for (double t : {0.01, 0.7, 5.0, 40.0}) {
                    const double z = (std::log(t) - margin) / scale;
                    double want;
                    if (std::string(dist) == "extreme") {
                        want = 1 - std::exp(-std::pow(t / std::exp(margin), 1 / scale));
                    } else if (std::string(dist) == "logistic") {
                        want = 1 / (1 + std::pow(t / std::exp(margin), -1 / scale));
                    } else {  // trapezoid on [-12, z]
                        const int steps = 200000;
                        const double lo = -12, h = (z - lo) / steps;
                        want = 0;
                        for (int k = 0; k <= steps; ++k) {
                            const double v = lo + k * h;
                            want += (k == 0 || k == steps ? 0.5 : 1) * std::exp(-v * v / 2) / std::sqrt(2 * M_PI) * h;
                        }
                        if (z < lo) want = 0;
                    }
                    const double got = learn::aft_cdf(margin, dist, scale, t);
                    EXPECT_NEAR(got, want, 1e-6) << dist << " " << margin << " " << scale << " " << t;
                    if (got > 1e-9 && got < 1 - 1e-9)
                        EXPECT_NEAR(learn::aft_quantile(margin, dist, scale, got), t, 1e-5 * t) << dist;
                }
    EXPECT_EQ(learn::aft_quantile(0, "normal", 1, 0), 0);
    EXPECT_TRUE(std::isinf(learn::aft_quantile(0, "normal", 1, 1)));
    EXPECT_EQ(learn::aft_cdf(0, "extreme", 1, 0), 0);
}

namespace {

// A shop where customer u returns every (5 + u % 20) days with some noise:
// users 0..199 over 300 days, then user 200 with one purchase.
std::vector<Purchase> regular_shop() {
    SplitMix64 g(5);
    std::vector<Purchase> p;
    for (uint32_t u = 0; u < 200; ++u) {
        const double every = 5 + u % 20;
        for (double t = double(g.below(10)); t < 300; t += every * (0.7 + 0.6 * g.uniform()))
            p.push_back({u, uint32_t(g.below(5)), kBase + int64_t(t * kDay), 1, 2.5});
    }
    p.push_back({200, 1, kBase + 100 * kDay, 1, 2});
    return p;
}

IdMap dense(uint32_t n) {
    IdMap m;
    for (uint32_t i = 0; i < n; ++i) m.intern(int64_t(i));
    return m;
}

}  // namespace

TEST(Timing, ModelRoundTripFallbackAndExplanations) {
    const auto p = regular_shop();
    Context ctx;
    timing::Report rep;
    Model m = timing::train_timing(p, dense(201), dense(5), {}, R"({"horizon_days": 10, "training_cutoffs": 3})", ctx,
                                   &rep);
    EXPECT_EQ(rep.cutoffs.size(), 3u);
    EXPECT_GT(rep.rows, 400u);
    const auto bytes = m.serialize();
    const Model back = Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.algorithm, "timing");
    const auto& a = dynamic_cast<const timing::TimingScorer&>(*m.scorer);
    const auto& b = dynamic_cast<const timing::TimingScorer&>(*back.scorer);
    const auto pa = a.predict_all(ctx), pb = b.predict_all(ctx);
    ASSERT_EQ(pa.size(), 201u);
    for (uint32_t u = 0; u < 201; ++u) {
        EXPECT_EQ(pa[u].expected_days, pb[u].expected_days);
        EXPECT_EQ(pa[u].p_within, b.predict(u).p_within);
    }
    EXPECT_TRUE(pa[200].one_purchase);
    EXPECT_FALSE(pa[0].one_purchase);
    // Frequent buyers (every 5 days) come back sooner than rare ones (every 24 days).
    EXPECT_LT(pa[0].expected_days, pa[19].expected_days);
    EXPECT_GT(pa[0].p_within, pa[19].p_within);
    for (const char* target : {"days", "within"}) {
        const auto terms = a.explain_features(0, target);
        double sum = 0;
        for (const auto& t : terms) sum += t.contribution;
        const double days = pa[0].expected_days, pw = pa[0].p_within;
        const double margin = std::string(target) == "days" ? std::log1p(days) : std::log(pw / (1 - pw));
        EXPECT_NEAR(sum, margin, 1e-3) << target;
    }
    expect_error([&] { a.explain_features(200, "days"); });
    EXPECT_THROW(a.score({}, 0u, {}), Error);

    // aft: the median of a return within the follow-up (the training rows' 10 days), kept across a round trip.
    Model aft = timing::train_timing(p, dense(201), dense(5), {}, R"({"horizon_days": 10, "time_learner": "aft"})", ctx);
    const auto aft_bytes = aft.serialize();
    const Model aft_back = Model::deserialize(aft_bytes.data(), aft_bytes.size());
    const auto qa = dynamic_cast<const timing::TimingScorer&>(*aft.scorer).predict_all(ctx);
    const auto qb = dynamic_cast<const timing::TimingScorer&>(*aft_back.scorer).predict_all(ctx);
    for (uint32_t u = 0; u < 200; ++u) {
        EXPECT_EQ(qa[u].expected_days, qb[u].expected_days);
        EXPECT_GT(qa[u].expected_days, 0);
        EXPECT_LT(qa[u].expected_days, 10);
    }
    EXPECT_LT(qa[0].expected_days, qa[19].expected_days);
}

TEST(Timing, BadParametersAndCutoffs) {
    const auto p = regular_shop();
    Context ctx;
    auto train = [&](const char* params) { timing::train_timing(p, dense(201), dense(5), {}, params, ctx); };
    Error e = expect_error([&] { train(R"({"horizon_days": 0})"); });
    EXPECT_STREQ(e.what(), "horizon_days must be positive, got 0");
    e = expect_error([&] { train(R"({"cutoff": "2000-01-01"})"); });
    EXPECT_NE(std::string(e.what()).find("is outside the data"), std::string::npos) << e.what();
    e = expect_error([&] { train(R"({"horizon_days": 100, "cutoff": 1625000000})"); });
    EXPECT_NE(std::string(e.what()).find("less than horizon_days"), std::string::npos) << e.what();
    expect_error([&] { train(R"({"time_learner": "logistic"})"); });
    expect_error([&] { train(R"({"within.no_such": 1})"); });
}
