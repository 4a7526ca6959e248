// Train/test splits: in_test_split and recsys_split (split_per_user,
// split_last_n).
#include <cmath>
#include <cstdlib>
#include <optional>

#include "args.h"
#include "query_reader.h"
#include "split.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_in_test_split);
PG_FUNCTION_INFO_V1(recsys_split);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

uint64_t seed_arg(FunctionCallInfo fcinfo, int n) {
    int64 seed = PG_GETARG_INT64(n);
    if (seed < 0)
        throw invalid_input("seed must not be negative, got " + std::to_string(seed),
                            "Pass a seed of 0 or more, e.g. 42 (the default); the same seed gives the same split.");
    return uint64_t(seed);
}

}  // namespace

// in_test_split(user_id, item_id, fraction, seed)
extern "C" Datum recsys_in_test_split(PG_FUNCTION_ARGS) {
    return guarded([&] {
        std::string user = id_text_arg(fcinfo, 0, "user_id");
        std::string item = id_text_arg(fcinfo, 1, "item_id");
        return BoolGetDatum(in_test_split(user, item, PG_GETARG_FLOAT8(2), seed_arg(fcinfo, 3)));
    });
}

// recsys_split(query, method, fraction, n, seed): every row of the query
// with is_test set. 'per_user' holds out a share of each user's items;
// 'last_n' each user's last n distinct items by the column recsys_epoch.
extern "C" Datum recsys_split(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 0, "query must not be NULL", "Pass a SELECT returning user_id and item_id.");
        require_arg(fcinfo, 1, "split method must not be NULL", "Use 'per_user' or 'last_n'.");
        require_arg(fcinfo, 5, "search_path must not be NULL", "Pass current_setting('search_path').");
        std::string query = text_arg(fcinfo, 0);
        std::string method = text_arg(fcinfo, 1);
        const bool last_n = method == "last_n";
        if (!last_n && method != "per_user") throw invalid_input("unknown split method \"" + method + "\"");
        if (!last_n && PG_ARGISNULL(2))
            throw invalid_input("fraction must not be NULL", "Pass the share of each user's items to hold out, e.g. 0.2.");
        if (last_n && PG_ARGISNULL(3))
            throw invalid_input("n must not be NULL", "Pass how many of each user's last items to hold out, e.g. 1.");
        require_arg(fcinfo, 4, "seed must not be NULL", "Pass a seed, e.g. 42, or leave it out.");
        const double fraction = last_n ? 0 : PG_GETARG_FLOAT8(2);
        const int64_t n_test = last_n ? PG_GETARG_INT32(3) : 0;
        const uint64_t seed = seed_arg(fcinfo, 4);
        const std::string search_path = text_arg(fcinfo, 5);
        if (!last_n && !(fraction >= 0 && fraction <= 1))
            throw invalid_input("test fraction must be between 0 and 1, got " + format_double(fraction),
                                "Pass the share of each user's items to hold out, e.g. 0.2.");

        // NULL ids train nothing and test nothing: such rows are left out.
        SplitRows rows;
        std::vector<std::optional<double>> weights;
        read_query(query, search_path, {{"user_id", true}, {"item_id", true}, {"weight", false}, {"recsys_epoch", last_n}},
                   "the query", [&](const std::vector<const char*>& v) {
                       if (!v[0] || !v[1]) return;
                       rows.add(v[0], v[1], v[3] ? int64_t(std::llround(std::strtod(v[3], nullptr))) : 0);
                       if (!v[2]) {
                           weights.emplace_back();
                           return;
                       }
                       double weight = 0;
                       pg_call([&] { weight = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(v[2]))); });
                       weights.emplace_back(weight);
                   });
        const Context ctx = backend_context();
        const std::vector<bool> is_test = last_n ? rows.leave_last_n(n_test, seed, ctx)
                                                 : rows.hold_out_per_user(fraction, seed, ctx);
        ResultRows out(fcinfo);
        for (size_t r = 0; r < rows.size(); ++r)
            out.add([&](Datum* values, bool* nulls) {
                values[0] = text_datum(rows.user(r));
                values[1] = text_datum(rows.item(r));
                values[2] = Float8GetDatum(weights[r].value_or(0));
                nulls[2] = !weights[r];
                values[3] = BoolGetDatum(is_test[r]);
            });
        return (Datum)0;
    });
}
