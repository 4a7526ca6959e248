// libFuzzer target of the parameters parser (the jsonb argument of train()
// and of the aggregate). Any text either parses or fails with
// recsys::Error(InvalidInput); what parses reads back the same from its
// canonical JSON, and every getter on it returns or fails with
// InvalidInput, as algorithms call them.
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <string_view>

#include "errors.h"
#include "fuzz_check.h"
#include "model.h"
#include "params.h"

using namespace recsys;
using fuzz::may_refuse;

namespace {

// The parameter names the algorithms read (tests/fuzz/params.dict lists
// them for the fuzzer too); getters are tried on each with the widest
// ranges the algorithms use.
const char* const kKeys[] = {
    "alpha", "binary", "bm25_b", "bm25_k1", "by", "cg_steps", "epsilon", "factors",
    "iterations", "lambda", "learning_rate", "max_items", "max_items_per_user", "min_items_per_user",
    "min_users_per_item", "neighbours", "pseudonymized_ids", "regularization", "seed", "shrinkage",
    "similarity", "solver", "store_history", "weighting", "compression", "top_m",
};

void read_all(const Params& p) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (const char* key : kKeys) {
        may_refuse([&] { p.get_double(key, 0.0, -inf, inf); });
        may_refuse([&] { p.get_double(key, 1.0, 1e-6, 1e6); });
        may_refuse([&] { p.get_int(key, 0, 0, INT64_MAX); });
        may_refuse([&] { p.get_int(key, 1, 1, UINT32_MAX); });
        may_refuse([&] { p.get_int(key, 0, INT64_MIN, 0); });
        may_refuse([&] { p.get_bool(key, false); });
        may_refuse([&] { p.get_string(key, "cosine", {"cosine", "cooccurrence", "jaccard"}); });
    }
    may_refuse([&] { p.reject_unknown("fuzz"); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        Params p;
        if (!fuzz::accepts([&] { p = Params::parse_json(text); }, ErrorKind::InvalidInput)) return 0;
        const std::string canonical = p.to_json();
        if (Params::parse_json(canonical).to_json() != canonical)
            fuzz::fail("the canonical JSON does not read back the same:", canonical);
        read_all(p);
        // What a model records and describe_model shows.
        const std::string effective = p.effective_json();
        if (Params::parse_json(effective).to_json() != effective)
            fuzz::fail("the effective JSON does not read back the same:", effective);
        Model m;
        m.params_json = canonical;
        may_refuse([&] { m.describe_json(); });  // "pseudonymized_ids" may be no boolean
    } catch (const std::exception& e) {
        fuzz::fail("uncaught exception:", e.what());
    }
    return 0;
}
