// Answering queries against a trained model: top-k for a user or a basket,
// similar items, explanations. Shared by every algorithm.
#pragma once

#include <optional>
#include <vector>

#include "model.h"
#include "topk.h"

namespace recsys {

enum class Source : uint8_t { Model, Popularity };

struct Recommendation {
    uint32_t item;
    float score;
    Source source;
};

struct RecommendOptions {
    size_t k = 10;
    bool exclude_seen = true;                        // drop the user's (or basket's) own items
    std::optional<std::vector<uint32_t>> candidates;  // rank only these, if set
    std::vector<uint32_t> exclude;                   // never return these
};

// Turns a user's scores into their ranked list under RecommendOptions:
// allowed items only (candidates, exclude, and the user's own items when
// exclude_seen), best first; when the scorer has fewer than k items with
// evidence, the rest are filled by popularity. The one ranking rule of the
// per-user and the batch paths.
class Ranker {
public:
    // Throws invalid_input for a candidate or excluded item out of range.
    Ranker(const Model& model, const RecommendOptions& options);

    // `scores`: one per item, or empty for the popularity ranking alone.
    // `allowed` is scratch space, reused between calls.
    void rank(std::span<const float> scores, std::span<const uint32_t> own_items, std::vector<uint8_t>& allowed,
              std::vector<Recommendation>& out) const;

private:
    const Model& model_;
    size_t k_;
    bool exclude_seen_;
    bool zero_means_unknown_;
    std::vector<uint8_t> base_allowed_;
};

// A known user (`user` set) is scored by the model; an unknown one gets the
// popularity ranking. When the model scores fewer than k items above zero,
// the rest are filled by popularity, marked Source::Popularity.
std::vector<Recommendation> recommend_user(const Model& model, std::optional<uint32_t> user,
                                           const RecommendOptions& options);

// An anonymous basket folded into the model.
std::vector<Recommendation> recommend_basket(const Model& model, const Basket& basket,
                                             const RecommendOptions& options);

// The k items most similar to `item` (never itself). Throws invalid_input if
// the algorithm has no notion of item similarity.
std::vector<Scored> similar_items(const Model& model, uint32_t item, size_t k);

// The basket's (or user's history's) items ranked by their contribution to
// `item`'s score; the contributions add up to the score. Throws
// invalid_input if the algorithm cannot explain its scores.
std::vector<Contribution> explain(const Model& model, const Basket& basket, std::optional<uint32_t> user,
                                  uint32_t item);

}  // namespace recsys
