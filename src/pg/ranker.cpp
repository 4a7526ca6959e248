// train_ranker's C side (recsys_ranker_train): reads the purchases and item
// queries, maps ids, trains the ranker in the core and returns the model
// bytes with the training report. Storing is left to save_model (ranker.sql).
#include <cmath>
#include <string>

#include "args.h"
#include "model_cache.h"
#include "purchase_reader.h"
#include "ranker.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_ranker_train);
PG_FUNCTION_INFO_V1(recsys_ranker_check_params);
PG_FUNCTION_INFO_V1(recsys_explain_ranker);
PG_FUNCTION_INFO_V1(recsys_ranker_importance);
}

using namespace recsys;
using namespace recsys::pg;

// recsys_ranker_check_params(params): the core's error for a parameter set.
extern "C" Datum recsys_ranker_check_params(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        ranker::check_params(PG_ARGISNULL(0) ? std::string("{}") : jsonb_arg(fcinfo, 0));
        return null_result(fcinfo);
    });
}

// recsys_ranker_train(purchases_query, items_query, params, search_path):
// one row (model bytea, report jsonb). The purchases query was wrapped by
// ranker.sql: ts is in epoch seconds, and quantity / price are present
// only when the caller's query returns them.
extern "C" Datum recsys_ranker_train(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 0, "purchases_query must not be NULL");
        require_arg(fcinfo, 3, "search_path must not be NULL");
        const std::string params = PG_ARGISNULL(2) ? std::string("{}") : jsonb_arg(fcinfo, 2);
        ranker::check_params(params);
        const std::string search_path = text_arg(fcinfo, 3);

        PurchaseData data = read_purchases(text_arg(fcinfo, 0), optional_text(fcinfo, 1), search_path);
        ranker::Report report;
        const Context ctx = backend_context();
        Model m = ranker::train_ranker(data.purchases, std::move(data.users), std::move(data.items), data.attributes, params,
                                       ctx, &report);
        return model_and_report(fcinfo, m, report.to_json(), ctx);
    });
}

namespace {

const ranker::RankerScorer& ranker_of(const CachedModel& loaded) {
    const auto* rs = dynamic_cast<const ranker::RankerScorer*>(loaded.model->scorer.get());
    if (!rs)
        throw invalid_input("model \"" + loaded.name + "\" is not a ranker (its algorithm is " +
                                loaded.model->algorithm + ")",
                            "Train one with train_ranker(); explain_recommendation explains the other models.");
    return *rs;
}

}  // namespace

// explain_ranker(user_id text, item_id text, model text): the features of
// the pair, each with its part of the ranker's margin (they add up to it
// with the "bias" row).
extern "C" Datum recsys_explain_ranker(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            throw invalid_input("user_id and item_id must not be NULL",
                                "Pass the user and the recommended item, e.g. explain_ranker(42, '85123A', 'shop').");
        CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 2));
        const ranker::RankerScorer& rs = ranker_of(loaded);
        // The features describe the user's purchases.
        if (!may_read_contents(fcinfo, loaded))
            permission_denied("explain_ranker shows features of the purchase history stored in model \"" +
                                  loaded.name + "\", which this role may not read",
                              "Members of the model's owner (" + loaded.owner +
                                  ") or of recsys_admin may explain it; recommend() works without it.");
        const Model& m = *loaded.model;
        auto user = m.users.find(text_arg(fcinfo, 0));
        auto item = m.items.find(text_arg(fcinfo, 1));
        ResultRows rows(fcinfo);
        if (!user || !item) return (Datum)0;  // nothing the model knows to explain
        for (const auto& c : rs.explain_features(m.history_of(*user), *user, *item)) {
            rows.add([&](Datum* values, bool* nulls) {
                values[0] = text_datum(c.feature);
                values[1] = Float8GetDatum(c.value);
                nulls[1] = std::isnan(c.value);
                values[2] = Float8GetDatum(c.contribution);
            });
        }
        return (Datum)0;
    });
}

// feature_importance(model text): the learner's importance per feature
// (total gain for trees, |coefficient| for logistic); no rows for mlp.
extern "C" Datum recsys_ranker_importance(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 0));
        const ranker::RankerScorer& rs = ranker_of(loaded);
        ResultRows rows(fcinfo);
        for (const auto& [feature, value] : rs.importance())
            rows.add([&](Datum* values, bool*) {
                values[0] = text_datum(feature);
                values[1] = Float8GetDatum(value);
            });
        return (Datum)0;
    });
}
