// A trained model: what every algorithm shares (ids, each user's history,
// item popularity, parameters) plus the algorithm's own Scorer.
// Serialised as the self-describing model bytea (format v3, see model.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "byte_io.h"
#include "context.h"
#include "csr.h"
#include "id_map.h"
#include "interactions.h"
#include "params.h"

namespace recsys {

// A user's items with weights: either a known user's history or an
// anonymous basket to fold in.
struct Basket {
    std::vector<uint32_t> items;
    std::vector<float> weights;
};

// One item's part in a recommendation (explanations).
struct Contribution {
    uint32_t item;
    float score;
};

// The algorithm-specific part of a model.
class Scorer {
public:
    virtual ~Scorer() = default;

    // Scores of all items (out.size() == number of items, zero-filled by the
    // caller) for a known user (`user` set, `basket` is their history) or an
    // anonymous basket (`user` empty: fold the basket in).
    virtual void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const = 0;

    // Scores of all items for a block of known users at once (batch
    // recommendation, evaluation): row r of `out` (row-major,
    // users.size() x n_items, zero-filled by the caller) gets what
    // score(baskets[r], users[r], row r) writes; baskets[r] is users[r]'s
    // history. The default calls score() user by user, so every scorer has
    // it; a factor model may override it with one matrix product, provided
    // each row equals what score() gives (batch results must match
    // recommend_user exactly). Called concurrently from worker threads.
    virtual void score_block(std::span<const Basket> baskets, std::span<const uint32_t> users, uint32_t n_items,
                             std::span<float> out) const {
        for (size_t r = 0; r < users.size(); ++r)
            score(baskets[r], users[r], out.subspan(r * size_t(n_items), n_items));
    }

    // Similarity of every item to `item` (out zero-filled). Returns false if
    // the algorithm has no notion of item similarity.
    virtual bool similar(uint32_t item, std::span<float> out) const { (void)item; (void)out; return false; }

    // Contributions of the basket's items to `item`'s score, summing to it.
    // Returns false if the algorithm cannot explain.
    virtual bool explain(const Basket& basket, std::optional<uint32_t> user, uint32_t item,
                         std::vector<Contribution>& out) const {
        (void)basket; (void)user; (void)item; (void)out;
        return false;
    }

    // True if a score of exactly zero means "no evidence" (neighbourhood
    // models): such items are ranked after popularity fill-ins. Factor
    // models, whose scores may be negative, return false.
    virtual bool zero_means_unknown() const { return true; }

    // The bytes the scorer holds in memory (describe_model's
    // "memory_bytes"). The default counts what write() writes.
    virtual uint64_t memory_bytes() const {
        ByteWriter w;
        write(w);
        return w.size();
    }

    virtual void write(ByteWriter& w) const = 0;
};

// What an algorithm can do besides recommending to the users it was trained on.
struct Capabilities {
    bool learns_users = false;      // keeps a vector per user: cannot train with "store_history": false
    bool fold_in = false;           // recommends for an anonymous basket (recommend_for_items)
    bool similar_items = false;     // Scorer::similar
    bool explain = false;           // Scorer::explain
    bool incremental = false;       // updates without a full retrain
    bool tuned_by_default = true;   // tune() tries it when not given a list of algorithms
};

// The memory an algorithm's training needs for its own structures, given the
// data's shape, and how that figure is made ("2 x 300^2 x 8 bytes").
struct MemoryEstimate {
    uint64_t bytes = 0;
    std::string formula;
};

// A factor model's estimate: `floats_per_row` floats (`per_row`, as a
// formula) for every user and every item.
MemoryEstimate factor_memory(uint64_t n_users, uint64_t n_items, uint64_t floats_per_row, const std::string& per_row);

class Model;

// What an algorithm's incremental update (Algorithm::update, update.h) gets:
// the union of the active model's history and the new rows, and where each
// of the union's users and items was in the active model.
struct UpdateInput {
    const Interactions& data;             // the union, ids in canonical order
    const Model& active;                  // the model being updated
    std::span<const int64_t> old_user;    // union user -> its index in `active`, or -1 (new)
    std::span<const int64_t> old_item;    // union item -> its index in `active`, or -1 (new)
    std::span<const uint8_t> touched_user;  // 1: the user has new rows
    std::span<const uint8_t> touched_item;  // 1: the item has new rows
    uint32_t iterations = 0;              // refinement passes (update's "iterations")
};

// Everything about an algorithm, declared once in its own file (its
// `algorithm` object) and listed in algorithms.cpp: training, reading back,
// parameters, memory and capabilities. The SQL surface (algorithms(),
// algorithm_parameters(), tune()'s search space and memory check,
// describe_model) and the README's parameter tables are read from here.
struct Algorithm {
    std::string_view name;
    std::string_view summary;
    std::span<const ParamSpec* const> params;
    // Reads (and validates) its parameters from `params`, trains on X.
    std::unique_ptr<Scorer> (*train)(const Interactions& data, const Params& params, const Context& ctx);
    // Reads the payload written by Scorer::write; validates sizes.
    std::unique_ptr<Scorer> (*read)(ByteReader& r, uint32_t n_users, uint32_t n_items);
    // Null when the algorithm's memory is small next to its input's.
    MemoryEstimate (*memory)(const Params& params, uint64_t n_users, uint64_t n_items) = nullptr;
    Capabilities can;
    // With can.incremental: null if training on the union is the update
    // (exact); else the approximate update from the active model's scorer.
    std::unique_ptr<Scorer> (*update)(const UpdateInput& in, const Params& params, const Context& ctx) = nullptr;
};

std::span<const Algorithm* const> all_algorithms();
const Algorithm& find_algorithm(std::string_view name);  // throws invalid_input
// Any algorithm a stored model may use: the registry's, and those trained
// through their own entry point (the ranker); null if unknown.
const Algorithm* find_stored_algorithm(std::string_view name);

class Model {
public:
    std::string algorithm;
    std::string params_json;        // canonical JSON of the parameters used
    IdMap users;
    IdMap items;
    CsrMatrix history;              // users x items, summed input weights
    std::vector<float> popularity;  // distinct buyers per item
    std::vector<uint32_t> popularity_order;  // items by popularity, best first (derived, not stored)
    uint64_t rows_added = 0;
    uint64_t rows_skipped = 0;
    uint32_t format_version = kModelFormatVersion;  // of the bytes it was read from; serialize() writes the current one
    std::unique_ptr<Scorer> scorer;

    uint32_t n_users() const { return users.size(); }
    // False for a model trained with "store_history": false: it knows no
    // users and serves baskets only.
    bool has_users() const { return n_users() > 0; }
    uint32_t n_items() const { return items.size(); }

    Basket history_of(uint32_t user) const;

    // Sets popularity_order from popularity; called after training or loading.
    void order_by_popularity();

    // The bytes the decoded model holds: ids, history, popularity, scorer.
    uint64_t memory_bytes() const;

    // A JSON object describing the model (algorithm, parameters, sizes).
    std::string describe_json() const;

    // Polls ctx.check_cancel() while it copies and checksums large arrays.
    std::vector<uint8_t> serialize(const Context& ctx = Context{}) const;
    // Throws corrupted; polls ctx.check_cancel() now and then (a model may
    // take seconds to decode). With `backing`, an owner of [data, data +
    // size) that the model may keep: its large arrays (EASE's weights, from
    // format 2) are then used in place rather than copied, and the model
    // keeps the owner alive. Without it everything is copied.
    static Model deserialize(const uint8_t* data, size_t size, const Context& ctx = Context{},
                             std::shared_ptr<const void> backing = nullptr);
    // Writes a serialised model's size into its header and its checksum into
    // its last 8 bytes (computed as the header's format version computes it):
    // serialize()'s last step, and how a fuzz target gets
    // mutated bytes past both checks to the decoding. Throws Internal if
    // `size` is below the header plus the checksum (28 bytes).
    static void seal(uint8_t* data, size_t size, const Context& ctx = Context{});
};

// Trains `algorithm` on the collected rows. Besides the algorithm's own,
// every algorithm takes these parameters:
//   min_users_per_item (1): drop items bought by fewer distinct users, so a
//       recommendation never reveals one person's rare purchase;
//   min_items_per_user (1): drop users with fewer items (both thresholds hold
//       on the data trained on: the filter repeats until stable);
//   store_history (true): false keeps no per-user data in the model (ids,
//       purchases); it then serves baskets only (recommend_for_items);
//   pseudonymized_ids (false): a declaration, shown by describe, that the
//       user ids are pseudonyms.
std::span<const ParamSpec* const> common_params();
// The registry as JSON, for the SQL surface: [{"name", "summary",
// "capabilities": {...}, "params": [{"name", "type", "default", "min", "max",
// "choices", "tune", "doc", "common"}]}], common parameters last.
std::string algorithms_json();
// memory() of an algorithm for a parameter set (checked as training would),
// as {"bytes": n, "formula": "..."}, or "null" if it declares none.
std::string memory_estimate_json(std::string_view algorithm, std::string_view params_json, uint64_t n_users,
                                 uint64_t n_items);

Model train_model(std::string_view algorithm, const InteractionBuilder& rows, std::string_view params_json,
                  const Context& ctx);
// train_model's steps after collecting the rows: on built data, with the
// algorithm's training replaced by `make_scorer` if given (update.h).
Model train_model_on(std::string_view algorithm, Interactions data, std::string_view params_json, const Context& ctx,
                     const std::function<std::unique_ptr<Scorer>(const Interactions&, const Params&)>& make_scorer = {});

}  // namespace recsys
