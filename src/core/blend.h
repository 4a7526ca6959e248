// Blends: one model made of several trained models (its components), whose
// scores for a user are each normalised over that user's candidate items and
// summed with weights. tune() builds one from its best single models; blend()
// from any stored models trained on the same rows.
//
// Normalisation (per user, per component): min-max over the candidate items,
// the items not in the user's history (or the basket): a component's score s
// becomes (s - min) / (max - min), so that its best candidate scores 1 and its
// worst 0; a component that scores every candidate alike (max == min)
// contributes nothing for that user. The blended score of an item is
// sum_c weight_c x normalised_c; the weights are non-negative and sum to 1.
//
// The payload: u32 component count, then per component its f64 weight and
// the component's own model bytes (the full model format, padded to start at
// a 64-byte offset so that an EASE component is still used in place).
#pragma once

#include <memory>
#include <vector>

#include "batch.h"
#include "model.h"

namespace recsys::blend {

extern const Algorithm algorithm;

// A blend of `components` (at least two, none of them a blend, all trained on
// the same rows: same users, items and histories) with `weights` (one per
// component, finite, non-negative, not all zero; scaled to sum to 1). Throws
// invalid_input saying what is wrong.
Model make(std::vector<std::shared_ptr<const Model>> components, std::vector<double> weights);

// One component's part in a blended score.
struct Share {
    uint32_t component;
    double weight;
    float normalised;  // the component's min-max normalised score of the item for this user
    float share;       // weight x normalised; the shares sum to the blended score
};

// Each component's share in `item`'s score for a known user (`user` set) or a
// basket. Throws invalid_input if `model` is not a blend.
std::vector<Share> shares(const Model& model, const Basket& basket, std::optional<uint32_t> user, uint32_t item);

// tune()'s weight search: one trial per point of the simplex grid with step
// 1/steps over `components` (every weight a multiple of 1/steps, summing to
// 1) that has at least two nonzero weights, in the order (steps-1, 1, 0...),
// (steps-1, 0, 1, ...), ... (lexicographically descending: more weight on the
// earlier components first). Each trial's result is exactly
// evaluate(make(its nonzero components, their weights), test, k). Cheap: each
// test user is scored once per component, and every trial ranks from that
// user's pool (the union of each component's top candidates, kept with all
// components' scores); a trial re-scores a user only when the pool cannot
// prove its top k (an item outside the pool might enter it). Components as
// for make() (2 to 8, same rows; checked); steps >= 2. The pool keeps each
// component's best max(64, 4k) candidates (pool_per_component: tests only).
struct WeightTrial {
    std::vector<double> weights;  // one per component, each n/steps
    EvaluationResult result;
};
std::vector<WeightTrial> search_weights(const std::vector<std::shared_ptr<const Model>>& components, const TestSet& test,
                                        size_t k, uint32_t steps, const Context& ctx, size_t pool_per_component = 0);

// The components of a blend model (empty for any other model).
std::vector<std::pair<std::shared_ptr<const Model>, double>> components(const Model& model);

}  // namespace recsys::blend
