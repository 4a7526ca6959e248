#include "recommend.h"

#include <algorithm>

#include "errors.h"

namespace recsys {

Ranker::Ranker(const Model& model, const RecommendOptions& options)
    : model_(model),
      k_(options.k),
      exclude_seen_(options.exclude_seen),
      zero_means_unknown_(model.scorer->zero_means_unknown()) {
    const uint32_t n = model.n_items();
    auto check = [&](uint32_t i, const char* what) {
        if (i >= n)
            throw invalid_input(std::string(what) + " item index " + std::to_string(i) + " is outside the model's " +
                                std::to_string(n) + " items");
    };
    base_allowed_.assign(n, options.candidates ? 0 : 1);
    if (options.candidates)
        for (uint32_t i : *options.candidates) {
            check(i, "candidate");
            base_allowed_[i] = 1;
        }
    for (uint32_t i : options.exclude) {
        check(i, "excluded");
        base_allowed_[i] = 0;
    }
}

void Ranker::rank(std::span<const float> scores, std::span<const uint32_t> own_items, std::vector<uint8_t>& allowed,
                  std::vector<Recommendation>& out) const {
    out.clear();
    allowed = base_allowed_;
    if (exclude_seen_)
        for (uint32_t i : own_items) allowed[i] = 0;
    if (!scores.empty()) {
        auto keep = [&](uint32_t i) { return allowed[i] && (!zero_means_unknown_ || scores[i] > 0.0f); };
        for (const auto& s : top_k(scores, k_, keep)) {
            out.push_back({s.item, s.score, Source::Model});
            allowed[s.item] = 0;
        }
    }
    for (uint32_t i : model_.popularity_order) {
        if (out.size() >= k_) break;
        if (allowed[i]) out.push_back({i, model_.popularity[i], Source::Popularity});
    }
}

std::vector<Recommendation> recommend_user(const Model& model, std::optional<uint32_t> user,
                                           const RecommendOptions& options) {
    Ranker ranker(model, options);
    std::vector<uint8_t> allowed;
    std::vector<Recommendation> out;
    if (!user) {
        ranker.rank({}, {}, allowed, out);
        return out;
    }
    Basket history = model.history_of(*user);
    std::vector<float> scores(model.n_items(), 0.0f);
    model.scorer->score(history, user, scores);
    ranker.rank(scores, history.items, allowed, out);
    return out;
}

std::vector<Recommendation> recommend_basket(const Model& model, const Basket& basket,
                                             const RecommendOptions& options) {
    Ranker ranker(model, options);
    std::vector<uint8_t> allowed;
    std::vector<Recommendation> out;
    std::vector<float> scores;
    if (!basket.items.empty()) {
        scores.assign(model.n_items(), 0.0f);
        model.scorer->score(basket, std::nullopt, scores);
    }
    ranker.rank(scores, basket.items, allowed, out);
    return out;
}

std::vector<Scored> similar_items(const Model& model, uint32_t item, size_t k) {
    std::vector<float> sims(model.n_items(), 0.0f);
    if (!model.scorer->similar(item, sims))
        throw invalid_input("similar_items is not available for " + model.algorithm + " models",
                            "Use a model trained with an algorithm that learns item similarity, such as itemknn.");
    return top_k(sims, k, [&](uint32_t i) { return i != item && sims[i] > 0.0f; });
}

std::vector<Contribution> explain(const Model& model, const Basket& basket, std::optional<uint32_t> user,
                                  uint32_t item) {
    std::vector<Contribution> out;
    if (!model.scorer->explain(basket, user, item, out))
        throw invalid_input("explain_recommendation is not available for " + model.algorithm + " models",
                            model.algorithm == "blend"
                                ? "explain_blend(user_id, item_id, model) shows each blended model's share of the score."
                                : "Explanations need a model built from item relations, such as itemknn.");
    std::sort(out.begin(), out.end(), [](const Contribution& a, const Contribution& b) {
        return a.score > b.score || (a.score == b.score && a.item < b.item);
    });
    return out;
}

}  // namespace recsys
