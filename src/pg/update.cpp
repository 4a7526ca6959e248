// update_model's C part (recsys_update_rows): the active version of a model
// plus the rows of the caller's query into a new model bytea (core:
// update.h). Storing it as a new version is update_model's, in SQL
// (lifecycle.sql).
#include "args.h"
#include "model_cache.h"
#include "query_reader.h"
#include "update.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_update_rows);
}

using namespace recsys;
using namespace recsys::pg;

// recsys_update_rows(name, query, params, search_path, trained_with) -> (model bytea, summary jsonb), one
// row; trained_with: the recipe's parameters, or NULL.
extern "C" Datum recsys_update_rows(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        for (int n = 0; n < 4; ++n)
            require_arg(fcinfo, n, "name, query, params and search_path must not be NULL",
                        "e.g. update_model('shop', 'SELECT user_id, item_id FROM purchases WHERE day = current_date');");
        auto loaded = load_model(fcinfo, text_arg(fcinfo, 0));
        const auto& [name, owner, model] = loaded;
        // The new bytes embed every user's history, as the stored ones do.
        if (!may_read_contents(fcinfo, loaded))
            permission_denied("updating model \"" + name + "\" reads the purchase history stored in it, which this role "
                              "may not read",
                              "Members of the model's owner (" + owner + ") or of recsys_admin may update it.");
        // update_model wraps the caller's query so that it always returns a
        // weight (1 when the query has none).
        InteractionBuilder rows;
        read_query(text_arg(fcinfo, 1), text_arg(fcinfo, 3), {{"user_id", true}, {"item_id", true}, {"weight", true}},
                   "the query of new rows", [&](const std::vector<const char*>& v) {
                       add_update_row(*model, rows, v[0], v[1], v[2], true);
                   });
        const Context ctx = backend_context();
        const std::string given = PG_ARGISNULL(4) ? std::string() : jsonb_arg(fcinfo, 4);
        UpdateResult result = update_model(*model, name, rows, jsonb_arg(fcinfo, 2), ctx, given);
        std::vector<uint8_t> bytes = result.model.serialize(ctx);
        std::string description = result.model.describe_json();
        description.insert(description.size() - 1, ", \"bytes\": " + std::to_string(bytes.size()));
        ResultRows out(fcinfo);
        out.add([&](Datum* values, bool* nulls) {
            (void)nulls;
            values[0] = PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
            values[1] = jsonb_from_string(result.summary_json);
        });
        // The store describes what it stores: from here, not by decoding.
        remember_trained(std::move(bytes), std::move(description));
        return (Datum)0;
    });
}
