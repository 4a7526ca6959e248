#include "ranker.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "errors.h"
#include "rng.h"
#include "topk.h"

namespace recsys::ranker {

using features::FeatureBuilder;
using features::Purchase;
using features::UserItem;
using features::purchase_matrix;
using json = nlohmann::json;

namespace {

constexpr ParamSpec kPerModel{"candidates_per_model", ParamType::Int, "100", 1, 100000, "", "",
                              "top-N candidates of each base model"};
constexpr ParamSpec kRebuys{"rebuy_candidates", ParamType::Int, "0", 0, 100000, "", "",
                            "most re-buy candidates per user (0 = all the user's items)"};
constexpr ParamSpec kWindowDays{"label_window_days", ParamType::Double, "28", 0.001, 36500, "", "",
                                "length of the label window after the cutoff, in days"};
constexpr ParamSpec kValidation{"validation_fraction", ParamType::Double, "0.1", 0, 0.9, "", "",
                                "share of the training users held out for the learner's early stopping"};
constexpr ParamSpec kSeed{"seed", ParamType::Int, "0", 0, 9007199254740991.0, "", "", "validation users' draw"};
constexpr ParamSpec kTopCategories{"top_categories", ParamType::Int, "10", 0, 1000, "", "",
                                   "user_cat_share_<c> columns for the most bought categories"};
constexpr ParamSpec kWindows{"training_windows", ParamType::Int, "3", 1, 52, "", "",
                              "label windows stacked for training rows: the latest and the ones before it"};
constexpr ParamSpec kLastBasket{"last_basket_days", ParamType::Double, "0", 0, 36500, "", "",
                                "<base>_last_score: the base model scores the user's items bought within this many "
                                "days before their latest purchase (0 = the last basket)"};
constexpr ParamSpec kBestSellers{"best_seller_candidates", ParamType::Int, "0", 0, 100000, "", "",
                                 "candidates among the items with most buyers in the last best_seller_days"};
constexpr ParamSpec kBestSellerDays{"best_seller_days", ParamType::Double, "30", 0.001, 36500, "", "",
                                "the window of best_seller_candidates, in days before the cutoff"};
constexpr ParamSpec kNegatives{"training_negatives", ParamType::Int, "0", 0, 100000, "", "",
                               "unbought candidates kept per training customer and window, a seeded sample "
                               "(0 = all); bought ones are all kept, serving scores every candidate"};
constexpr const ParamSpec* kParams[] = {&kPerModel, &kRebuys, &kWindowDays, &kValidation, &kSeed, &kTopCategories,
                                        &kWindows, &kLastBasket, &kBestSellers, &kBestSellerDays,
                                        &kNegatives};
constexpr uint32_t kEaseDefaultMaxItems = 2000;
// 2: user_n_days, user_days_recent, item_repeat_share, ui_day_share; 3: user_rebuy_share, ui_days_recent,
// ui_days_before_user_last, <base>_last_score
constexpr uint32_t kFormat = 3;

// learner "auto": the kinds tried by default (the strongest in bench/ranker.sh).
const char* const kAutoLearners = "logistic,boosted,mlp";

// The ranker's defaults for a learner where they differ from the learner's
// own, measured on online-retail (bench/ranker.sh, means of 3 seeds, README):
// boosted trees of depth 4 rank the candidates better than depth 6 in
// every seed; rank:pairwise beats rank:ndcg (and rank:map) by .015.
json ranker_learner_defaults(const std::string& kind) {
    if (kind == "boosted") return {{"max_depth", 4}};
    if (kind == "ensemble") return {{"boosted.max_depth", 4}};
    if (kind == "boosted_rank") return {{"objective", "pairwise"}};
    return json::object();
}

// The learner's parameters: the given ones over the ranker's defaults.
Params learner_params(const std::string& kind, const json& given) {
    json p = ranker_learner_defaults(kind);
    p.update(given);
    return Params::parse_json(p.dump());
}

struct Config {
    std::string learner = "boosted";
    std::vector<std::string> auto_learners;  // learner "auto": the kinds tried, in order
    json learner_params = json::object();
    std::vector<std::pair<std::string, json>> bases;
    uint32_t per_model = 100, rebuys = 0, top_categories = 10, windows = 1;
    uint32_t best_sellers = 0, negatives = 0;
    double best_seller_days = 30;
    std::optional<int64_t> cutoff, now;
    int64_t window = 0, last_basket = 0;
    double validation_fraction = 0.1;
    uint64_t seed = 0;
};

int64_t read_time(const json& v, const char* key) {
    if (v.is_number()) {
        const double d = v.get<double>();
        if (!std::isfinite(d) || std::abs(d) > 1e13)
            throw invalid_input(std::string("parameter \"") + key + "\" is out of range");
        return int64_t(std::floor(d));
    }
    if (v.is_string()) return parse_time(v.get<std::string>());
    throw invalid_input(std::string("parameter \"") + key + "\" must be a number of seconds since the epoch or a date",
                        "For example \"2011-11-09\" or 1320796800.");
}

std::string known_learners() {
    std::string known;
    for (const auto& k : learn::learner_kinds()) known += (known.empty() ? "" : ", ") + k;
    return known;
}

Config parse_config(std::string_view params_json, uint32_t n_items) {
    json all;
    try {
        all = json::parse(params_json.empty() ? std::string_view("{}") : params_json);
    } catch (const json::exception&) {
        throw invalid_input("ranker parameters are not valid JSON");
    }
    if (!all.is_object()) throw invalid_input("ranker parameters must be a JSON object");
    Config c;
    if (all.contains("learner")) {
        if (!all["learner"].is_string()) throw invalid_input("parameter \"learner\" must be a string");
        c.learner = all["learner"].get<std::string>();
        all.erase("learner");
    }
    const auto& kinds = learn::learner_kinds();
    auto check_kind = [&](const std::string& kind) {
        if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
            throw invalid_input("unknown learner \"" + kind + "\"", "Known learners: " + known_learners() + ", or auto.");
    };
    if (all.contains("auto_learners")) {
        if (c.learner != "auto")
            throw invalid_input("parameter \"auto_learners\" is only for learner \"auto\"",
                                "Set \"learner\": \"auto\", or leave auto_learners out.");
        if (!all["auto_learners"].is_string())
            throw invalid_input("parameter \"auto_learners\" must be a string of comma-separated learner names");
        c.auto_learners = name_list(all["auto_learners"].get<std::string>());
        all.erase("auto_learners");
        if (c.auto_learners.empty())
            throw invalid_input("parameter \"auto_learners\" names no learner", "For example \"logistic,boosted\".");
    } else if (c.learner == "auto") {
        c.auto_learners = name_list(kAutoLearners);
    }
    if (c.learner == "auto") {
        for (const auto& k : c.auto_learners) {
            check_kind(k);
            if (std::count(c.auto_learners.begin(), c.auto_learners.end(), k) > 1)
                throw invalid_input("learner \"" + k + "\" is listed twice in auto_learners");
        }
    } else {
        check_kind(c.learner);
    }
    std::string bases = "ease,popularity";
    if (all.contains("base_models")) {
        if (!all["base_models"].is_string())
            throw invalid_input("parameter \"base_models\" must be a string of comma-separated algorithm names");
        bases = all["base_models"].get<std::string>();
        all.erase("base_models");
    }
    for (const std::string& name : name_list(bases)) {
        if (name == "ranker")
            throw invalid_input("a ranker cannot be a base model of a ranker", "Use base models such as ease or als.");
        find_algorithm(name);  // unknown names: the registry's error
        for (const auto& b : c.bases)
            if (b.first == name) throw invalid_input("base model \"" + name + "\" is listed twice");
        c.bases.emplace_back(name, json::object());
    }
    for (const char* key : {"cutoff", "now"})
        if (all.contains(key)) {
            (std::string(key) == "cutoff" ? c.cutoff : c.now) = read_time(all[key], key);
            all.erase(key);
        }
    json own = json::object();
    for (auto& [key, value] : all.items()) {
        const size_t dot = key.find('.');
        if (dot == std::string::npos) {
            own[key] = value;
            continue;
        }
        const std::string prefix = key.substr(0, dot), rest = key.substr(dot + 1);
        if (prefix == "learner") {
            if (c.learner == "auto")
                throw invalid_input("parameter \"" + key + "\" needs a named learner: \"auto\" trains each with its defaults",
                                    "Name the learner, or leave its parameters out.");
            c.learner_params[rest] = value;
            continue;
        }
        bool found = false;
        for (auto& b : c.bases)
            if (b.first == prefix) {
                b.second[rest] = value;
                found = true;
            }
        if (!found)
            throw invalid_input("unknown parameter \"" + key + "\" for ranker",
                                "Prefixed parameters are \"learner.<name>\" or \"<base model>.<name>\" for a model in "
                                "base_models.");
    }
    for (auto& b : c.bases)
        if (b.first == "ease" && !b.second.contains("max_items"))
            b.second["max_items"] = std::max<uint32_t>(1, std::min(n_items, kEaseDefaultMaxItems));
    Params p = Params::parse_json(own.dump());
    c.per_model = uint32_t(p.integer(kPerModel));
    c.rebuys = uint32_t(p.integer(kRebuys));
    c.window = int64_t(std::llround(p.number(kWindowDays) * double(features::kSecondsPerDay)));
    c.validation_fraction = p.number(kValidation);
    c.seed = uint64_t(p.integer(kSeed));
    c.top_categories = uint32_t(p.integer(kTopCategories));
    c.windows = uint32_t(p.integer(kWindows));
    c.last_basket = int64_t(std::llround(p.number(kLastBasket) * double(features::kSecondsPerDay)));
    c.best_sellers = uint32_t(p.integer(kBestSellers));
    c.best_seller_days = p.number(kBestSellerDays);
    c.negatives = uint32_t(p.integer(kNegatives));
    p.reject_unknown("ranker");
    return c;
}

IdMap dense_ids(uint32_t n) {
    IdMap m;
    for (uint32_t i = 0; i < n; ++i) m.intern(int64_t(i));
    return m;
}

Basket basket_of(const CsrMatrix& m, uint32_t user) {
    auto items = m.row_indices(user);
    auto weights = m.row_values(user);
    return {std::vector<uint32_t>(items.begin(), items.end()), std::vector<float>(weights.begin(), weights.end())};
}

struct Base {
    std::string name;
    std::string params_json;  // effective
    std::unique_ptr<Scorer> scorer;
};

std::vector<Base> train_bases(const Config& c, const CsrMatrix& x, const Context& ctx) {
    Interactions data;
    data.users = dense_ids(x.rows);
    data.items = dense_ids(x.cols);
    data.matrix = x;
    std::vector<Base> out;
    for (const auto& [name, pj] : c.bases) {
        const Algorithm& alg = find_algorithm(name);
        Params p = Params::parse_json(pj.dump());
        auto scorer = alg.train(data, p, ctx);
        p.reject_unknown(name);
        out.push_back({name, p.effective_json(), std::move(scorer)});
    }
    return out;
}

}  // namespace

struct RankerScorer::State {
    Config config;
    std::string params_json;
    uint32_t n_users = 0, n_items = 0;
    int64_t now = 0;
    std::vector<Purchase> purchases;
    features::ItemAttributes attributes;
    features::Options options;
    std::vector<Base> bases;
    std::unique_ptr<FeatureBuilder> builder;
    std::unique_ptr<learn::Learner> learner;
    std::vector<std::string> names;
    std::vector<uint32_t> best_sellers;  // features::recent_best_sellers at now (not stored: rebuilt on read)
};

namespace {

constexpr size_t kPerBase = 3;  // columns per base model

// The columns a base model adds, in the order of Candidates::extra.
std::vector<std::string> base_column_names(const std::vector<Base>& bases) {
    std::vector<std::string> names;
    for (const auto& b : bases)
        for (const char* suffix : {"_score", "_rank", "_last_score"}) names.push_back(b.name + suffix);
    return names;
}

// Scratch for one user's candidates.
struct Candidates {
    std::vector<uint32_t> items;
    std::vector<std::vector<float>> extra;  // kPerBase per base: score, rank, last score
    std::vector<float> scores, rank;
    // per item, == stamp when the user bought it / it is a candidate / it is in the recent basket
    std::vector<uint32_t> own, taken, recent;
    uint32_t stamp = 0;
};

// The user's candidates (appended to c.items / c.extra): re-buys first, then
// each base model's top items the user has not bought, then the first
// config.best_sellers of `best_sellers` the user has not bought, each item once.
void user_candidates(const std::vector<Base>& bases, const FeatureBuilder& fb, const Config& config,
                     std::span<const uint32_t> best_sellers, const Basket& basket, uint32_t user, Candidates& c) {
    const uint32_t n_items = fb.n_items();
    if (c.own.size() != n_items) {
        c.own.assign(n_items, 0);
        c.taken.assign(n_items, 0);
        c.recent.assign(n_items, 0);
        c.stamp = 0;
    }
    if (c.extra.size() != kPerBase * bases.size()) c.extra.assign(kPerBase * bases.size(), {});
    if (++c.stamp == 0) {
        std::fill(c.own.begin(), c.own.end(), 0);
        std::fill(c.taken.begin(), c.taken.end(), 0);
        std::fill(c.recent.begin(), c.recent.end(), 0);
        c.stamp = 1;
    }
    const uint32_t st = c.stamp;
    const size_t first = c.items.size();

    auto hist = fb.user_items(user);
    std::vector<const features::UserItemStats*> rebuys;
    rebuys.reserve(hist.size());
    int64_t latest = std::numeric_limits<int64_t>::min();
    for (const auto& s : hist) {
        rebuys.push_back(&s);
        c.own[s.item] = st;
        latest = std::max(latest, s.last_ts);
    }
    // The recent basket: the basket's items the user bought last (within
    // config.last_basket of their latest purchase), for the base models'
    // affinity with it (<base>_last_score).
    for (const auto& s : hist)
        if (s.last_ts >= latest - config.last_basket) c.recent[s.item] = st;
    Basket last;
    for (size_t k = 0; k < basket.items.size(); ++k)
        if (c.recent[basket.items[k]] == st) {
            last.items.push_back(basket.items[k]);
            last.weights.push_back(basket.weights.empty() ? 1.0f : basket.weights[k]);
        }
    for (uint32_t i : basket.items) c.own[i] = st;
    std::sort(rebuys.begin(), rebuys.end(), [](const auto* a, const auto* b) {
        if (a->days != b->days) return a->days > b->days;
        if (a->last_ts != b->last_ts) return a->last_ts > b->last_ts;
        return a->item < b->item;
    });
    if (config.rebuys > 0 && rebuys.size() > config.rebuys) rebuys.resize(config.rebuys);
    for (const auto* s : rebuys) {
        c.items.push_back(s->item);
        c.taken[s->item] = st;
    }
    auto take = [&](uint32_t item) {
        if (c.taken[item] == st) return;
        c.items.push_back(item);
        c.taken[item] = st;
    };
    std::vector<std::vector<Scored>> lists(bases.size());
    std::vector<std::vector<float>> all_scores(bases.size());
    for (size_t b = 0; b < bases.size(); ++b) {
        c.scores.assign(n_items, 0.0f);
        bases[b].scorer->score(basket, user, c.scores);
        const bool zmu = bases[b].scorer->zero_means_unknown();
        lists[b] = top_k(std::span<const float>(c.scores), config.per_model,
                         [&](uint32_t i) { return c.own[i] != st && (!zmu || c.scores[i] > 0.0f); });
        for (const Scored& s : lists[b]) take(s.item);
        all_scores[b].swap(c.scores);
    }
    // What the shop sells now: the first best_sellers the user has not bought.
    uint32_t sellers = 0;
    for (size_t k = 0; k < best_sellers.size() && sellers < config.best_sellers; ++k)
        if (c.own[best_sellers[k]] != st) {
            take(best_sellers[k]);
            ++sellers;
        }
    for (size_t b = 0; b < bases.size(); ++b) {
        c.rank.assign(n_items, std::nanf(""));
        for (size_t r = 0; r < lists[b].size(); ++r) c.rank[lists[b][r].item] = float(r + 1);
        // As an anonymous basket: a model with user factors (ALS, BPR) would
        // otherwise score the user's whole history again.
        c.scores.assign(n_items, 0.0f);
        bases[b].scorer->score(last, std::nullopt, c.scores);
        for (size_t k = first; k < c.items.size(); ++k) {
            c.extra[kPerBase * b].push_back(all_scores[b][c.items[k]]);
            c.extra[kPerBase * b + 1].push_back(c.rank[c.items[k]]);
            c.extra[kPerBase * b + 2].push_back(c.scores[c.items[k]]);
        }
    }
}

// The label pairs of one user (labels sorted).
std::span<const UserItem> labels_of(std::span<const UserItem> labels, uint32_t user) {
    const auto lo = std::lower_bound(labels.begin(), labels.end(), UserItem{user, 0});
    const auto hi = std::lower_bound(lo, labels.end(), UserItem{user + 1, 0});
    return {lo, hi};
}

// Keeps all of the user's bought candidates (from `first` on) and a seeded
// sample of config.negatives unbought ones, in candidate order, so that the
// training rows stay bounded as the candidates grow.
void sample_negatives(Candidates& c, size_t first, std::span<const UserItem> labels, uint32_t user,
                      const Config& config, uint32_t window) {
    const auto mine = labels_of(labels, user);
    std::vector<uint8_t> bought(c.items.size() - first);
    std::vector<uint32_t> unbought;
    for (size_t k = first; k < c.items.size(); ++k) {
        bought[k - first] = std::binary_search(mine.begin(), mine.end(), UserItem{user, c.items[k]});
        if (!bought[k - first]) unbought.push_back(uint32_t(k - first));
    }
    if (unbought.size() <= config.negatives) return;
    // A partial Fisher-Yates shuffle picks the kept ones.
    SplitMix64 rng((config.seed * 0xBF58476D1CE4E5B9ull + user) * 0x94D049BB133111EBull + window);
    for (uint32_t k = 0; k < config.negatives; ++k)
        std::swap(unbought[k], unbought[k + rng.below(uint32_t(unbought.size() - k))]);
    for (uint32_t k = 0; k < config.negatives; ++k) bought[unbought[k]] = 1;
    size_t out = first;
    for (size_t k = first; k < c.items.size(); ++k) {
        if (!bought[k - first]) continue;
        c.items[out] = c.items[k];
        for (auto& col : c.extra) col[out] = col[k];
        ++out;
    }
    c.items.resize(out);
    for (auto& col : c.extra) col.resize(out);
}

std::vector<features::ExtraColumn> extra_columns(const std::vector<Base>& bases, const Candidates& c,
                                                 std::vector<std::string>& names) {
    names = base_column_names(bases);
    std::vector<features::ExtraColumn> out;
    for (size_t j = 0; j < names.size(); ++j) out.push_back({names[j], c.extra[j]});
    return out;
}

float sigmoid(float m) { return float(1.0 / (1.0 + std::exp(-double(m)))); }

}  // namespace

void check_params(std::string_view params_json) { parse_config(params_json, 1); }

double group_ndcg10(std::span<const float> margins, std::span<const float> y, std::span<const uint32_t> groups) {
    double sum = 0;
    size_t n = 0, row = 0;
    std::vector<uint32_t> order;
    for (uint32_t size : groups) {
        order.resize(size);
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) { return margins[row + a] > margins[row + b]; });
        double dcg = 0, ideal = 0;
        size_t relevant = 0;
        for (uint32_t k = 0; k < size; ++k) relevant += y[row + k] > 0.5f;
        for (size_t r = 0; r < std::min<size_t>(10, size); ++r) {
            if (y[row + order[r]] > 0.5f) dcg += 1 / std::log2(double(r) + 2);
            if (r < relevant) ideal += 1 / std::log2(double(r) + 2);
        }
        if (relevant > 0) {
            sum += dcg / ideal;
            ++n;
        }
        row += size;
    }
    return n ? sum / double(n) : std::nan("");
}

int64_t parse_time(std::string_view t) {
    auto bad = [&]() {
        return invalid_input("cannot read \"" + std::string(t) + "\" as a UTC time",
                             "Write \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\", or seconds since the epoch.");
    };
    auto num = [&](size_t at, size_t len) {
        if (at + len > t.size()) throw bad();
        int v = 0;
        for (size_t i = at; i < at + len; ++i) {
            if (t[i] < '0' || t[i] > '9') throw bad();
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    if (t.size() < 10 || t[4] != '-' || t[7] != '-') throw bad();
    const int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
    int h = 0, mi = 0, s = 0;
    size_t pos = 10;
    if (pos < t.size() && (t[pos] == 'T' || t[pos] == ' ')) {
        h = num(pos + 1, 2);
        if (pos + 3 >= t.size() || t[pos + 3] != ':') throw bad();
        mi = num(pos + 4, 2);
        pos += 6;
        if (pos < t.size() && t[pos] == ':') {
            s = num(pos + 1, 2);
            pos += 3;
        }
    }
    if (pos < t.size() && t[pos] == 'Z') ++pos;
    if (pos != t.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw bad();
    // Days since 1970-01-01 in the proleptic Gregorian calendar, counting
    // years from March so that the leap day ends a year.
    const int yy = mo <= 2 ? y - 1 : y;
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const int yoe = yy - era * 400;
    const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const int64_t days = int64_t(era) * 146097 + doe - 719468;
    return days * features::kSecondsPerDay + h * 3600 + mi * 60 + s;
}

TrainingRows training_rows(std::span<const Purchase> purchases, uint32_t n_users, uint32_t n_items,
                           const features::ItemAttributes& attributes, std::string_view params_json,
                           const Context& ctx) {
    const Config c = parse_config(params_json, n_items);
    features::validate_purchases(purchases, n_users, n_items);
    TrainingRows out;
    if (c.cutoff) {
        out.cutoff = *c.cutoff;
        out.window = c.window;
    } else {
        const auto t = features::default_split_times(purchases, c.window);
        out.cutoff = t.cutoff;
        out.window = t.window;
    }
    // Window w: cutoff - w * window. The latest fixes the columns' categories
    // and gives the reported recall; earlier ones add rows (a customer keeps
    // their validation draw in every window).
    for (uint32_t w = 0; w < c.windows; ++w) {
        const int64_t cutoff = out.cutoff - int64_t(w) * out.window;
        features::TimeSplit split;
        try {
            split = features::time_split(purchases, cutoff, out.window, ctx);
        } catch (const Error& e) {
            if (w == 0 || e.kind() != ErrorKind::InvalidInput) throw;
            break;  // an earlier window with no history or labels: stop there
        }
        const CsrMatrix hist = purchase_matrix(split.history, n_users, n_items);
        const std::vector<Base> bases = train_bases(c, hist, ctx);
        features::Options opt;
        opt.top_categories = c.top_categories;
        if (w > 0) {
            opt.fixed_categories = out.top_categories;
            if (out.top_categories.empty()) opt.top_categories = 0;
        }
        FeatureBuilder fb(purchases, n_users, n_items, cutoff, attributes, opt, ctx);
        if (w == 0) out.top_categories = fb.top_categories();

        const std::vector<uint32_t> sellers =
            c.best_sellers ? features::recent_best_sellers(purchases, n_items, cutoff, c.best_seller_days, ctx)
                           : std::vector<uint32_t>{};
        std::vector<uint32_t> users;
        for (const UserItem& l : split.labels)
            if (users.empty() || users.back() != l.user) users.push_back(l.user);
        Candidates cand;
        std::vector<UserItem> pairs;
        features::CandidateRecall recall;  // of all candidates, before sampling
        for (uint32_t u : users) {
            ctx.cancel_point();
            const size_t before = cand.items.size();
            user_candidates(bases, fb, c, sellers, basket_of(hist, u), u, cand);
            SplitMix64 rng(c.seed * 0x9E3779B97F4A7C15ull + u);
            const bool validation = double(rng.next() >> 11) * 0x1.0p-53 < c.validation_fraction;
            if (w == 0) {
                std::vector<UserItem> mine;
                for (size_t k = before; k < cand.items.size(); ++k) mine.push_back({u, cand.items[k]});
                const auto r = features::candidate_recall(mine, labels_of(split.labels, u), fb, ctx);
                recall.labels += r.labels, recall.found += r.found;
                recall.new_labels += r.new_labels, recall.new_found += r.new_found;
            }
            if (c.negatives > 0 && !validation) sample_negatives(cand, before, split.labels, u, c, w);
            const size_t n = cand.items.size() - before;
            if (n == 0) continue;
            for (size_t k = before; k < cand.items.size(); ++k) pairs.push_back({u, cand.items[k]});
            out.groups.push_back(uint32_t(n));
            out.group_users.push_back(u);
            out.validation.push_back(validation);
        }
        std::vector<std::string> names;
        auto extra = extra_columns(bases, cand, names);
        features::FeatureMatrix x = fb.compute(pairs, extra, ctx);
        const std::vector<float> y = features::candidate_targets(pairs, split.labels, ctx);
        if (w == 0) {
            out.recall = recall;
            out.x = std::move(x);
        } else {
            if (x.names != out.x.names) throw Error(ErrorKind::Internal, "ranker: training windows' columns differ");
            out.x.values.insert(out.x.values.end(), x.values.begin(), x.values.end());
            out.x.rows += x.rows;
        }
        out.y.insert(out.y.end(), y.begin(), y.end());
        out.pairs.insert(out.pairs.end(), pairs.begin(), pairs.end());
    }
    return out;
}

RankerScorer::RankerScorer(std::unique_ptr<State> s) : s_(std::move(s)) {}
RankerScorer::~RankerScorer() = default;
const std::vector<std::string>& RankerScorer::feature_names() const { return s_->names; }

void RankerScorer::margins(std::span<const Basket> baskets, std::span<const uint32_t> users,
                           std::vector<UserItem>& pairs, std::vector<uint32_t>& rows,
                           std::vector<float>& margins) const {
    Candidates c;
    pairs.clear();
    rows.clear();
    for (size_t r = 0; r < users.size(); ++r) {
        if (users[r] >= s_->n_users) continue;
        const size_t before = c.items.size();
        user_candidates(s_->bases, *s_->builder, s_->config, s_->best_sellers, baskets[r], users[r], c);
        for (size_t k = before; k < c.items.size(); ++k) {
            pairs.push_back({users[r], c.items[k]});
            rows.push_back(uint32_t(r));
        }
    }
    margins.clear();
    if (pairs.empty()) return;
    std::vector<std::string> names;
    auto extra = extra_columns(s_->bases, c, names);
    Context one;
    const features::FeatureMatrix x = s_->builder->compute(pairs, extra, one);
    margins.assign(pairs.size(), 0.0f);
    s_->learner->predict(x.values.data(), x.rows, margins.data());
}

void RankerScorer::candidates(const Basket& basket, uint32_t user, std::vector<uint32_t>& items,
                              std::vector<float>& margins_out) const {
    std::vector<UserItem> pairs;
    std::vector<uint32_t> rows;
    margins(std::span<const Basket>(&basket, 1), std::span<const uint32_t>(&user, 1), pairs, rows, margins_out);
    items.clear();
    for (const UserItem& p : pairs) items.push_back(p.item);
}

void RankerScorer::score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const {
    if (!user) return;
    const uint32_t u = *user;
    score_block(std::span<const Basket>(&basket, 1), std::span<const uint32_t>(&u, 1), uint32_t(out.size()), out);
}

void RankerScorer::score_block(std::span<const Basket> baskets, std::span<const uint32_t> users, uint32_t n_items,
                               std::span<float> out) const {
    std::vector<UserItem> pairs;
    std::vector<uint32_t> rows;
    std::vector<float> m;
    margins(baskets, users, pairs, rows, m);
    for (size_t k = 0; k < pairs.size(); ++k)
        out[size_t(rows[k]) * n_items + pairs[k].item] = std::max(sigmoid(m[k]), 1e-30f);
}

std::vector<FeatureContribution> RankerScorer::explain_features(const Basket& basket, uint32_t user,
                                                                uint32_t item) const {
    Candidates c;
    user_candidates(s_->bases, *s_->builder, s_->config, s_->best_sellers, basket, user, c);
    const auto at = std::find(c.items.begin(), c.items.end(), item);
    if (at == c.items.end())
        throw invalid_input("the item is not among the user's candidates, so the ranker did not score it",
                            "Only the items recommend() returns from the ranker (not popularity fill-ins) have "
                            "an explanation.");
    std::vector<std::string> names;
    auto extra = extra_columns(s_->bases, c, names);
    const UserItem pair{user, item};
    const size_t k = size_t(at - c.items.begin());
    std::vector<features::ExtraColumn> one_extra;
    std::vector<std::vector<float>> vals(extra.size());
    for (size_t j = 0; j < extra.size(); ++j) {
        vals[j] = {extra[j].values[k]};
        one_extra.push_back({extra[j].name, vals[j]});
    }
    Context one;
    const features::FeatureMatrix x = s_->builder->compute(std::span<const UserItem>(&pair, 1), one_extra, one);
    std::vector<double> parts;
    if (!s_->learner->contributions(x.values.data(), parts))
        throw invalid_input("learner " + s_->learner->kind() + " cannot explain its scores",
                            "Train the ranker with a tree learner or logistic for explanations.");
    std::vector<FeatureContribution> out;
    for (size_t j = 0; j < x.cols; ++j) out.push_back({x.names[j], double(x.values[j]), parts[j]});
    out.push_back({"bias", std::nan(""), parts.back()});
    return out;
}

std::vector<std::pair<std::string, double>> RankerScorer::importance() const {
    std::vector<std::pair<std::string, double>> out;
    auto imp = s_->learner->importance();
    if (!imp) return out;
    for (size_t j = 0; j < imp->size(); ++j) out.emplace_back(s_->names[j], (*imp)[j]);
    return out;
}

void RankerScorer::write(ByteWriter& w) const {
    const State& s = *s_;
    w.put<uint32_t>(kFormat);
    w.put_string(s.params_json);
    w.put<uint32_t>(s.n_users);
    w.put<uint32_t>(s.n_items);
    w.put<int64_t>(s.now);
    w.put_array(s.options.fixed_categories);
    w.put<uint32_t>(s.options.top_categories);
    w.put<double>(s.options.recent_days);
    w.put<double>(s.options.trend_base_days);
    w.put<uint32_t>(s.attributes.n_categories);
    w.put_array(s.attributes.category);
    w.put_array(s.attributes.list_price);
    std::vector<uint32_t> pu, pi;
    std::vector<int64_t> pt;
    std::vector<double> pq, pp;
    for (const Purchase& p : s.purchases) {
        pu.push_back(p.user);
        pi.push_back(p.item);
        pt.push_back(p.ts);
        pq.push_back(p.quantity);
        pp.push_back(p.price);
    }
    w.put_array(pu);
    w.put_array(pi);
    w.put_array(pt);
    w.put_array(pq);
    w.put_array(pp);
    w.put<uint32_t>(uint32_t(s.bases.size()));
    for (const Base& b : s.bases) {
        w.put_string(b.name);
        w.put_string(b.params_json);
        ByteWriter sub;
        b.scorer->write(sub);
        w.put_array(sub.bytes());
    }
    s.learner->write(w);
    w.put<uint32_t>(uint32_t(s.names.size()));
    for (const auto& n : s.names) w.put_string(n);
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items) {
    auto s = std::make_unique<RankerScorer::State>();
    if (r.get<uint32_t>() != kFormat) throw corrupted("ranker payload version is not supported");
    s->params_json = r.get_string();
    s->n_users = r.get<uint32_t>();
    s->n_items = r.get<uint32_t>();
    if (s->n_users != n_users || s->n_items != n_items) throw corrupted("ranker sizes disagree with the model's");
    s->now = r.get<int64_t>();
    s->options.fixed_categories = r.get_array<uint32_t>();
    s->options.top_categories = r.get<uint32_t>();
    s->options.recent_days = r.get<double>();
    s->options.trend_base_days = r.get<double>();
    s->attributes.n_categories = r.get<uint32_t>();
    s->attributes.category = r.get_array<uint32_t>();
    s->attributes.list_price = r.get_array<double>();
    auto pu = r.get_array<uint32_t>();
    auto pi = r.get_array<uint32_t>();
    auto pt = r.get_array<int64_t>();
    auto pq = r.get_array<double>();
    auto pp = r.get_array<double>();
    if (pi.size() != pu.size() || pt.size() != pu.size() || pq.size() != pu.size() || pp.size() != pu.size())
        throw corrupted("ranker purchases have inconsistent lengths");
    s->purchases.resize(pu.size());
    for (size_t k = 0; k < pu.size(); ++k) s->purchases[k] = {pu[k], pi[k], pt[k], pq[k], pp[k]};
    try {
        s->config = parse_config(s->params_json, n_items);
        Context ctx;
        s->builder = std::make_unique<FeatureBuilder>(s->purchases, n_users, n_items, s->now, s->attributes,
                                                      s->options, ctx);
        if (s->config.best_sellers)
            s->best_sellers = features::recent_best_sellers(s->purchases, n_items, s->now, s->config.best_seller_days, ctx);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Corrupted) throw;
        throw corrupted(std::string("ranker payload is inconsistent: ") + e.what());
    }
    const uint32_t n_bases = r.get<uint32_t>();
    if (n_bases != s->config.bases.size()) throw corrupted("ranker base models disagree with its parameters");
    for (uint32_t b = 0; b < n_bases; ++b) {
        Base base;
        base.name = r.get_string();
        base.params_json = r.get_string();
        if (base.name != s->config.bases[b].first) throw corrupted("ranker base model name disagrees");
        const std::vector<uint8_t> bytes = r.get_array<uint8_t>();
        ByteReader sub(bytes.data(), bytes.size());
        base.scorer = find_algorithm(base.name).read(sub, n_users, n_items);
        if (sub.remaining() != 0) throw corrupted("ranker base model has trailing bytes");
        s->bases.push_back(std::move(base));
    }
    s->learner = learn::read_learner(r);
    const uint32_t n_names = r.get<uint32_t>();
    for (uint32_t k = 0; k < n_names && k < 100000; ++k) s->names.push_back(r.get_string());
    std::vector<std::string> expect = s->builder->names();
    for (auto& n : base_column_names(s->bases)) expect.push_back(std::move(n));
    if (s->names != expect || s->learner->n_features() != expect.size())
        throw corrupted("ranker feature columns disagree with its learner");
    return std::make_unique<RankerScorer>(std::move(s));
}

Model train_ranker(std::span<const Purchase> purchases, IdMap users, IdMap items,
                   const features::ItemAttributes& attributes, std::string_view params_json, const Context& ctx,
                   Report* report) {
    const uint32_t n_users = users.size(), n_items = items.size();
    auto s = std::make_unique<RankerScorer::State>();
    s->config = parse_config(params_json, n_items);
    const Config& c = s->config;
    TrainingRows rows = training_rows(purchases, n_users, n_items, attributes, params_json, ctx);

    // Training, validation (early stopping) and, for learner "auto", choice
    // sets, by user group: auto gives every other validation customer (a
    // seeded draw) to the choice, so that boosted and mlp, which stop early on
    // the validation set, are not judged on it.
    struct Part {
        std::vector<float> x, y;
        std::vector<uint32_t> g;
        bool both_labels() const {
            return std::any_of(y.begin(), y.end(), [](float v) { return v > 0.5f; }) &&
                   std::any_of(y.begin(), y.end(), [](float v) { return v < 0.5f; });
        }
        void take(Part& o) {
            x.insert(x.end(), o.x.begin(), o.x.end());
            y.insert(y.end(), o.y.begin(), o.y.end());
            g.insert(g.end(), o.g.begin(), o.g.end());
            o = {};
        }
        learn::TrainingSet set(size_t d) const { return {x.data(), y.size(), uint32_t(d), y.data(), g}; }
    };
    const bool choose = c.learner == "auto";
    uint64_t positives = 0;
    Part pt, pv, pc;
    const size_t d = rows.x.cols;
    size_t row = 0;
    Report rep;
    for (size_t g = 0; g < rows.groups.size(); ++g) {
        const bool v = rows.validation[g];
        SplitMix64 half(c.seed * 0xD1B54A32D192ED03ull + rows.group_users[g]);
        Part& p = !v ? pt : choose && (half.next() & 1) ? pc : pv;
        p.g.push_back(rows.groups[g]);
        (v ? rep.validation_users : rep.training_users) += 1;
        p.x.insert(p.x.end(), rows.x.values.begin() + row * d, rows.x.values.begin() + (row + rows.groups[g]) * d);
        p.y.insert(p.y.end(), rows.y.begin() + row, rows.y.begin() + row + rows.groups[g]);
        for (size_t k = row; k < row + rows.groups[g]; ++k) positives += rows.y[k] > 0.5f;
        row += rows.groups[g];
    }
    if (positives == 0)
        throw invalid_input("no candidate of any user was bought in the label window, so there is nothing to learn",
                            "Raise candidates_per_model, or move the cutoff so that the label window holds purchases "
                            "of items the users bought before.");
    rows.x.values.clear();
    rows.x.values.shrink_to_fit();
    const bool use_validation = pt.both_labels() && pv.both_labels() && (!choose || pc.both_labels());
    if (choose && !use_validation)
        throw invalid_input("learner \"auto\" chooses by the nDCG@10 of held-out customers, but too few are held out "
                            "to have both bought and unbought candidates",
                            "Raise validation_fraction, or name the learner.");
    if (!use_validation) {  // too few users to hold some out: train on all of them
        pt.take(pv);
        pt.take(pc);
    }
    const learn::TrainingSet train = pt.set(d), valid = pv.set(d);
    // Held-out customers' nDCG@10 of a fitted learner: the choice set's for
    // auto, else the validation set's.
    auto held_out_ndcg = [&](const learn::Learner& l) {
        const Part& p = choose ? pc : pv;
        std::vector<float> m(p.y.size());
        l.predict(p.x.data(), p.y.size(), m.data());
        return group_ndcg10(m, p.y, p.g);
    };
    if (choose) {
        for (const std::string& kind : c.auto_learners) {
            auto l = learn::fit_learner(kind, train, &valid, learner_params(kind, json::object()), ctx);
            const double v = held_out_ndcg(*l);
            rep.learner_validation.emplace_back(kind, v);
            if (!s->learner || v > *rep.validation_ndcg) {  // ties: the first listed
                s->learner = std::move(l);
                rep.validation_ndcg = v;
            }
        }
    } else {
        s->learner = learn::fit_learner(c.learner, train, use_validation ? &valid : nullptr,
                                        learner_params(c.learner, c.learner_params), ctx);
        if (use_validation) rep.validation_ndcg = held_out_ndcg(*s->learner);
    }
    pt = {};
    pv = {};
    pc = {};

    // Serving: everything refreshed on all purchases.
    int64_t last = purchases.front().ts;
    for (const Purchase& p : purchases) last = std::max(last, p.ts);
    s->now = c.now ? *c.now : last + 1;
    s->n_users = n_users;
    s->n_items = n_items;
    s->purchases.assign(purchases.begin(), purchases.end());
    s->attributes = attributes;
    s->options.top_categories = c.top_categories;
    s->options.fixed_categories = rows.top_categories;
    if (rows.top_categories.empty()) s->options.top_categories = 0;
    const CsrMatrix all = purchase_matrix(purchases, n_users, n_items);
    s->bases = train_bases(c, all, ctx);
    s->builder = std::make_unique<FeatureBuilder>(s->purchases, n_users, n_items, s->now, s->attributes, s->options, ctx);
    if (c.best_sellers)
        s->best_sellers = features::recent_best_sellers(s->purchases, n_items, s->now, c.best_seller_days, ctx);
    s->names = s->builder->names();
    for (auto& n : base_column_names(s->bases)) s->names.push_back(std::move(n));
    if (s->names != rows.x.names)
        throw Error(ErrorKind::Internal, "ranker: serving columns differ from the training columns");

    // The effective parameters, flat.
    Params eff;
    // learner "auto": the chosen kind (the report keeps every kind's score;
    // the recipe keeps "auto", so a retrain chooses again).
    eff.set("learner", s->learner->kind());
    // Nulls (a default derived from the data) are left out: they read back as the default.
    auto value = [](const json& v) {
        return v.is_boolean() ? Params::Value(v.get<bool>())
               : v.is_string() ? Params::Value(v.get<std::string>())
                               : Params::Value(v.get<double>());
    };
    const json learner_params = json::parse(s->learner->params_json());
    for (auto& [k, v] : learner_params.items())
        if (!v.is_null()) eff.set("learner." + k, value(v));
    std::string base_names;
    for (const Base& b : s->bases) {
        base_names += (base_names.empty() ? "" : ",") + b.name;
        const json base_params = json::parse(b.params_json);
        for (auto& [k, v] : base_params.items())
            if (!v.is_null()) eff.set(b.name + "." + k, value(v));
    }
    eff.set("base_models", base_names);
    eff.set("candidates_per_model", double(c.per_model));
    eff.set("rebuy_candidates", double(c.rebuys));
    eff.set("cutoff", double(rows.cutoff));
    eff.set("now", double(s->now));
    eff.set("label_window_days", double(rows.window) / double(features::kSecondsPerDay));
    eff.set("validation_fraction", c.validation_fraction);
    eff.set("seed", double(c.seed));
    eff.set("top_categories", double(c.top_categories));
    eff.set("training_windows", double(c.windows));
    eff.set("last_basket_days", double(c.last_basket) / double(features::kSecondsPerDay));
    eff.set("best_seller_candidates", double(c.best_sellers));
    eff.set("best_seller_days", c.best_seller_days);
    eff.set("training_negatives", double(c.negatives));
    s->params_json = eff.to_json();

    rep.cutoff = rows.cutoff;
    rep.window = rows.window;
    rep.now = s->now;
    rep.rows = rows.y.size();
    rep.positives = positives;
    rep.recall = rows.recall;
    rep.feature_names = s->names;
    rep.learner = s->learner->kind();
    if (!use_validation) {
        rep.training_users += rep.validation_users;
        rep.validation_users = 0;
    }
    if (report) *report = rep;

    std::string params = s->params_json;
    return model_from_purchases("ranker", std::move(params), purchases, std::move(users), std::move(items),
                                std::make_unique<RankerScorer>(std::move(s)));
}

Model model_from_purchases(std::string algorithm, std::string params_json, std::span<const Purchase> purchases,
                           IdMap users, IdMap items, std::unique_ptr<Scorer> scorer) {
    Model m;
    m.algorithm = std::move(algorithm);
    m.params_json = std::move(params_json);
    m.rows_added = purchases.size();
    m.history = purchase_matrix(purchases, users.size(), items.size());
    m.popularity.assign(items.size(), 0.0f);
    for (uint32_t i : m.history.indices) m.popularity[i] += 1.0f;
    m.users = std::move(users);
    m.items = std::move(items);
    m.scorer = std::move(scorer);
    m.order_by_popularity();
    return m;
}

std::string Report::to_json() const {
    json j = {{"cutoff", cutoff},
              {"label_window_days", double(window) / double(features::kSecondsPerDay)},
              {"now", now},
              {"learner", learner},
              {"training_users", training_users},
              {"validation_users", validation_users},
              {"rows", rows},
              {"positives", positives},
              {"label_pairs", recall.labels},
              {"candidate_recall", recall.labels ? json(recall.recall()) : json()},
              {"new_label_pairs", recall.new_labels},
              {"candidate_recall_new", recall.new_labels ? json(recall.new_recall()) : json()},
              {"features", feature_names}};
    if (validation_ndcg) j["validation_ndcg@10"] = *validation_ndcg;
    if (!learner_validation.empty()) {
        json tried = json::object();
        for (const auto& [kind, v] : learner_validation) tried[kind] = v;
        j["learner_validation_ndcg@10"] = tried;
    }
    return j.dump();
}

namespace {
std::unique_ptr<Scorer> train_from_interactions(const Interactions&, const Params&, const Context&) {
    throw invalid_input("a ranker is trained from purchases with timestamps, not from interactions",
                        "Use recsys.train_ranker(name, purchases_query, items_query, params).");
}
}  // namespace

const Algorithm algorithm{
    "ranker",
    "second-stage learner over purchase features, re-ranking candidates of base models and re-buys",
    kParams,
    &train_from_interactions,
    &read,
    nullptr,
    {.learns_users = true, .fold_in = false, .similar_items = false, .explain = false, .incremental = false,
     .tuned_by_default = false},
};

}  // namespace recsys::ranker
