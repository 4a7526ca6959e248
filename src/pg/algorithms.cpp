// SQL access to the algorithm registry (core: algorithms.cpp): what each
// algorithm is, takes and can do, and how much memory its training needs.
#include "args.h"
#include "door.h"
#include "model.h"

using namespace recsys;
using namespace recsys::pg;

extern "C" {
PG_FUNCTION_INFO_V1(recsys_algorithms_json);
PG_FUNCTION_INFO_V1(recsys_memory_estimate);
}

extern "C" Datum recsys_algorithms_json(PG_FUNCTION_ARGS) {
    return guarded([&] { return jsonb_from_string(algorithms_json()); });
}

// (algorithm, params, n_users, n_items): STRICT.
extern "C" Datum recsys_memory_estimate(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        const std::string algorithm = text_arg(fcinfo, 0);
        const std::string params = jsonb_arg(fcinfo, 1);
        const int64 n_users = PG_GETARG_INT64(2), n_items = PG_GETARG_INT64(3);
        if (n_users < 0 || n_items < 0)
            throw invalid_input("n_users and n_items must not be negative", "Pass the data's numbers of users and items.");
        const std::string out = memory_estimate_json(algorithm, params, uint64_t(n_users), uint64_t(n_items));
        if (out == "null") return null_result(fcinfo);
        return jsonb_from_string(out);
    });
}
