#include "timing.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "errors.h"
#include "ranker.h"

namespace recsys::timing {

using features::floor_day;
using features::kSecondsPerDay;
using features::Purchase;
using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kFormat = 2;  // 2 adds the follow-up (format 1: the horizon)
constexpr double kMaxDays = 36500;
constexpr double kMinAftDays = 1.0 / 24;

double median_of(std::vector<double> v) {
    if (v.empty()) return kNaN;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Users' purchases before `now`, sorted by (user, ts): [start[u], start[u+1]).
struct ByUser {
    std::vector<Purchase> p;
    std::vector<uint64_t> start;
};

ByUser by_user(std::span<const Purchase> purchases, uint32_t n_users, int64_t now, const Context& ctx) {
    ByUser b;
    for (const Purchase& p : purchases)
        if (p.ts < now) b.p.push_back(p);
    ctx.cancel_point();
    std::sort(b.p.begin(), b.p.end(), [](const Purchase& a, const Purchase& c) {
        return a.user != c.user ? a.user < c.user : a.ts < c.ts;
    });
    ctx.cancel_point();
    b.start.assign(uint64_t(n_users) + 1, 0);
    for (const Purchase& p : b.p) ++b.start[p.user + 1];
    for (uint32_t u = 0; u < n_users; ++u) b.start[u + 1] += b.start[u];
    return b;
}

}  // namespace

double days_to_christmas(int64_t now) {
    const time_t t = time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    for (int year = tm.tm_year;; ++year) {
        std::tm c{};
        c.tm_year = year;
        c.tm_mon = 11;
        c.tm_mday = 25;
        const int64_t christmas = int64_t(timegm(&c));
        if (christmas >= now) return double(christmas - now) / kSecondsPerDay;
    }
}

// ------------------------------------------------------------- features

CustomerFeatures customer_features(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items,
                                   int64_t now, double horizon_days, const features::ItemAttributes& attributes,
                                   const features::Options& options, const Context& ctx) {
    const features::FeatureBuilder fb(purchases, n_users, n_items, now, attributes, options, ctx);
    const ByUser h = by_user(purchases, n_users, now, ctx);

    CustomerFeatures out;
    out.top_categories = fb.top_categories();
    std::vector<std::string> names(fb.names().begin(), fb.names().begin() + int64_t(fb.n_user_features()));
    const size_t base = names.size();
    names.push_back("purchase_days");
    for (int w : kWindowDays) names.push_back("days_" + std::to_string(w));
    for (int w : kWindowDays) names.push_back("spend_" + std::to_string(w));
    for (const char* n : {"spend_total", "spend_per_day", "gap_mean", "gap_median", "gap_std", "gap_min", "gap_last",
                          "gap_trend", "gap_within_h", "due_ratio", "overdue_days", "day_rate_30", "hour_mean",
                          "dow_top_share", "weekend_share", "last_year_days", "repeat_items", "items_due",
                          "item_due_min_days", "items_due_soon", "item_due_ratio_mean", "item_due_ratio_max",
                          "gap_hazard_h", "last_year_days_90", "days_to_christmas", "quantity_mean",
                          "basket_spend_mean"})
        names.push_back(n);
    const size_t d = names.size();
    ctx.reserve(uint64_t(n_users) * d * sizeof(float), "customer features", "Train on fewer customers.");
    features::FeatureMatrix& x = out.x;
    x.rows = n_users;
    x.cols = d;
    x.names = std::move(names);
    x.values.assign(uint64_t(n_users) * d, float(kNaN));
    out.purchase_days.assign(n_users, 0);

    const double H = horizon_days;
    const double christmas_days = days_to_christmas(now);
    std::vector<int64_t> days, baskets;
    std::vector<double> gaps;
    for (uint32_t u = 0; u < n_users; ++u) {
        if (u % 256 == 0) ctx.cancel_point();
        float* row = x.values.data() + uint64_t(u) * d;
        const auto uf = fb.user_features(u);
        std::copy(uf.begin(), uf.end(), row);
        float* t = row + base;
        const uint64_t b = h.start[u], e = h.start[u + 1];
        days.clear();
        baskets.clear();
        double spend[4] = {0, 0, 0, 0}, spend_total = 0;
        int64_t window_days[4] = {0, 0, 0, 0};
        int64_t last_day_in[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
        bool priced = false;
        int64_t last_year = 0, last_year_day = INT64_MIN, last_year_90 = 0, last_year_90_day = INT64_MIN;
        double quantity = 0;
        const double ly_begin = double(now) - 365.0 * kSecondsPerDay, ly_end = ly_begin + H * kSecondsPerDay;
        const double ly_end_90 = ly_begin + 90.0 * kSecondsPerDay;
        for (uint64_t r = b; r < e; ++r) {
            const Purchase& p = h.p[r];
            const int64_t day = floor_day(p.ts);
            if (days.empty() || days.back() != day) days.push_back(day);
            if (baskets.empty() || baskets.back() != p.ts) baskets.push_back(p.ts);
            const bool has_price = !std::isnan(p.price);
            const double value = has_price ? p.quantity * p.price : 0;
            priced |= has_price;
            spend_total += value;
            for (int k = 0; k < 4; ++k)
                if (double(p.ts) >= double(now) - double(kWindowDays[k]) * kSecondsPerDay) {
                    spend[k] += value;
                    if (last_day_in[k] != day) ++window_days[k];
                    last_day_in[k] = day;
                }
            if (double(p.ts) >= ly_begin && double(p.ts) < ly_end && last_year_day != day) {
                ++last_year;
                last_year_day = day;
            }
            if (double(p.ts) >= ly_begin && double(p.ts) < ly_end_90 && last_year_90_day != day) {
                ++last_year_90;
                last_year_90_day = day;
            }
            quantity += p.quantity;
        }
        const size_t n_days = days.size();
        out.purchase_days[u] = uint32_t(n_days);
        t[0] = float(n_days);
        for (int k = 0; k < 4; ++k) {
            t[1 + k] = float(window_days[k]);
            t[5 + k] = priced ? float(spend[k]) : float(kNaN);
        }
        t[9] = priced ? float(spend_total) : float(kNaN);
        t[10] = priced && n_days ? float(spend_total / double(n_days)) : float(kNaN);
        gaps.clear();
        for (size_t k = 1; k < n_days; ++k) gaps.push_back(double(days[k] - days[k - 1]));
        const double since_last = uf[3];  // user_days_since_last
        const double tenure = uf[4];      // user_tenure_days
        if (!gaps.empty()) {
            const double g = double(gaps.size());
            const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / g;
            double ss = 0, within = 0;
            for (double v : gaps) {
                ss += (v - mean) * (v - mean);
                within += v <= H;
            }
            t[11] = float(mean);
            t[12] = float(median_of(gaps));
            t[13] = float(std::sqrt(ss / g));
            t[14] = float(*std::min_element(gaps.begin(), gaps.end()));
            t[15] = float(gaps.back());
            if (gaps.size() >= 2) {
                const double kbar = (g - 1) / 2;
                double sxy = 0, sxx = 0;
                for (size_t k = 0; k < gaps.size(); ++k) {
                    sxy += (double(k) - kbar) * (gaps[k] - mean);
                    sxx += (double(k) - kbar) * (double(k) - kbar);
                }
                t[16] = float(sxy / sxx);
            }
            t[17] = float(within / g);
            if (mean > 0) t[18] = float(since_last / mean);
            t[19] = float(since_last - mean);
            // The empirical chance that the current gap ends within H, given it has lasted since_last.
            double longer = 0, ending = 0;
            for (double v : gaps)
                if (v > since_last) {
                    ++longer;
                    ending += v <= since_last + H;
                }
            if (longer > 0) t[31] = float(ending / longer);
        }
        if (n_days > 0) {
            t[20] = float(double(n_days) * 30 / std::max(tenure, 30.0));
            double hours = 0;
            for (int64_t ts : baskets) hours += double(ts - floor_day(ts) * kSecondsPerDay) / 3600.0;
            t[21] = float(hours / double(baskets.size()));
            uint32_t dow[7] = {0, 0, 0, 0, 0, 0, 0};
            for (int64_t day : days) ++dow[((day + 3) % 7 + 7) % 7];  // 1970-01-01 was a Thursday; Monday = 0
            t[22] = float(double(*std::max_element(dow, dow + 7)) / double(n_days));
            t[23] = float(double(dow[5] + dow[6]) / double(n_days));
        }
        t[24] = float(last_year);
        uint32_t repeat = 0, due = 0, due_soon = 0;
        double due_min = kNaN, ratio_sum = 0, ratio_max = 0;
        for (const features::UserItemStats& s : fb.user_items(u)) {
            if (s.days < 2) continue;
            ++repeat;
            const double interval = double(s.last_ts - s.first_ts) / double(s.days - 1);
            const double next_in = (double(s.last_ts) + interval - double(now)) / kSecondsPerDay;
            due += next_in < H;
            due_soon += next_in >= 0 && next_in < H;
            due_min = std::isnan(due_min) ? next_in : std::min(due_min, next_in);
            const double ratio = double(now - s.last_ts) / interval;  // > 0: two distinct days
            ratio_sum += ratio;
            ratio_max = std::max(ratio_max, ratio);
        }
        t[25] = float(repeat);
        t[26] = float(due);
        t[27] = float(due_min);
        t[28] = float(due_soon);
        if (repeat > 0) {
            t[29] = float(ratio_sum / double(repeat));
            t[30] = float(ratio_max);
        }
        t[32] = float(last_year_90);
        t[33] = float(christmas_days);
        if (e > b) t[34] = float(quantity / double(e - b));
        if (priced && !baskets.empty()) t[35] = float(spend_total / double(baskets.size()));
    }
    return out;
}

std::vector<Target> targets(std::span<const Purchase> purchases, uint32_t n_users, int64_t cutoff, int64_t end,
                            const Context& ctx) {
    if (end <= cutoff) throw invalid_input("the end of the data is not after the cutoff");
    std::vector<int64_t> first(n_users, INT64_MAX);
    for (size_t i = 0; i < purchases.size(); ++i) {
        if (i % 65536 == 0) ctx.cancel_point();
        const Purchase& p = purchases[i];
        if (p.user >= n_users) throw invalid_input("purchase " + std::to_string(i + 1) + ": user index out of range");
        if (p.ts >= cutoff && p.ts < end) first[p.user] = std::min(first[p.user], p.ts);
    }
    std::vector<Target> out(n_users);
    for (uint32_t u = 0; u < n_users; ++u) {
        const bool seen = first[u] != INT64_MAX;
        out[u].observed = seen;
        out[u].days = double((seen ? first[u] : end) - cutoff) / kSecondsPerDay;
    }
    return out;
}

// ------------------------------------------------------------- metrics

double concordance_index(std::span<const double> predicted, std::span<const Target> truth, const Context& ctx) {
    if (predicted.size() != truth.size()) throw invalid_input("concordance: predictions and targets differ in length");
    double agree = 0;
    uint64_t pairs = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
        if (i % 256 == 0) ctx.cancel_point();
        if (!truth[i].observed) continue;
        for (size_t j = 0; j < truth.size(); ++j) {
            if (!(truth[i].days < truth[j].days)) continue;
            ++pairs;
            agree += predicted[i] < predicted[j] ? 1.0 : predicted[i] == predicted[j] ? 0.5 : 0.0;
        }
    }
    return pairs ? agree / double(pairs) : kNaN;
}

double auc(std::span<const double> score, std::span<const uint8_t> label) {
    if (score.size() != label.size()) throw invalid_input("auc: scores and labels differ in length");
    std::vector<size_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
    double rank_sum = 0;
    uint64_t pos = 0;
    for (size_t k = 0; k < order.size();) {
        size_t e = k;
        while (e < order.size() && score[order[e]] == score[order[k]]) ++e;
        const double mid = (double(k) + double(e - 1)) / 2 + 1;  // mean 1-based rank of the tie run
        for (size_t r = k; r < e; ++r)
            if (label[order[r]]) {
                rank_sum += mid;
                ++pos;
            }
        k = e;
    }
    const uint64_t neg = score.size() - pos;
    if (pos == 0 || neg == 0) return kNaN;
    return (rank_sum - double(pos) * double(pos + 1) / 2) / (double(pos) * double(neg));
}

Metrics metrics(std::span<const double> expected_days, std::span<const double> p_within,
                std::span<const Target> truth, double horizon_days, const Context& ctx) {
    Metrics m;
    m.customers = truth.size();
    std::vector<uint8_t> within(truth.size());
    for (size_t i = 0; i < truth.size(); ++i) {
        within[i] = truth[i].observed && truth[i].days < horizon_days;
        m.observed += truth[i].observed;
        m.within += within[i];
    }
    m.mae = m.rmse = m.concordance = m.auc = m.brier = kNaN;
    if (!expected_days.empty()) {
        double ae = 0, se = 0;
        for (size_t i = 0; i < truth.size(); ++i)
            if (truth[i].observed) {
                const double err = expected_days[i] - truth[i].days;
                ae += std::abs(err);
                se += err * err;
            }
        if (m.observed) {
            m.mae = ae / double(m.observed);
            m.rmse = std::sqrt(se / double(m.observed));
        }
        m.concordance = concordance_index(expected_days, truth, ctx);
    }
    if (!p_within.empty() && !truth.empty()) {
        m.auc = auc(p_within, within);
        double b = 0;
        for (size_t i = 0; i < truth.size(); ++i) b += (p_within[i] - within[i]) * (p_within[i] - within[i]);
        m.brier = b / double(truth.size());
    }
    return m;
}

// ------------------------------------------------------------- parameters

namespace {

constexpr ParamSpec kHorizon{"horizon_days", ParamType::Double, "30", 0.001, 3650, "", "",
                             "H: \"buys again within H days\", in days"};
constexpr ParamSpec kCutoffs{"training_cutoffs", ParamType::Int, "1", 1, 52, "", "",
                             "cutoffs stacked for training rows: the latest and the ones before it"};
constexpr ParamSpec kStep{"cutoff_step_days", ParamType::Double, "0", 0, 3650, "", "",
                          "days between stacked cutoffs (0 = H)"};
constexpr ParamSpec kTopCategories{"top_categories", ParamType::Int, "10", 0, 1000, "", "",
                                   "user_cat_share_<c> columns for the most bought categories"};
constexpr ParamSpec kTimeLearner{"time_learner", ParamType::Choice, "\"forest\"", 0, 0, "linear|forest|boosted|aft",
                                 "", "the days model"};
constexpr ParamSpec kWithinLearner{"within_learner", ParamType::Choice, "\"forest\"", 0, 0, "logistic|forest|boosted",
                                   "", "the \"within H days\" model"};
constexpr const ParamSpec* kParams[] = {&kHorizon, &kCutoffs, &kStep, &kTopCategories, &kTimeLearner,
                                        &kWithinLearner};

struct Config {
    double horizon = 30, step = 30;
    uint32_t cutoffs = 1, top_categories = 10;
    std::optional<int64_t> cutoff, now;
    std::string time_learner = "forest", within_learner = "forest";
    json time_params = json::object(), within_params = json::object();
};

int64_t time_value(const json& v, const char* key) {
    if (v.is_string()) return ranker::parse_time(v.get<std::string>());
    if (v.is_number() && std::isfinite(v.get<double>()) && std::abs(v.get<double>()) < 1e13)
        return int64_t(std::floor(v.get<double>()));
    throw invalid_input(std::string("parameter \"") + key + "\" must be a date or seconds since the epoch",
                        "For example \"2011-11-09\" or 1320796800.");
}

// Defaults for the learners on a few thousand customer rows (set unless given).
void learner_defaults(const std::string& kind, json& p) {
    auto def = [&](const char* k, json v) {
        if (!p.contains(k)) p[k] = v;
    };
    if (kind == "boosted" || kind == "aft") {
        def("rounds", 300);
        def("eta", 0.03);
        def("max_depth", 4);
        def("min_child_weight", 5);
        def("subsample", 0.8);
        def("colsample_bytree", 0.8);
    } else if (kind == "forest") {
        def("n_trees", 200);
        def("max_depth", 8);
        def("min_child_weight", 5);
    }
}

Config parse_config(std::string_view params_json) {
    json all;
    try {
        all = json::parse(params_json.empty() ? std::string_view("{}") : params_json);
    } catch (const json::exception&) {
        throw invalid_input("timing parameters are not valid JSON");
    }
    if (!all.is_object()) throw invalid_input("timing parameters must be a JSON object");
    Config c;
    for (const char* key : {"cutoff", "now"})
        if (all.contains(key)) {
            (std::string(key) == "cutoff" ? c.cutoff : c.now) = time_value(all[key], key);
            all.erase(key);
        }
    json own = json::object();
    for (auto& [key, value] : all.items()) {
        if (key.rfind("time.", 0) == 0) c.time_params[key.substr(5)] = value;
        else if (key.rfind("within.", 0) == 0) c.within_params[key.substr(7)] = value;
        else own[key] = value;
    }
    Params p = Params::parse_json(own.dump());
    c.horizon = p.number(kHorizon);
    c.cutoffs = uint32_t(p.integer(kCutoffs));
    c.step = p.number(kStep);
    if (c.step == 0) c.step = c.horizon;
    c.top_categories = uint32_t(p.integer(kTopCategories));
    c.time_learner = p.choice(kTimeLearner);
    c.within_learner = p.choice(kWithinLearner);
    p.reject_unknown("timing");
    learner_defaults(c.time_learner, c.time_params);
    learner_defaults(c.within_learner, c.within_params);
    return c;
}

}  // namespace

void check_params(std::string_view params_json) {
    if (params_json.size() > 0) {
        // The horizon alone first: "H <= 0" is the most common mistake, and its message is clearest.
        json all;
        try {
            all = json::parse(params_json);
        } catch (const json::exception&) {
            throw invalid_input("timing parameters are not valid JSON");
        }
        if (all.is_object() && all.contains("horizon_days") && all["horizon_days"].is_number() &&
            !(all["horizon_days"].get<double>() > 0))
            throw invalid_input("horizon_days must be positive, got " + all["horizon_days"].dump(),
                                "H is the number of days of \"buys again within H days\", e.g. 30.");
    }
    parse_config(params_json);
}

// ------------------------------------------------------------- training

TrainingRows training_rows(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items,
                           const features::ItemAttributes& attributes, std::string_view params_json,
                           const Context& ctx) {
    check_params(params_json);
    const Config c = parse_config(params_json);
    if (purchases.empty()) throw invalid_input("no purchases", "Give some purchases.");
    int64_t min_ts = purchases[0].ts, max_ts = purchases[0].ts;
    for (const Purchase& p : purchases) {
        min_ts = std::min(min_ts, p.ts);
        max_ts = std::max(max_ts, p.ts);
    }
    TrainingRows out;
    out.end = max_ts + 1;
    const int64_t h = int64_t(std::llround(c.horizon * kSecondsPerDay));
    const int64_t cutoff = c.cutoff ? *c.cutoff : out.end - h;
    auto day_text = [](int64_t ts) {  // UTC, "YYYY-MM-DD HH:MM:SS"
        const time_t t = time_t(ts);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
        return std::string(buf);
    };
    if (cutoff <= min_ts || cutoff >= out.end)
        throw invalid_input("the cutoff " + day_text(cutoff) + " UTC is outside the data, which spans " + day_text(min_ts) +
                                " to " + day_text(max_ts) + " UTC",
                            "Choose a cutoff after the first purchase and at least horizon_days before the last.");
    if (cutoff + h > out.end)
        throw invalid_input("the cutoff is less than horizon_days (" + json(c.horizon).dump() +
                                ") before the end of the data, so \"within H days\" cannot be observed",
                            "Choose an earlier cutoff or a shorter horizon_days.");
    features::Options options;
    options.top_categories = c.top_categories;
    const int64_t step = int64_t(std::llround(c.step * kSecondsPerDay));
    for (uint32_t k = 0; k < c.cutoffs; ++k) {
        const int64_t ck = cutoff - int64_t(k) * step;
        if (ck <= min_ts) break;
        CustomerFeatures f =
            customer_features(purchases, n_users, n_items, ck, c.horizon, attributes, options, ctx);
        if (k == 0) {
            out.top_categories = f.top_categories;
            options.fixed_categories = f.top_categories;  // the same columns at every cutoff
            if (f.top_categories.empty()) options.top_categories = 0;
            out.x.cols = f.x.cols;
            out.x.names = f.x.names;
        }
        // Every cutoff's targets are observed for as long as the latest one's.
        const std::vector<Target> y = targets(purchases, n_users, ck, ck + (out.end - cutoff), ctx);
        out.cutoffs.push_back(ck);
        for (uint32_t u = 0; u < n_users; ++u) {
            if (f.purchase_days[u] == 1) out.one_purchase.push_back(y[u]);
            if (f.purchase_days[u] < 2) continue;
            const float* row = f.x.values.data() + uint64_t(u) * f.x.cols;
            out.x.values.insert(out.x.values.end(), row, row + f.x.cols);
            out.y.push_back(y[u]);
            out.users.push_back(u);
            out.row_cutoff.push_back(ck);
        }
    }
    out.x.rows = out.y.size();
    return out;
}

struct TimingScorer::State {
    std::string params_json;
    int64_t now = 0;
    double horizon = 30;
    std::string time_kind;  // linear, forest, boosted or aft
    std::string aft_distribution = "extreme";
    double aft_scale = 1;
    double follow_up = 30;  // days each training row was followed (end - cutoff)
    double fallback_days = 0, fallback_p = 0;
    uint32_t n_users = 0, d = 0;
    std::vector<std::string> names;
    std::vector<float> x;  // n_users x d, the features at now
    std::vector<uint32_t> purchase_days;
    std::unique_ptr<learn::Learner> time, within;

    double days_of(float margin) const {
        // aft: the median time of a return within the follow-up, the MAE-optimal guess for those who return.
        const double e =
            time_kind == "aft"
                ? learn::aft_quantile(margin, aft_distribution, aft_scale,
                                      learn::aft_cdf(margin, aft_distribution, aft_scale, follow_up) / 2)
                : std::expm1(double(margin));
        return std::clamp(std::isnan(e) ? kMaxDays : e, 0.0, kMaxDays);
    }
};

namespace {

double sigmoid(double m) { return m >= 0 ? 1 / (1 + std::exp(-m)) : std::exp(m) / (1 + std::exp(m)); }

}  // namespace

TimingScorer::TimingScorer(std::unique_ptr<State> s) : s_(std::move(s)) {}
TimingScorer::~TimingScorer() = default;
int64_t TimingScorer::now() const { return s_->now; }
double TimingScorer::horizon_days() const { return s_->horizon; }

void TimingScorer::score(const Basket&, std::optional<uint32_t>, std::span<float>) const {
    throw invalid_input("this is a purchase-timing model: it predicts when customers buy again, not items",
                        "Use recsys.next_purchase(user_id, model) or recsys.next_purchases(model).");
}

Prediction TimingScorer::predict(uint32_t user) const {
    const State& s = *s_;
    Prediction p;
    if (s.purchase_days[user] < 2) {
        p.expected_days = s.fallback_days;
        p.p_within = s.fallback_p;
        p.one_purchase = true;
        return p;
    }
    const float* row = s.x.data() + uint64_t(user) * s.d;
    p.expected_days = s.days_of(s.time->predict_one(row));
    p.p_within = sigmoid(s.within->predict_one(row));
    return p;
}

std::vector<Prediction> TimingScorer::predict_all(const Context& ctx) const {
    const State& s = *s_;
    std::vector<float> tm(s.n_users), wm(s.n_users);
    ctx.cancel_point();
    if (s.n_users) {
        s.time->predict(s.x.data(), s.n_users, tm.data());
        ctx.cancel_point();
        s.within->predict(s.x.data(), s.n_users, wm.data());
    }
    std::vector<Prediction> out(s.n_users);
    for (uint32_t u = 0; u < s.n_users; ++u) {
        if (s.purchase_days[u] < 2) {
            out[u] = {s.fallback_days, s.fallback_p, true};
            continue;
        }
        out[u] = {s.days_of(tm[u]), sigmoid(wm[u]), false};
    }
    return out;
}

std::vector<FeatureContribution> TimingScorer::explain_features(uint32_t user, std::string_view target) const {
    const State& s = *s_;
    if (target != "days" && target != "within")
        throw invalid_input("unknown target \"" + std::string(target) + "\"", "Use 'days' or 'within'.");
    if (s.purchase_days[user] < 2)
        throw invalid_input("the customer has fewer than two purchase days, so the model's fallback answers, not its "
                            "learners: there are no feature contributions",
                            "Explanations exist for customers with purchases on two days or more.");
    const learn::Learner& l = target == "days" ? *s.time : *s.within;
    const float* row = s.x.data() + uint64_t(user) * s.d;
    std::vector<double> parts;
    if (!l.contributions(row, parts)) throw invalid_input("learner " + l.kind() + " cannot explain its predictions");
    std::vector<FeatureContribution> out;
    for (uint32_t j = 0; j < s.d; ++j) out.push_back({s.names[j], double(row[j]), parts[j]});
    out.push_back({"bias", kNaN, parts.back()});
    return out;
}

Metrics TimingScorer::evaluate(std::span<const std::pair<uint32_t, int64_t>> test, int64_t end, uint64_t* skipped,
                               const Context& ctx) const {
    const State& s = *s_;
    std::vector<Purchase> later;
    for (const auto& [u, ts] : test) {
        if (u >= s.n_users) throw invalid_input("test user index out of range");
        if (ts >= s.now) later.push_back({u, 0, ts});
    }
    if (end <= s.now) throw invalid_input("no test purchase is at or after the model's now, so nothing can be evaluated",
                                          "Give purchases after the model's training data.");
    const std::vector<Target> all = targets(later, s.n_users, s.now, end, ctx);
    const std::vector<Prediction> pred = predict_all(ctx);
    std::vector<double> days, p;
    std::vector<Target> truth;
    uint64_t skip = 0;
    for (uint32_t u = 0; u < s.n_users; ++u) {
        if (pred[u].one_purchase) {
            ++skip;
            continue;
        }
        days.push_back(pred[u].expected_days);
        p.push_back(pred[u].p_within);
        truth.push_back(all[u]);
    }
    if (skipped) *skipped = skip;
    return metrics(days, p, truth, s.horizon, ctx);
}

void TimingScorer::write(ByteWriter& w) const {
    const State& s = *s_;
    w.put<uint32_t>(kFormat);
    w.put_string(s.params_json);
    w.put<int64_t>(s.now);
    w.put<double>(s.horizon);
    w.put_string(s.time_kind);
    w.put_string(s.aft_distribution);
    w.put<double>(s.aft_scale);
    w.put<double>(s.follow_up);
    w.put<double>(s.fallback_days);
    w.put<double>(s.fallback_p);
    w.put<uint32_t>(s.n_users);
    w.put<uint32_t>(s.d);
    for (const auto& n : s.names) w.put_string(n);
    w.put_array(s.x);
    w.put_array(s.purchase_days);
    s.time->write(w);
    s.within->write(w);
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t) {
    auto s = std::make_unique<TimingScorer::State>();
    const uint32_t format = r.get<uint32_t>();
    if (format != 1 && format != kFormat) throw corrupted("timing payload version is not supported");
    s->params_json = r.get_string();
    s->now = r.get<int64_t>();
    s->horizon = r.get<double>();
    s->time_kind = r.get_string();
    s->aft_distribution = r.get_string();
    s->aft_scale = r.get<double>();
    s->follow_up = format >= 2 ? r.get<double>() : s->horizon;
    s->fallback_days = r.get<double>();
    s->fallback_p = r.get<double>();
    s->n_users = r.get<uint32_t>();
    s->d = r.get<uint32_t>();
    if (s->n_users != n_users) throw corrupted("timing sizes disagree with the model's");
    if (s->d == 0 || s->d > 100000) throw corrupted("timing feature count out of range");
    if (!(s->horizon > 0) || !std::isfinite(s->fallback_days) || !std::isfinite(s->fallback_p) ||
        !(s->aft_scale > 0) || !(s->follow_up > 0))
        throw corrupted("timing payload values out of range");
    if (s->time_kind != "linear" && s->time_kind != "forest" && s->time_kind != "boosted" && s->time_kind != "aft")
        throw corrupted("timing days learner unknown");
    for (uint32_t j = 0; j < s->d; ++j) s->names.push_back(r.get_string());
    s->x = r.get_array<float>(uint64_t(n_users) * s->d);
    s->purchase_days = r.get_array<uint32_t>(n_users);
    if (s->x.size() != uint64_t(n_users) * s->d || s->purchase_days.size() != n_users)
        throw corrupted("timing features have the wrong size");
    s->time = learn::read_learner(r);
    s->within = learn::read_learner(r);
    if (s->time->n_features() != s->d || s->within->n_features() != s->d)
        throw corrupted("timing learners disagree with the feature count");
    return std::make_unique<TimingScorer>(std::move(s));
}

Model train_timing(std::span<const Purchase> purchases, IdMap users, IdMap items,
                   const features::ItemAttributes& attributes, std::string_view params_json, const Context& ctx,
                   Report* report) {
    const uint32_t n_users = users.size(), n_items = items.size();
    check_params(params_json);
    const Config c = parse_config(params_json);
    TrainingRows rows = training_rows(purchases, n_users, n_items, attributes, params_json, ctx);
    const size_t d = rows.x.cols;
    if (rows.y.size() < 10)
        throw invalid_input("only " + std::to_string(rows.y.size()) +
                                " customer rows have purchases on two days or more before the cutoff",
                            "Timing needs repeat customers: give more history or an later cutoff.");

    Report rep;
    std::vector<float> yw(rows.y.size());
    std::vector<double> observed_days;
    for (size_t i = 0; i < rows.y.size(); ++i) {
        yw[i] = rows.y[i].observed && rows.y[i].days < c.horizon ? 1.0f : 0.0f;
        rep.within += yw[i] > 0;
        if (rows.y[i].observed) observed_days.push_back(rows.y[i].days);
    }
    rep.observed = observed_days.size();
    if (rep.within == 0 || rep.within == rows.y.size())
        throw invalid_input("every training customer is on the same side of \"within " + json(c.horizon).dump() +
                                " days\", so there is nothing to learn",
                            "Change horizon_days or the cutoff.");
    if (observed_days.size() < 2)
        throw invalid_input("fewer than two training customers came back after the cutoff",
                            "Choose an earlier cutoff.");

    auto s = std::make_unique<TimingScorer::State>();
    s->horizon = c.horizon;
    s->follow_up = double(rows.end - rows.cutoffs.front()) / kSecondsPerDay;
    s->time_kind = c.time_learner;

    // Within H days.
    {
        learn::TrainingSet t{rows.x.values.data(), rows.y.size(), uint32_t(d), yw.data(), {}};
        s->within = learn::fit_learner(c.within_learner, t, nullptr, Params::parse_json(c.within_params.dump()), ctx);
    }
    // Days.
    {
        Params tp = Params::parse_json(c.time_params.dump());
        if (c.time_learner == "aft") {
            std::vector<float> lo(rows.y.size()), hi(rows.y.size());
            for (size_t i = 0; i < rows.y.size(); ++i) {
                lo[i] = float(std::max(rows.y[i].days, kMinAftDays));
                hi[i] = rows.y[i].observed ? lo[i] : std::numeric_limits<float>::infinity();
            }
            learn::TrainingSet t{rows.x.values.data(), rows.y.size(), uint32_t(d), lo.data(), {},
                                 learn::Task::SurvivalAft, hi.data()};
            s->time = learn::fit_learner("boosted", t, nullptr, tp, ctx);
            const json eff = json::parse(s->time->params_json());
            if (eff.contains("aft_distribution") && eff["aft_distribution"].is_string())
                s->aft_distribution = eff["aft_distribution"].get<std::string>();
            if (eff.contains("aft_scale") && eff["aft_scale"].is_number()) s->aft_scale = eff["aft_scale"].get<double>();
        } else {
            std::vector<float> xo, yo;
            for (size_t i = 0; i < rows.y.size(); ++i)
                if (rows.y[i].observed) {
                    xo.insert(xo.end(), rows.x.values.begin() + int64_t(i * d), rows.x.values.begin() + int64_t((i + 1) * d));
                    yo.push_back(float(std::log1p(rows.y[i].days)));
                }
            learn::TrainingSet t{xo.data(), yo.size(), uint32_t(d), yo.data(), {}, learn::Task::Regression};
            s->time = learn::fit_learner(c.time_learner, t, nullptr, tp, ctx);
        }
    }

    // Fallback for one-purchase-day customers.
    const std::vector<Target>& fb = rows.one_purchase.empty() ? rows.y : rows.one_purchase;
    {
        std::vector<double> od;
        double w = 0;
        for (const Target& t : fb) {
            if (t.observed) od.push_back(t.days);
            w += t.observed && t.days < c.horizon;
        }
        s->fallback_days = od.empty() ? median_of(observed_days) : median_of(od);
        s->fallback_p = w / double(fb.size());
    }

    // Serving: the features of every customer at now.
    const int64_t last = rows.end - 1;
    s->now = c.now ? *c.now : last + 1;
    features::Options options;
    options.top_categories = c.top_categories;
    options.fixed_categories = rows.top_categories;
    if (rows.top_categories.empty()) options.top_categories = 0;
    CustomerFeatures serving = customer_features(purchases, n_users, n_items, s->now, c.horizon, attributes, options, ctx);
    if (serving.x.names != rows.x.names)
        throw Error(ErrorKind::Internal, "timing: serving columns differ from the training columns");
    s->n_users = n_users;
    s->d = uint32_t(d);
    s->names = serving.x.names;
    s->x = std::move(serving.x.values);
    s->purchase_days = std::move(serving.purchase_days);

    // The effective parameters, flat.
    Params eff;
    eff.set("horizon_days", c.horizon);
    eff.set("training_cutoffs", double(c.cutoffs));
    eff.set("cutoff_step_days", c.step);
    eff.set("top_categories", double(c.top_categories));
    eff.set("cutoff", double(rows.cutoffs.front()));
    eff.set("now", double(s->now));
    eff.set("time_learner", c.time_learner);
    eff.set("within_learner", c.within_learner);
    auto value = [](const json& v) {
        return v.is_boolean() ? Params::Value(v.get<bool>())
               : v.is_string() ? Params::Value(v.get<std::string>())
                               : Params::Value(v.get<double>());
    };
    const json time_params = json::parse(s->time->params_json()), within_params = json::parse(s->within->params_json());
    for (auto& [k, v] : time_params.items())
        if (!v.is_null()) eff.set("time." + k, value(v));
    for (auto& [k, v] : within_params.items())
        if (!v.is_null()) eff.set("within." + k, value(v));
    s->params_json = eff.to_json();

    rep.cutoffs = rows.cutoffs;
    rep.end = rows.end;
    rep.now = s->now;
    rep.horizon_days = c.horizon;
    rep.rows = rows.y.size();
    rep.one_purchase_rows = rows.one_purchase.size();
    rep.training_median_days = median_of(observed_days);
    rep.fallback_days = s->fallback_days;
    rep.fallback_p_within = s->fallback_p;
    rep.time_learner = c.time_learner;
    rep.within_learner = c.within_learner;
    rep.feature_names = s->names;
    if (report) *report = rep;

    std::string params = s->params_json;
    return ranker::model_from_purchases("timing", std::move(params), purchases, std::move(users), std::move(items),
                                        std::make_unique<TimingScorer>(std::move(s)));
}

std::string Report::to_json() const {
    json j = {{"cutoffs", cutoffs},
              {"end", end},
              {"now", now},
              {"horizon_days", horizon_days},
              {"rows", rows},
              {"observed", observed},
              {"within", within},
              {"one_purchase_rows", one_purchase_rows},
              {"training_median_days", training_median_days},
              {"fallback_days", fallback_days},
              {"fallback_p_within", fallback_p_within},
              {"time_learner", time_learner},
              {"within_learner", within_learner},
              {"features", feature_names}};
    return j.dump();
}

namespace {
std::unique_ptr<Scorer> train_from_interactions(const Interactions&, const Params&, const Context&) {
    throw invalid_input("a timing model is trained from purchases with timestamps, not from interactions",
                        "Use recsys.train_timing(name, purchases_query, items_query, params).");
}
}  // namespace

const Algorithm algorithm{
    "timing",
    "when each customer buys again: days to the next purchase and \"within H days\" from purchase features",
    kParams,
    &train_from_interactions,
    &read,
    nullptr,
    {.learns_users = true, .fold_in = false, .similar_items = false, .explain = false, .incremental = false,
     .tuned_by_default = false},
};

}  // namespace recsys::timing
