// update_model's C part (recsys_update_rows): the active version of a model
// plus the rows of the caller's query into a new model bytea (core:
// update.h). Storing it as a new version is update_model's, in SQL
// (lifecycle.sql).
#include <chrono>
#include <cmath>

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
// record (not a set: no tuplestore); trained_with: the recipe's parameters, or NULL.
extern "C" Datum recsys_update_rows(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        for (int n = 0; n < 4; ++n)
            require_arg(fcinfo, n, "name, query, params and search_path must not be NULL",
                        "e.g. update_model('shop', 'SELECT user_id, item_id FROM purchases WHERE day = current_date');");
        // Where the time goes, in the summary's "seconds": loading the active
        // model (none if this backend has it decoded), reading the new rows,
        // the core's merging and training, encoding the new model.
        using Clock = std::chrono::steady_clock;
        auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
        auto ms = [](double seconds) { return json_number(std::round(seconds * 1000) / 1000); };  // to the ms
        auto started = Clock::now();
        auto loaded = load_model(fcinfo, text_arg(fcinfo, 0));
        const double load_seconds = since(started);
        const auto& [name, owner, model] = loaded;
        // The new bytes embed every user's history, as the stored ones do.
        if (!may_read_contents(fcinfo, loaded))
            permission_denied("updating model \"" + name + "\" reads the purchase history stored in it, which this role "
                              "may not read",
                              "Members of the model's owner (" + owner + ") or of recsys_admin may update it.");
        // update_model wraps the caller's query so that it always returns a
        // weight (1 when the query has none).
        InteractionBuilder rows;
        started = Clock::now();
        read_query(text_arg(fcinfo, 1), text_arg(fcinfo, 3), {{"user_id", true}, {"item_id", true}, {"weight", true}},
                   "the query of new rows", [&](const std::vector<const char*>& v) {
                       add_update_row(*model, rows, v[0], v[1], v[2], true);
                   });
        const double read_seconds = since(started);
        const Context ctx = backend_context();
        const std::string given = PG_ARGISNULL(4) ? std::string() : jsonb_arg(fcinfo, 4);
        UpdateResult result = update_model(*model, name, rows, jsonb_arg(fcinfo, 2), ctx, given);
        started = Clock::now();
        std::vector<uint8_t> bytes = result.model.serialize(ctx);
        result.summary_json.insert(result.summary_json.size() - 1,
                                   ", \"seconds\": {\"load\": " + ms(load_seconds) +
                                       ", \"read\": " + ms(read_seconds) +
                                       ", \"merge\": " + ms(result.merge_seconds) +
                                       ", \"train\": " + ms(result.train_seconds) +
                                       ", \"encode\": " + ms(since(started)) + "}");
        std::string description = result.model.describe_json();
        description.insert(description.size() - 1, ", \"bytes\": " + std::to_string(bytes.size()));
        bytea* model_bytes = bytea_result(bytes.data(), bytes.size());
        // The store describes what it stores: from here, not by decoding.
        remember_trained(std::move(bytes), std::move(description));
        return record_result(fcinfo, [&](Datum* values, bool* nulls) {
            (void)nulls;
            values[0] = PointerGetDatum(model_bytes);
            values[1] = jsonb_from_string(result.summary_json);
        });
    });
}
