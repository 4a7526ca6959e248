// Purchase timing's SQL entry points (timing.h, timing.sql): training from
// the wrapped purchases / items queries (recsys_timing_train), per-customer
// and batch predictions, evaluation on later purchases, explanations.
#include <cmath>
#include <string>

#include "args.h"
#include "model_cache.h"
#include "purchase_reader.h"
#include "query_reader.h"
#include "timing.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_timing_train);
PG_FUNCTION_INFO_V1(recsys_timing_check_params);
PG_FUNCTION_INFO_V1(recsys_next_purchase);
PG_FUNCTION_INFO_V1(recsys_next_purchases);
PG_FUNCTION_INFO_V1(recsys_evaluate_timing);
PG_FUNCTION_INFO_V1(recsys_explain_timing);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// Seconds since 1970 <-> PostgreSQL's microseconds since 2000.
constexpr int64_t kPgEpochSeconds = 946684800;

int64_t transaction_start_seconds() {
    return int64_t(GetCurrentTransactionStartTimestamp() / USECS_PER_SEC) + kPgEpochSeconds;
}

Datum timestamptz_datum(double epoch_seconds) {
    return TimestampTzGetDatum(TimestampTz(std::llround((epoch_seconds - double(kPgEpochSeconds)) * 1e6)));
}

const timing::TimingScorer& timing_of(const CachedModel& loaded) {
    const auto* t = dynamic_cast<const timing::TimingScorer*>(loaded.model->scorer.get());
    if (!t)
        throw invalid_input("model \"" + loaded.name + "\" is not a purchase-timing model (its algorithm is " +
                                loaded.model->algorithm + ")",
                            "Train one with train_timing().");
    return *t;
}

uint32_t known_user(FunctionCallInfo fcinfo, const CachedModel& loaded) {
    const std::string id = id_text_arg(fcinfo, 0, "user_id");
    auto user = loaded.model->users.find(id);
    if (!user)
        throw invalid_input("user " + id + " is not in model \"" + loaded.name + "\"",
                            "The model knows the customers of its training purchases; retrain it to add new ones.");
    return *user;
}

void add_prediction(ResultRows& rows, const timing::TimingScorer& t, const timing::Prediction& p,
                    const std::string* user_id) {
    rows.add([&](Datum* values, bool*) {
        int c = 0;
        if (user_id) values[c++] = text_datum(*user_id);
        values[c++] = Float4GetDatum(float(p.expected_days));
        values[c++] = timestamptz_datum(double(t.now()) + p.expected_days * 86400.0);
        values[c++] = Float4GetDatum(float(p.p_within));
        values[c++] = BoolGetDatum(p.one_purchase);
    });
}

}  // namespace

extern "C" Datum recsys_timing_check_params(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        timing::check_params(PG_ARGISNULL(0) ? std::string("{}") : jsonb_arg(fcinfo, 0));
        return null_result(fcinfo);
    });
}

// recsys_timing_train(purchases_source, items_source, params, search_path):
// one row (model bytea, report jsonb); sources wrapped by
// recsys_purchases_source / recsys_items_source.
extern "C" Datum recsys_timing_train(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 0, "purchases_query must not be NULL");
        require_arg(fcinfo, 3, "search_path must not be NULL");
        const std::string params = PG_ARGISNULL(2) ? std::string("{}") : jsonb_arg(fcinfo, 2);
        timing::check_params(params);
        PurchaseData data = read_purchases(text_arg(fcinfo, 0), optional_text(fcinfo, 1), text_arg(fcinfo, 3),
                                           transaction_start_seconds());
        timing::Report report;
        const Context ctx = backend_context();
        Model m = timing::train_timing(data.purchases, std::move(data.users), std::move(data.items), data.attributes,
                                       params, ctx, &report);
        return model_and_report(fcinfo, m, report.to_json(), ctx);
    });
}

// next_purchase(user_id, model): one row (expected_days, expected_at,
// p_within, one_purchase); an unknown user is an error.
extern "C" Datum recsys_next_purchase(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 0, "user_id must not be NULL", "Pass a customer of the model, e.g. next_purchase(12347, 'shop_timing').");
        CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 1));
        const timing::TimingScorer& t = timing_of(loaded);
        const uint32_t user = known_user(fcinfo, loaded);
        ResultRows rows(fcinfo);
        add_prediction(rows, t, t.predict(user), nullptr);
        return (Datum)0;
    });
}

// next_purchases(model): the same for every customer of the model.
extern "C" Datum recsys_next_purchases(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 0));
        const timing::TimingScorer& t = timing_of(loaded);
        const std::vector<timing::Prediction> all = t.predict_all(backend_context());
        ResultRows rows(fcinfo);
        for (uint32_t u = 0; u < all.size(); ++u) {
            const std::string id = loaded.model->users.to_string(u);
            add_prediction(rows, t, all[u], &id);
        }
        return (Datum)0;
    });
}

// recsys_evaluate_timing(model, wrapped test query (user_id, ts in epoch
// seconds), search_path): one row of metrics.
extern "C" Datum recsys_evaluate_timing(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
            throw invalid_input("model and test_query must not be NULL",
                                "e.g. evaluate_timing('shop_timing', 'SELECT customer_id AS user_id, invoice_date AS "
                                "ts FROM later_purchases').");
        CachedModel loaded = load_model(fcinfo, text_arg(fcinfo, 0));
        const timing::TimingScorer& t = timing_of(loaded);
        std::vector<std::pair<uint32_t, int64_t>> test;
        int64_t end = t.now();
        uint64_t row = 0;
        read_query(text_arg(fcinfo, 1), text_arg(fcinfo, 2), {{"user_id", true}, {"ts", true}}, "the test query",
                   [&](const std::vector<const char*>& v) {
                       ++row;
                       if (!v[0]) return;
                       if (!v[1])
                           throw invalid_input("the test query returned a NULL ts in row " + std::to_string(row),
                                               "Filter the rows with ts IS NOT NULL.");
                       const int64_t ts = int64_t(std::floor(std::strtod(v[1], nullptr)));
                       end = std::max(end, ts + 1);
                       if (auto u = loaded.model->users.find(std::string_view(v[0]))) test.push_back({*u, ts});
                   });
        uint64_t skipped = 0;
        const timing::Metrics m = t.evaluate(test, end, &skipped, backend_context());
        ResultRows rows(fcinfo);
        rows.add([&](Datum* values, bool* nulls) {
            values[0] = Int64GetDatum(int64_t(m.customers));
            values[1] = Int64GetDatum(int64_t(m.observed));
            const double metrics[] = {m.mae, m.rmse, m.concordance, m.auc, m.brier};
            for (int k = 0; k < 5; ++k) {
                values[2 + k] = Float8GetDatum(metrics[k]);
                nulls[2 + k] = std::isnan(metrics[k]);
            }
            values[7] = Int64GetDatum(int64_t(skipped));
        });
        return (Datum)0;
    });
}

// explain_timing(user_id, model, target): per-feature terms of the days
// model's or the within model's margin, then "bias"; they add up to it.
extern "C" Datum recsys_explain_timing(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 0, "user_id must not be NULL");
        require_arg(fcinfo, 2, "target must not be NULL", "Use 'days' or 'within'.");
        CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 1));
        const timing::TimingScorer& t = timing_of(loaded);
        if (!may_read_contents(fcinfo, loaded))
            permission_denied("explain_timing shows features of the purchase history stored in model \"" +
                                  loaded.name + "\", which this role may not read",
                              "Members of the model's owner (" + loaded.owner +
                                  ") or of recsys_admin may explain it; next_purchase() works without it.");
        const uint32_t user = known_user(fcinfo, loaded);
        ResultRows rows(fcinfo);
        for (const auto& c : t.explain_features(user, text_arg(fcinfo, 2))) {
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
