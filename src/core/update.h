// Incremental updates (update_model): a new model from a stored one plus new
// (user, item, weight) rows, without re-reading the training data.
//
// Every updatable model keeps what a retrain on the union needs: each user's
// summed history (the users x items matrix it was trained on). The update
// builds the union U = decay * history + new rows (pairs summed; a pair whose
// decayed weight falls below forget_below is dropped first), with the ids in
// the same canonical order a training on those rows gives (one merge of the
// sorted history with the sorted new rows), and then
//   - popularity, itemknn, rp3beta, ease: trains the algorithm on U with the
//     model's parameters. The model equals a full retrain on the union (same
//     ids, same scores): exact. It saves reading and interning the training
//     query, not the algorithm's own work. Recomputing only what changed
//     would not save it either: a similarity row changes for every item a
//     buyer of a touched item bought (its co-occurrences, its buyers' weights
//     or a neighbour's normalisation change; with BM25 weighting, the average
//     item length changes them all), which on online-retail is 3,621 of 3,624
//     items for one day's rows (bench/lifecycle.sh, "update_reach"), and
//     EASE's inverse is dense. Keeping what an incremental count would need
//     (the items x items co-occurrences or Gram matrix) would cost 8 bytes
//     per item pair in every model.
//   - als, bpr (Algorithm::update): starts from the active factors, folds the
//     new users in and refines the factors of the touched users (those with
//     new rows) and touched items for "iterations" passes (als 1, bpr a
//     tenth of its epochs); the other rows keep their factors. Approximate: close to, not equal to, a full retrain.
// Not updatable: models without per-user history ("store_history": false),
// with k-anonymity thresholds (they hold on the data trained on, so dropped
// rows would be missing from the union), differentially private ones (each
// release spends the privacy budget again), and the ranker and timing models.
#pragma once

#include <string_view>

#include "interactions.h"
#include "model.h"
#include "params.h"

namespace recsys {

// The update's own parameters (update_model's params jsonb).
std::span<const ParamSpec* const> update_params();

// Adds a row whose ids are given as text, interned with the kinds of the
// model's ids (a model over bigint ids needs integer ids). A NULL id or a NULL
// weight (nullptr) skips the row; a missing weight column is weight 1.
void add_update_row(const Model& model, InteractionBuilder& rows, const char* user, const char* item,
                    const char* weight, bool has_weight);

// What an update did, as JSON: {"exact", "decay", "forget_below",
// "new_rows", "new_users", "new_items", "touched_users", "touched_items",
// "forgotten_pairs"[, "iterations"]}, and where its time went: merging the
// history with the new rows, and training (or refining) on the union.
struct UpdateResult {
    Model model;
    std::string summary_json;
    double merge_seconds = 0;
    double train_seconds = 0;
};

// `name` appears in messages only. `given_params_json`: the parameters the
// model was trained with as its trainer gave them (its recipe's), or empty if
// unknown. A parameter whose default is derived from the data (ease's
// max_items) and that was not given is derived again on the union, as a full
// retrain would; unknown, the value the active model used is kept. Throws
// invalid_input when the model cannot be updated (saying why and what to do)
// or the rows are empty.
UpdateResult update_model(const Model& active, std::string_view name, const InteractionBuilder& new_rows,
                          std::string_view update_params_json, const Context& ctx,
                          std::string_view given_params_json = {});

}  // namespace recsys
