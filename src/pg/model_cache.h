// Decoded models, cached per backend and keyed on the stored row's version.
// A model's active row is looked up with the caller's own rights and
// snapshot, and then trusted for that role until the store changes: every
// write to it invalidates its relcache entry (the trigger
// recsys_models_changed), which every backend sees at its next transaction
// and this one at its next command, so a reader never serves a model
// superseded by a committed retrain, nor one a rolled-back store wrote
// (DESIGN.md, "The store and the cache"). A role that may not read the
// store gets an error. The cache is bounded (recsys.cache_memory, least
// recently used models dropped first), so a LATERAL recommend() over many
// users decodes the model once.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "door.h"
#include "model.h"

namespace recsys::pg {

struct CachedModel {
    std::string name;
    std::string owner;
    std::shared_ptr<const Model> model;
};

// The model called `name`, or recsys.default_model if `name` is empty.
// Throws invalid_input naming the model if it does not exist (or the
// caller's row-level security hides it); a PostgreSQL permission error if
// the caller may not read the store. `fcinfo` locates the extension's schema.
CachedModel load_model(FunctionCallInfo fcinfo, const std::optional<std::string>& name);

// Whether the current role may see what a model embeds (every user's
// purchase history): members of its owner, and roles that may read the
// model bytes themselves (recsys_admin, the store's owner).
bool may_read_contents(FunctionCallInfo fcinfo, const CachedModel& model);

// A blend (blend.h) of the stored models named by the text[] argument
// `models_arg`, with the float8[] argument `weights_arg`. With `for_bytes`
// (the blend's bytes leave the call, embedding every component's purchase
// histories) the caller must be allowed to read each model's contents.
Model load_blend(FunctionCallInfo fcinfo, int models_arg, int weights_arg, bool for_bytes);

// Counts for tests and monitoring.
struct CacheStats {
    uint64_t decodes;
    uint64_t hits;
    uint64_t evictions;
    uint64_t lookups;  // reads of the store for a model's active version
    uint64_t cached;
    uint64_t cached_bytes;
    double last_fetch_ms;   // the last decode: reading (detoasting) the stored bytes
    double last_decode_ms;  // and decoding them
};
CacheStats cache_stats();
// The mode, "per-backend" or "shared" (recsys in shared_preload_libraries and
// recsys.shared_cache_memory above 0), and the shared area's use, as jsonb
// members for recsys_cache_stats().
std::string shared_stats_json();

// The model this backend has just trained, kept as its bytes with its
// description so that describe_model of exactly those bytes (train() stores
// through save_model, which describes what it stores) need not decode them
// again. One model at a time; dropped once recalled, or at the end of the
// transaction.
void remember_trained(std::vector<uint8_t> bytes, std::string description);
// The description if `bytes` are exactly the remembered ones (compared byte
// for byte, so any other bytea is decoded and validated as before).
std::optional<std::string> recall_trained(std::span<const uint8_t> bytes);

void register_model_cache();

}  // namespace recsys::pg
