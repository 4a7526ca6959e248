#include "blend.h"

#include <algorithm>
#include <cmath>

#include "errors.h"

namespace recsys::blend {

namespace {

constexpr size_t kMaxComponents = 8;

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

Model make(std::vector<std::shared_ptr<const Model>> components, std::vector<double> weights) {
    if (components.size() < 2 || components.size() > kMaxComponents)
        throw invalid_input("a blend needs 2 to " + std::to_string(kMaxComponents) + " models, got " +
                                std::to_string(components.size()),
                            "Name the stored models to blend, e.g. ARRAY['shop_ease', 'shop_als'].");
    if (weights.size() != components.size())
        throw invalid_input("a blend needs one weight per model: " + std::to_string(components.size()) +
                                " models, " + std::to_string(weights.size()) + " weights",
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
    Params params;
    std::vector<Part> parts;
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
        const std::string n = std::to_string(c + 1);
        params.set("algorithm_" + n, m.algorithm);
        params.set("weight_" + n, weights[c] / sum);
        parts.push_back({components[c], weights[c] / sum});
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

}  // namespace recsys::blend
