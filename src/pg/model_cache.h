// Decoded models, cached per backend and dropped whenever the model table
// changes (a statement trigger on it sends a relcache invalidation), so a
// retrain is seen by the next statement and a LATERAL recommend() over many
// users decodes the model once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "door.h"
#include "model.h"

namespace recsys::pg {

struct CachedModel {
    std::string name;
    std::shared_ptr<const Model> model;
};

// The model called `name`, or the default model if `name` is empty. Throws
// invalid_input naming the model if it does not exist. `fcinfo` locates the
// extension's schema (where the model table lives).
CachedModel load_model(FunctionCallInfo fcinfo, const std::optional<std::string>& name);

// Counts for tests and monitoring: models decoded and cache hits.
struct CacheStats {
    uint64_t decodes;
    uint64_t hits;
    uint64_t cached;
};
CacheStats cache_stats();

void register_model_cache();

}  // namespace recsys::pg
