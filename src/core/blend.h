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

#include <cmath>
#include <memory>
#include <optional>
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

// The most components a blend has, and the most candidates select_forward
// chooses them from.
constexpr size_t kMaxComponents = 8;
constexpr size_t kMaxCandidates = 16;

// The metric to maximise, a field of EvaluationResult::all.
using Metric = std::optional<double> RankingMetricsResult::*;

struct SelectOptions {
    size_t max_steps = 20;                      // greedy additions at most
    size_t max_components = kMaxComponents;     // distinct components at most (2 to 8)
    double seconds = INFINITY;                  // no new trial this long after the candidates are scored
    std::vector<double> costs;                  // per candidate (e.g. its retraining seconds); empty: all 0
    double max_cost = INFINITY;                 // the distinct components' costs sum to at most this
    size_t pool_per_component = 0;              // pool size per candidate (0: max(64, 4k)); tests
    size_t shortlist = 0;                       // estimate's candidates per component (0: 2k); tests
};
struct Selection {
    std::vector<double> weights;             // per candidate, >= 0, summing to 1 (up to rounding)
    std::optional<EvaluationResult> result;  // exactly evaluate() of the blend; empty when nothing beat the start
    size_t steps = 0;                        // greedy additions taken
    size_t trials = 0;                       // weights estimated
    bool refined = false;                    // the grid over the chosen components beat the greedy weights
    bool out_of_time = false;                // stopped by options.seconds
};

// tune()'s blend search: greedy forward selection of an ensemble (Caruana et
// al. 2004, "Ensemble selection from libraries of models") from
// `candidates` (2 to 16 trained models, none a blend, all on the same rows),
// starting from candidates[0] alone, whose own metric on `test` is
// `start_score` (its evaluate()). Each step tries adding every candidate
// (again, "with replacement", or anew) with each share a in 0.05 ... 0.95
// (the first step; later ones 0.05 ... 0.5): weights (1 - a) x the
// ensemble's + a x the candidate's; each try is
// estimated from the test users' shortlists, and the best estimate is
// taken only if its exact metric beats the ensemble so far (so the result
// never scores below the start). It stops when a step does not improve, at
// max_steps, or at options.seconds. Then, for two or three components, every
// point of the 0.05 simplex grid over them is tried the same way. A new
// component must keep the distinct components within max_components and
// their costs within max_cost. Exact metrics come from per-user pools (each
// test user scored once per candidate; a user whose pool cannot prove its
// top k is re-scored), equal to evaluate(make(nonzero candidates, their
// weights), test, k).
Selection select_forward(const std::vector<std::shared_ptr<const Model>>& candidates, double start_score,
                         const TestSet& test, size_t k, Metric metric, const SelectOptions& options,
                         const Context& ctx);

// The components of a blend model (empty for any other model).
std::vector<std::pair<std::shared_ptr<const Model>, double>> components(const Model& model);

}  // namespace recsys::blend
