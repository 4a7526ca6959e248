#include "blend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "errors.h"
#include "parallel.h"
#include "recommend.h"
#include "topk.h"

namespace recsys::blend {

namespace {

struct Part {
    std::shared_ptr<const Model> model;
    double weight;
};

// The user's own items, sorted, to leave out of the normalisation.
std::vector<uint32_t> sorted_items(const Basket& basket) {
    std::vector<uint32_t> own = basket.items;
    std::sort(own.begin(), own.end());
    return own;
}

// min and max of `s` over the items not in `own` (sorted); nullopt if no
// candidate is left or they all score alike.
std::optional<std::pair<float, float>> candidate_range(std::span<const float> s, std::span<const uint32_t> own) {
    float lo = INFINITY, hi = -INFINITY;
    size_t next = 0;
    for (uint32_t i = 0; i < s.size(); ++i) {
        while (next < own.size() && own[next] < i) ++next;
        if (next < own.size() && own[next] == i) continue;
        lo = std::min(lo, s[i]);
        hi = std::max(hi, s[i]);
    }
    if (!(hi > lo) || !std::isfinite(hi - lo)) return std::nullopt;
    return std::pair{lo, hi};
}

// out += weight x min-max normalised s.
void add_normalised(std::span<const float> s, std::span<const uint32_t> own, double weight, std::span<float> out) {
    auto range = candidate_range(s, own);
    if (!range || weight == 0) return;
    const double scale = weight / (double(range->second) - double(range->first));
    for (size_t i = 0; i < s.size(); ++i) out[i] += float((double(s[i]) - range->first) * scale);
}

class BlendScorer : public Scorer {
public:
    explicit BlendScorer(std::vector<Part> parts) : parts_(std::move(parts)) {}

    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override {
        const auto own = sorted_items(basket);
        std::vector<float> s(out.size());
        for (const Part& p : parts_) {
            std::fill(s.begin(), s.end(), 0.0f);
            p.model->scorer->score(basket, user, s);
            add_normalised(s, own, p.weight, out);
        }
    }

    // Each component scores the block its own (fastest) way.
    void score_block(std::span<const Basket> baskets, std::span<const uint32_t> users, uint32_t n_items,
                     std::span<float> out) const override {
        std::vector<std::vector<uint32_t>> own(baskets.size());
        for (size_t r = 0; r < baskets.size(); ++r) own[r] = sorted_items(baskets[r]);
        std::vector<float> s(out.size());
        for (const Part& p : parts_) {
            std::fill(s.begin(), s.end(), 0.0f);
            p.model->scorer->score_block(baskets, users, n_items, s);
            for (size_t r = 0; r < users.size(); ++r)
                add_normalised(std::span<const float>(s).subspan(r * size_t(n_items), n_items), own[r], p.weight,
                               out.subspan(r * size_t(n_items), n_items));
        }
    }

    // Neighbourhood components only: zero then still means no evidence.
    bool zero_means_unknown() const override {
        return std::all_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.model->scorer->zero_means_unknown(); });
    }

    void write(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(parts_.size()));
        for (const Part& p : parts_) {
            w.put<double>(p.weight);
            const auto bytes = p.model->serialize();
            w.put_padding_for_array(64);
            w.put_array(bytes);
        }
    }

    const std::vector<Part>& parts() const { return parts_; }

private:
    std::vector<Part> parts_;
};

bool same_ids(const IdMap& a, const IdMap& b) {
    if (a.kind() != b.kind() || a.size() != b.size()) return false;
    for (uint32_t i = 0; i < a.size(); ++i)
        if (a.kind() == IdKind::Text ? a.text_at(i) != b.text_at(i) : a.int_at(i) != b.int_at(i)) return false;
    return true;
}

bool same_rows(const Model& a, const Model& b) {
    return same_ids(a.users, b.users) && same_ids(a.items, b.items) && a.history.indptr == b.history.indptr &&
           a.history.indices == b.history.indices && a.history.values == b.history.values;
}

const BlendScorer& blend_scorer(const Model& model) {
    auto* s = dynamic_cast<const BlendScorer*>(model.scorer.get());
    if (!s)
        throw invalid_input("model is a " + model.algorithm + " model, not a blend",
                            "Component shares exist for blends only (built by tune() or blend()).");
    return *s;
}

// Blends being decoded on this thread: a component that is itself a blend
// is refused before it is decoded, so crafted bytes cannot nest blends deep
// enough to exhaust the stack.
thread_local int decoding = 0;

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items) {
    if (decoding > 0) throw corrupted("model is corrupted (a blend inside a blend)");
    struct Depth {
        Depth() { ++decoding; }
        ~Depth() { --decoding; }
    } depth;
    const uint32_t n = r.get<uint32_t>();
    if (n < 2 || n > kMaxComponents) throw corrupted("model is corrupted (blend component count)");
    std::vector<Part> parts;
    double sum = 0;
    for (uint32_t c = 0; c < n; ++c) {
        const double weight = r.get<double>();
        if (!(weight >= 0 && weight <= 1)) throw corrupted("model is corrupted (blend weight)");
        sum += weight;
        r.skip_zeros(r.get<uint8_t>());
        const uint64_t size = r.get<uint64_t>();
        if (size > r.remaining()) throw corrupted("model is truncated or corrupted (blend component size)");
        const uint8_t* bytes = r.take(size);
        auto model = std::make_shared<Model>(
            Model::deserialize(bytes, size, r.context() ? *r.context() : Context{}, r.backing()));
        if (model->n_users() != n_users || model->n_items() != n_items)
            throw corrupted("model is corrupted (blend component)");
        parts.push_back({std::move(model), weight});
    }
    if (std::abs(sum - 1) > 1e-9) throw corrupted("model is corrupted (blend weights do not sum to 1)");
    return std::make_unique<BlendScorer>(std::move(parts));
}

std::unique_ptr<Scorer> train_from_interactions(const Interactions&, const Params&, const Context&) {
    throw invalid_input("a blend is built from trained models, not from interactions",
                        "Use recsys.blend(name, models, weights), or let tune() try blends of its best models.");
}

}  // namespace

const Algorithm algorithm{
    "blend",
    "weighted sum of trained models' per-user min-max normalised scores (built by tune() or blend())",
    {},
    &train_from_interactions,
    &read,
    nullptr,
    {.learns_users = true, .fold_in = false, .similar_items = false, .explain = false, .incremental = false,
     .tuned_by_default = false},
};

namespace {

void check_count(size_t n, size_t max = kMaxComponents, const std::string& what = {}) {
    if (n < 2 || n > max)
        throw invalid_input((what.empty() ? "a blend needs 2 to " + std::to_string(max) + " models" : what) + ", got " +
                                std::to_string(n),
                            "Name the stored models to blend, e.g. ARRAY['shop_ease', 'shop_als'].");
}

void check_components(const std::vector<std::shared_ptr<const Model>>& components, size_t max = kMaxComponents,
                      const std::string& what = {}) {
    check_count(components.size(), max, what);
    for (size_t c = 0; c < components.size(); ++c) {
        const Model& m = *components[c];
        if (m.algorithm == algorithm.name)
            throw invalid_input("a blend cannot contain another blend (model " + std::to_string(c + 1) + ")",
                                "Blend the blend's own components instead.");
        if (!same_rows(m, *components[0]))
            throw invalid_input("blended models must be trained on the same rows, but model " + std::to_string(c + 1) +
                                    " (" + m.algorithm + ") has other users, items or histories than model 1 (" +
                                    components[0]->algorithm + ")",
                                "Train every component with the same query and the same min_users_per_item and "
                                "min_items_per_user.");
    }
}

// The weights scaled to sum to 1 (as stored), after checking them.
std::vector<double> unit_weights(const std::vector<double>& weights, size_t n_components) {
    if (weights.size() != n_components)
        throw invalid_input("a blend needs one weight per model: " + std::to_string(n_components) + " models, " +
                                std::to_string(weights.size()) + " weights",
                            "e.g. models => ARRAY['a', 'b'], weights => ARRAY[0.7, 0.3].");
    double sum = 0;
    for (double w : weights) {
        if (!std::isfinite(w) || w < 0)
            throw invalid_input("blend weights must be finite and non-negative, got " + json_number(w),
                                "Weights are scaled to sum to 1, e.g. ARRAY[0.7, 0.3] or ARRAY[7, 3].");
        sum += w;
    }
    if (!(sum > 0) || !std::isfinite(sum))
        throw invalid_input("blend weights must not all be zero",
                            "Weights are scaled to sum to 1, e.g. ARRAY[0.7, 0.3] or ARRAY[7, 3].");
    std::vector<double> out;
    for (double w : weights) out.push_back(w / sum);
    return out;
}

}  // namespace

Model make(std::vector<std::shared_ptr<const Model>> components, std::vector<double> weights) {
    check_count(components.size());
    const std::vector<double> unit = unit_weights(weights, components.size());
    check_components(components);
    Params params;
    std::vector<Part> parts;
    for (size_t c = 0; c < components.size(); ++c) {
        const std::string n = std::to_string(c + 1);
        params.set("algorithm_" + n, components[c]->algorithm);
        params.set("weight_" + n, unit[c]);
        parts.push_back({components[c], unit[c]});
    }
    params.set("normalisation", std::string("min-max"));
    const Model& first = *components[0];
    if (Params::parse_json(first.params_json).get_bool("pseudonymized_ids", false))
        params.set("pseudonymized_ids", true);  // describe_model repeats the declaration
    Model m;
    m.algorithm = std::string(algorithm.name);
    m.params_json = params.to_json();
    m.users = first.users;
    m.items = first.items;
    m.history = first.history;
    m.popularity = first.popularity;
    m.rows_added = first.rows_added;
    m.rows_skipped = first.rows_skipped;
    m.scorer = std::make_unique<BlendScorer>(std::move(parts));
    m.order_by_popularity();
    return m;
}

std::vector<Share> shares(const Model& model, const Basket& basket, std::optional<uint32_t> user, uint32_t item) {
    const BlendScorer& b = blend_scorer(model);
    if (item >= model.n_items())
        throw invalid_input("item index " + std::to_string(item) + " is outside the model's " +
                            std::to_string(model.n_items()) + " items");
    const auto own = sorted_items(basket);
    std::vector<Share> out;
    std::vector<float> s(model.n_items());
    for (uint32_t c = 0; c < b.parts().size(); ++c) {
        const Part& p = b.parts()[c];
        std::fill(s.begin(), s.end(), 0.0f);
        p.model->scorer->score(basket, user, s);
        auto range = candidate_range(s, own);
        const float norm = range ? float((double(s[item]) - range->first) / (double(range->second) - range->first)) : 0.0f;
        out.push_back({c, p.weight, norm, range && p.weight != 0 ? float(norm * p.weight) : 0.0f});
    }
    return out;
}

std::vector<std::pair<std::shared_ptr<const Model>, double>> components(const Model& model) {
    std::vector<std::pair<std::shared_ptr<const Model>, double>> out;
    if (auto* b = dynamic_cast<const BlendScorer*>(model.scorer.get()))
        for (const Part& p : b->parts()) out.emplace_back(p.model, p.weight);
    return out;
}

namespace {

// One test user's pool for the searches: the union of each component's best
// candidates, with every component's raw score of each pool item, and per
// component its candidate range and its best score outside the pool.
struct Pool {
    size_t test;     // index in the TestSet
    uint32_t user;
    bool provable;   // false: a non-finite score; every exact trial re-scores the user
    bool outside;    // some candidate is not in the pool
    std::vector<uint32_t> items;   // ascending
    std::vector<float> raw;        // items.size() x components
    std::vector<uint8_t> has;      // per component: its scores vary over the candidates
    std::vector<float> lo, hi, best_outside;
    std::vector<uint32_t> shortlist;  // positions in items of each component's best `shortlist` candidates
};

// Every composition of `steps` into n non-negative parts with at least two
// nonzero, lexicographically descending.
void grid(uint32_t n, uint32_t steps, std::vector<uint32_t>& point, std::vector<std::vector<uint32_t>>& out) {
    const size_t c = point.size();
    if (c + 1 == n) {
        point.push_back(steps);
        if (std::count_if(point.begin(), point.end(), [](uint32_t x) { return x > 0; }) >= 2) out.push_back(point);
        point.pop_back();
        return;
    }
    for (uint32_t x = steps + 1; x-- > 0;) {
        point.push_back(x);
        grid(n, steps - x, point, out);
        point.pop_back();
    }
}

// What every trial over `components` on `test` shares: each test user's
// pool, and the metrics no weights change (unknown users ranked by
// popularity; known users without test items, skipped).
struct Search {
    const std::vector<std::shared_ptr<const Model>>& components;
    const TestSet& test;
    size_t k;
    uint32_t n;
    RankingMetrics base_known, unknown;
    std::vector<Pool> pools;
};

void make_pools(Search& s, size_t per_component, size_t shortlist, const Context& ctx) {
    const auto& comps = s.components;
    const Model& m0 = *comps[0];
    const uint32_t n = s.n;
    const size_t C = comps.size();
    std::vector<Pool>& pools = s.pools;
    for (size_t t = 0; t < s.test.size(); ++t)
        if (auto u = s.test.user(t); u && !s.test.items(t).empty()) pools.push_back({t, *u, true, false, {}, {}, {}, {}, {}, {}, {}});
    const size_t rows = std::clamp<size_t>((size_t(512) << 10) / (sizeof(float) * std::max<uint32_t>(n, 1)), 1, 64);
    ctx.reserve(uint64_t(std::max(1, ctx.threads)) * C * rows * n * sizeof(float) +
                    pools.size() * std::min<uint64_t>(n, C * per_component) * (C + 1) * sizeof(float),
                "the blend search's scores", "Raise recsys.memory_limit, or use fewer threads.");
    struct Scratch {
        std::vector<std::vector<float>> scores;
        std::vector<uint8_t> in_pool;  // 1: in the pool, 2: also in the shortlist
        std::vector<Basket> baskets;
        std::vector<uint32_t> users;
    };
    parallel_for_with_state(
        pools.size(), ctx, [&] { return Scratch{std::vector<std::vector<float>>(C), std::vector<uint8_t>(n, 0), {}, {}}; },
        [&](Scratch& sc, uint64_t b, uint64_t e) {
            sc.baskets.clear();
            sc.users.clear();
            for (uint64_t p = b; p < e; ++p) {
                sc.baskets.push_back(m0.history_of(pools[p].user));
                sc.users.push_back(pools[p].user);
            }
            for (size_t c = 0; c < C; ++c) {
                sc.scores[c].assign((e - b) * size_t(n), 0.0f);
                comps[c]->scorer->score_block(sc.baskets, sc.users, n, sc.scores[c]);
                ctx.cancel_point();
            }
            for (uint64_t p = b; p < e; ++p) {
                Pool& pool = pools[p];
                const size_t r = p - b;
                auto own = sorted_items(sc.baskets[r]);
                auto is_own = [&](uint32_t i) { return std::binary_search(own.begin(), own.end(), i); };
                pool.has.assign(C, 0);
                pool.lo.assign(C, 0);
                pool.hi.assign(C, 0);
                pool.best_outside.assign(C, -INFINITY);
                for (size_t c = 0; c < C; ++c) {
                    std::span<const float> row(sc.scores[c].data() + r * n, n);
                    if (!std::all_of(row.begin(), row.end(), [](float x) { return std::isfinite(x); }))
                        pool.provable = false;
                    auto range = candidate_range(row, own);
                    if (!range) continue;
                    pool.has[c] = 1;
                    pool.lo[c] = range->first;
                    pool.hi[c] = range->second;
                    size_t rank = 0;
                    for (const Scored& x : top_k(row, std::max(per_component, shortlist), [&](uint32_t i) { return !is_own(i); }))
                        sc.in_pool[x.item] = std::max<uint8_t>(sc.in_pool[x.item], rank++ < shortlist ? 2 : 1);
                }
                for (uint32_t i = 0; i < n; ++i) {
                    if (sc.in_pool[i]) {
                        if (sc.in_pool[i] == 2) pool.shortlist.push_back(uint32_t(pool.items.size()));
                        pool.items.push_back(i);
                        sc.in_pool[i] = 0;
                        for (size_t c = 0; c < C; ++c) pool.raw.push_back(sc.scores[c][r * n + i]);
                    } else if (!is_own(i)) {
                        pool.outside = true;
                        for (size_t c = 0; c < C; ++c)
                            pool.best_outside[c] = std::max(pool.best_outside[c], sc.scores[c][r * n + i]);
                    }
                }
            }
        },
        rows);
}

// Checks the test set against the components and scores every test user
// once per component (the pools keep each component's best
// `per_component` candidates; 0: max(64, 4k)).
Search prepare(const std::vector<std::shared_ptr<const Model>>& components, const TestSet& test, size_t k,
               size_t per_component, size_t shortlist, const Context& ctx) {
    if (k < 1 || k > (size_t(1) << 31))
        throw invalid_input("k must be between 1 and 2147483648, got " + std::to_string(k));
    const Model& m0 = *components[0];
    const uint32_t n = m0.n_items();
    for (size_t t = 0; t < test.size(); ++t)
        if (auto u = test.user(t); u && *u >= m0.n_users())
            throw invalid_input("user index " + std::to_string(*u) + " is outside the model's " +
                                std::to_string(m0.n_users()) + " users");
    Search s{components, test, k, n, RankingMetrics(int64_t(k), n), RankingMetrics(int64_t(k), n), {}};
    std::vector<uint32_t> by_popularity;
    for (uint32_t i : m0.popularity_order) {
        if (by_popularity.size() >= k) break;
        by_popularity.push_back(i);
    }
    for (size_t t = 0; t < test.size(); ++t) {
        if (!test.user(t)) s.unknown.add_user(by_popularity, test.items(t));
        else if (test.items(t).empty()) s.base_known.add_user({}, {});
    }
    make_pools(s, per_component ? per_component : std::max<size_t>(64, 4 * k), shortlist, ctx);
    return s;
}

// `weights` (one per component, >= 0, at least one nonzero) as make() stores
// the nonzero ones (scaled to sum to 1), with zeros for the others.
std::vector<double> stored_weights(const std::vector<double>& weights) {
    std::vector<double> used;
    for (double w : weights)
        if (w > 0) used.push_back(w);
    const std::vector<double> unit_used = unit_weights(used, used.size());
    std::vector<double> unit(weights.size(), 0.0);
    for (size_t c = 0, j = 0; c < weights.size(); ++c)
        if (weights[c] > 0) unit[c] = unit_used[j++];
    return unit;
}

bool all_zero_mean_unknown(const Search& s, const std::vector<double>& unit) {
    for (size_t c = 0; c < unit.size(); ++c)
        if (unit[c] != 0 && !s.components[c]->scorer->zero_means_unknown()) return false;
    return true;
}

// The components with a nonzero weight, ascending.
std::vector<uint32_t> active(const std::vector<double>& unit) {
    std::vector<uint32_t> out;
    for (uint32_t c = 0; c < unit.size(); ++c)
        if (unit[c] != 0) out.push_back(c);
    return out;
}

// Per active component for one pool: unit weight / its candidate range (0
// if it scores every candidate alike).
void pool_scales(const Pool& pool, const std::vector<double>& unit, const std::vector<uint32_t>& used,
                 std::vector<double>& scale) {
    scale.resize(used.size());
    for (size_t a = 0; a < used.size(); ++a) {
        const uint32_t c = used[a];
        scale[a] = pool.has[c] ? unit[c] / (double(pool.hi[c]) - double(pool.lo[c])) : 0;
    }
}

// Pool item j's blended score: BlendScorer's sum, components in order, each
// term rounded to float.
float blended(const Pool& pool, size_t C, size_t j, const std::vector<uint32_t>& used, const std::vector<double>& scale) {
    float score = 0.0f;
    for (size_t a = 0; a < used.size(); ++a)
        if (scale[a] != 0) score += float((double(pool.raw[j * C + used[a]]) - pool.lo[used[a]]) * scale[a]);
    return score;
}

// `kept` (the scored candidates, any order) ranked into `ranked`: its best
// k, filled by popularity as Ranker does when fewer.
void rank(const Search& s, const Pool& pool, std::vector<Scored>& kept, std::vector<uint32_t>& ranked) {
    const size_t top = std::min(s.k, kept.size());
    std::partial_sort(kept.begin(), kept.begin() + top, kept.end(), better);
    ranked.clear();
    for (size_t j = 0; j < top; ++j) ranked.push_back(kept[j].item);
    if (ranked.size() < s.k) {
        const Model& m0 = *s.components[0];
        const auto own = sorted_items(m0.history_of(pool.user));
        for (uint32_t i : m0.popularity_order) {
            if (ranked.size() >= s.k) break;
            if (!std::binary_search(own.begin(), own.end(), i) &&
                std::find(ranked.begin(), ranked.begin() + top, i) == ranked.begin() + top)
                ranked.push_back(i);
        }
    }
}

EvaluationResult result_of(const Search& s, const RankingMetrics& known) {
    RankingMetrics all = known;
    all.merge(s.unknown);
    EvaluationResult r;
    r.all = all.result();
    r.known = known.result();
    r.unknown = s.unknown.result();
    r.users = r.all.users;
    r.unknown_users = r.unknown.users;
    r.skipped_users = r.all.skipped_users;
    return r;
}

// Exactly evaluate(make(the nonzero components, their weights), test, k):
// every user ranked from its pool, or re-scored in full when the pool cannot
// prove its top k (an item outside the pool might enter it).
EvaluationResult evaluate_exact(const Search& s, const std::vector<double>& weights, const Context& ctx) {
    const size_t C = s.components.size();
    const std::vector<double> unit = stored_weights(weights);
    const std::vector<uint32_t> used = active(unit);
    const bool zero_means_unknown = all_zero_mean_unknown(s, unit);
    RankingMetrics known = s.base_known;
    std::vector<size_t> rescore;
    std::mutex merge;
    parallel_for(
        s.pools.size(), ctx,
        [&](uint64_t b, uint64_t e) {
            RankingMetrics local(int64_t(s.k), s.n);
            std::vector<size_t> local_rescore;
            std::vector<Scored> kept;
            std::vector<uint32_t> ranked;
            std::vector<double> scale;
            for (uint64_t p = b; p < e; ++p) {
                const Pool& pool = s.pools[p];
                pool_scales(pool, unit, used, scale);
                float bound = 0.0f;
                for (size_t a = 0; a < used.size(); ++a)
                    if (scale[a] != 0) bound += float((double(pool.best_outside[used[a]]) - pool.lo[used[a]]) * scale[a]);
                kept.clear();
                for (size_t j = 0; j < pool.items.size(); ++j) {
                    const float score = blended(pool, C, j, used, scale);
                    if (!zero_means_unknown || score > 0.0f) kept.push_back({pool.items[j], score});
                }
                rank(s, pool, kept, ranked);
                // An item outside the pool scores at most `bound`: it cannot
                // enter a full top k whose last beats that, nor be ranked at
                // all when zero means unknown and the bound is 0.
                const size_t top = std::min(s.k, kept.size());
                const bool outside_ignored = !pool.outside || (zero_means_unknown && !(bound > 0.0f));
                if (!pool.provable || !(outside_ignored || (top == s.k && kept[top - 1].score > bound))) {
                    local_rescore.push_back(p);
                    continue;
                }
                local.add_user(ranked, s.test.items(pool.test));
                ctx.cancel_point();
            }
            std::lock_guard<std::mutex> lock(merge);
            known.merge(local);
            rescore.insert(rescore.end(), local_rescore.begin(), local_rescore.end());
        },
        64);
    if (!rescore.empty()) {
        std::vector<std::shared_ptr<const Model>> parts;
        std::vector<double> part_weights;
        for (size_t c = 0; c < C; ++c)
            if (weights[c] > 0) {
                parts.push_back(s.components[c]);
                part_weights.push_back(weights[c]);
            }
        const Model blend = make(parts, part_weights);
        RecommendOptions options;
        options.k = s.k;
        std::vector<uint32_t> ranked;
        for (size_t p : rescore) {
            ranked.clear();
            for (const auto& r : recommend_user(blend, s.pools[p].user, options)) ranked.push_back(r.item);
            known.add_user(ranked, s.test.items(s.pools[p].test));
            ctx.check_cancel();
        }
    }
    return result_of(s, known);
}

// The metrics of each of `weight_sets` (per component, >= 0), each user
// ranked from the shortlist of its pool only: an estimate, cheap enough to
// try many weights (evaluate_exact checks the one chosen).
std::vector<EvaluationResult> estimate(const Search& s, const std::vector<std::vector<double>>& weight_sets,
                                       const Context& ctx) {
    const size_t C = s.components.size();
    const size_t T = weight_sets.size();
    std::vector<std::vector<double>> units;
    std::vector<std::vector<uint32_t>> used;
    std::vector<uint8_t> zero_means_unknown;
    for (const auto& w : weight_sets) {
        units.push_back(stored_weights(w));
        used.push_back(active(units.back()));
        zero_means_unknown.push_back(all_zero_mean_unknown(s, units.back()));
    }
    std::vector<RankingMetrics> known(T, s.base_known);
    std::mutex merge;
    parallel_for(
        s.pools.size(), ctx,
        [&](uint64_t b, uint64_t e) {
            std::vector<RankingMetrics> local(T, RankingMetrics(int64_t(s.k), s.n));
            std::vector<Scored> kept;
            std::vector<uint32_t> ranked;
            std::vector<double> scale;
            for (uint64_t p = b; p < e; ++p) {
                const Pool& pool = s.pools[p];
                for (size_t t = 0; t < T; ++t) {
                    pool_scales(pool, units[t], used[t], scale);
                    kept.clear();
                    for (uint32_t j : pool.shortlist) {
                        const float score = blended(pool, C, j, used[t], scale);
                        if (!zero_means_unknown[t] || score > 0.0f) kept.push_back({pool.items[j], score});
                    }
                    rank(s, pool, kept, ranked);
                    local[t].add_user(ranked, s.test.items(pool.test));
                }
                ctx.cancel_point();
            }
            std::lock_guard<std::mutex> lock(merge);
            for (size_t t = 0; t < T; ++t) known[t].merge(local[t]);
        },
        16);
    std::vector<EvaluationResult> out;
    for (const RankingMetrics& m : known) out.push_back(result_of(s, m));
    return out;
}

}  // namespace

Selection select_forward(const std::vector<std::shared_ptr<const Model>>& candidates, double start_score,
                         const TestSet& test, size_t k, Metric metric, const SelectOptions& options, const Context& ctx) {
    check_components(candidates, kMaxCandidates, "forward selection needs 2 to " + std::to_string(kMaxCandidates) +
                                                     " candidate models");
    const size_t C = candidates.size();
    if (!options.costs.empty() && options.costs.size() != C)
        throw invalid_input("forward selection needs one cost per candidate: " + std::to_string(C) + " candidates, " +
                            std::to_string(options.costs.size()) + " costs");
    for (double c : options.costs)
        if (!(c >= 0) || !std::isfinite(c))
            throw invalid_input("candidate costs must be finite and non-negative, got " + json_number(c));
    if (!(options.max_cost >= 0))
        throw invalid_input("the most the components may cost must be 0 or more, got " + json_number(options.max_cost));
    if (options.max_components < 2 || options.max_components > kMaxComponents)
        throw invalid_input("a blend has 2 to " + std::to_string(kMaxComponents) + " components, got at most " +
                            std::to_string(options.max_components));
    const Search s = prepare(candidates, test, k, options.pool_per_component,
                             options.shortlist ? options.shortlist : 2 * k, ctx);
    // The clock starts once the candidates are scored: their time is the
    // caller's to budget (about one evaluate() each).
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    auto cost = [&](size_t c) { return options.costs.empty() ? 0.0 : options.costs[c]; };
    auto value = [&](const EvaluationResult& r) { return (r.all.*metric).value_or(-INFINITY); };

    // The shares of the ensemble a candidate is added with: Caruana's
    // "with replacement" steps give weights in proportion to picks; a grid of
    // shares reaches those and other mixes in fewer steps. The first step
    // tries every 0.05 mix with the start; later ones add at most half.
    auto shares = [&](bool first) {
        std::vector<double> out;
        for (int j = 1; j < (first ? 20 : 11); ++j) out.push_back(j / 20.0);
        return out;
    };

    Selection out;
    out.weights.assign(C, 0.0);
    out.weights[0] = 1.0;
    double score = start_score;
    // Takes `weights` if its exact metrics beat the ensemble so far.
    auto take = [&](std::vector<double> weights) {
        EvaluationResult exact = evaluate_exact(s, weights, ctx);
        if (!(value(exact) > score)) return false;
        score = value(exact);
        out.weights = std::move(weights);
        out.result = std::move(exact);
        return true;
    };
    auto out_of_time = [&] { return out.out_of_time = out.out_of_time || elapsed() > options.seconds; };
    // The best estimate among `sets`, or empty.
    auto best_of = [&](const std::vector<std::vector<double>>& sets) {
        std::vector<double> best;
        double best_value = -INFINITY;
        const auto estimates = estimate(s, sets, ctx);
        out.trials += sets.size();
        for (size_t t = 0; t < sets.size(); ++t)
            if (value(estimates[t]) > best_value) best_value = value(estimates[t]), best = sets[t];
        return std::pair{best, best_value};
    };
    while (out.steps < options.max_steps && !out_of_time()) {
        size_t distinct = 0;
        double spent = 0;
        for (size_t c = 0; c < C; ++c)
            if (out.weights[c] > 0) ++distinct, spent += cost(c);
        double best_value = -INFINITY;
        std::vector<double> best;
        for (size_t c = 0; c < C && !out_of_time(); ++c) {
            ctx.check_cancel();
            const bool added = out.weights[c] == 0;
            if (!added && distinct == 1) continue;  // the start alone again: no blend
            if (added && (distinct + 1 > options.max_components || spent + cost(c) > options.max_cost)) continue;
            std::vector<std::vector<double>> sets;
            for (double a : shares(distinct == 1)) {
                std::vector<double> w(C);
                for (size_t d = 0; d < C; ++d) w[d] = (1 - a) * out.weights[d] + (d == c ? a : 0.0);
                sets.push_back(std::move(w));
            }
            auto [w, v] = best_of(sets);
            if (v > best_value) best_value = v, best = std::move(w);
        }
        // The estimate ranks from the shortlists: the step is taken only if
        // the exact metrics beat the ensemble so far.
        if (best.empty() || !take(std::move(best))) break;
        ++out.steps;
    }
    // Greedy steps cannot move weight back between earlier picks: with two or
    // three components, the whole 0.05 simplex grid over them is tried too.
    std::vector<size_t> used;
    for (size_t c = 0; c < C; ++c)
        if (out.weights[c] > 0) used.push_back(c);
    if (used.size() >= 2 && used.size() <= 3 && !out_of_time()) {
        std::vector<std::vector<uint32_t>> points;
        std::vector<uint32_t> point;
        grid(uint32_t(used.size()), 20, point, points);
        std::vector<std::vector<double>> sets;
        for (const auto& pt : points) {
            std::vector<double> w(C, 0.0);
            for (size_t j = 0; j < used.size(); ++j) w[used[j]] = pt[j] / 20.0;
            sets.push_back(std::move(w));
        }
        if (auto [w, v] = best_of(sets); !w.empty() && take(std::move(w))) out.refined = true;
    }
    return out;
}

}  // namespace recsys::blend
