// train_ranker's C side (recsys_ranker_train): reads the purchases and item
// queries, maps ids, trains the ranker in the core and returns the model
// bytes with the training report. Storing is left to save_model (ranker.sql).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>

#include "args.h"
#include "model_cache.h"
#include "query_reader.h"
#include "ranker.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_ranker_train);
PG_FUNCTION_INFO_V1(recsys_ranker_check_params);
PG_FUNCTION_INFO_V1(recsys_explain_ranker);
PG_FUNCTION_INFO_V1(recsys_ranker_importance);
}

using namespace recsys;
using namespace recsys::pg;
using features::Purchase;

namespace {

// Ids as read (text); interned as integers when every one is a canonical
// integer, so that a model over bigint ids looks like one trained by train().
struct Ids {
    std::unordered_map<std::string, uint32_t> index;
    std::vector<std::string> texts;
    uint32_t get(const char* v) {
        auto [it, added] = index.try_emplace(v, uint32_t(texts.size()));
        if (added) texts.emplace_back(v);
        return it->second;
    }
    IdMap to_map() const {
        bool ints = true;
        for (const std::string& t : texts) {
            char* end = nullptr;
            errno = 0;
            const long long x = std::strtoll(t.c_str(), &end, 10);
            if (t.empty() || *end != '\0' || errno != 0 || std::to_string(x) != t) {
                ints = false;
                break;
            }
        }
        IdMap m;
        for (const std::string& t : texts) {
            if (ints) m.intern(int64_t(std::strtoll(t.c_str(), nullptr, 10)));
            else m.intern(std::string_view(t));
        }
        return m;
    }
};

double number(const char* v, const char* column, uint64_t row) {
    char* end = nullptr;
    const double x = std::strtod(v, &end);
    if (end == v || *end != '\0')
        throw invalid_input(std::string("the purchases query's ") + column + " in row " + std::to_string(row) +
                            " is not a number: " + v);
    return x;
}

}  // namespace

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

        Ids users, items;
        std::vector<Purchase> purchases;
        uint64_t row = 0;
        read_query(text_arg(fcinfo, 0), search_path,
                   {{"user_id", true}, {"item_id", true}, {"ts", true}, {"quantity", false}, {"price", false},
                    {"recsys_has_price", true}},
                   "the purchases query", [&](const std::vector<const char*>& v) {
                       ++row;
                       if (!v[0] || !v[1]) return;  // as train(): a NULL id is no purchase
                       if (!v[2])
                           throw invalid_input("the purchases query returned a NULL ts in row " + std::to_string(row),
                                               "Every purchase needs its time; filter the rows with ts IS NOT NULL.");
                       Purchase p;
                       p.user = users.get(v[0]);
                       p.item = items.get(v[1]);
                       p.ts = int64_t(std::floor(number(v[2], "ts", row)));
                       if (v[3]) {
                           p.quantity = number(v[3], "quantity", row);
                           if (!(p.quantity > 0) || !std::isfinite(p.quantity))
                               throw invalid_input("the purchases query returned quantity " + std::string(v[3]) +
                                                       " in row " + std::to_string(row) + ": quantities must be positive",
                                                   "Leave out returns and cancellations, e.g. WHERE quantity > 0.");
                       }
                       if (v[5][0] == 't') {
                           if (!v[4])
                               throw invalid_input("the purchases query returned a NULL price in row " +
                                                       std::to_string(row),
                                                   "Filter the rows with price > 0, or leave the price column out.");
                           p.price = number(v[4], "price", row);
                           if (!(p.price > 0) || !std::isfinite(p.price))
                               throw invalid_input("the purchases query returned price " + std::string(v[4]) +
                                                       " in row " + std::to_string(row) + ": prices must be positive",
                                                   "Filter the rows with price > 0, or leave the price column out.");
                       }
                       purchases.push_back(p);
                   });
        if (purchases.empty())
            throw invalid_input("the purchases query returned no rows",
                                "It must return user_id, item_id and ts for each purchase.");

        features::ItemAttributes attributes;
        if (!PG_ARGISNULL(1)) {
            const uint32_t n_items = uint32_t(items.texts.size());
            std::unordered_map<std::string, uint32_t> categories;
            bool any_category = false, any_price = false;
            std::vector<uint32_t> category(n_items, features::kNoCategory);
            std::vector<double> price(n_items, std::numeric_limits<double>::quiet_NaN());
            uint64_t irow = 0;
            std::vector<uint64_t> row_of(n_items, 0);  // the items query's row of each bought item, 0 = none
            read_query(text_arg(fcinfo, 1), search_path, {{"item_id", true}, {"category", false}, {"price", false}},
                       "the items query", [&](const std::vector<const char*>& v) {
                           ++irow;
                           if (!v[0]) return;
                           auto it = items.index.find(v[0]);
                           if (it == items.index.end()) return;  // never bought: never a candidate
                           if (row_of[it->second])
                               throw invalid_input("the items query returned item " + std::string(v[0]) +
                                                       " twice (rows " + std::to_string(row_of[it->second]) +
                                                       " and " + std::to_string(irow) + ")",
                                                   "Return one row per item, e.g. with SELECT DISTINCT ON (item_id).");
                           row_of[it->second] = irow;
                           if (v[1]) {
                               any_category = true;
                               category[it->second] =
                                   categories.try_emplace(v[1], uint32_t(categories.size())).first->second;
                           }
                           if (v[2]) {
                               char* end = nullptr;
                               const double x = std::strtod(v[2], &end);
                               if (end == v[2] || *end != '\0' || !(x > 0) || !std::isfinite(x))
                                   throw invalid_input("the items query returned price " + std::string(v[2]) +
                                                           " in row " + std::to_string(irow) +
                                                           ": prices must be positive",
                                                       "Filter the rows with price > 0, or return NULL for an "
                                                       "unknown price.");
                               any_price = true;
                               price[it->second] = x;
                           }
                       });
            const auto missing = size_t(std::count(row_of.begin(), row_of.end(), uint64_t(0)));
            if (missing) {
                const size_t first = size_t(std::find(row_of.begin(), row_of.end(), uint64_t(0)) - row_of.begin());
                backend_context().notice(
                    std::to_string(missing) + " of the " + std::to_string(n_items) +
                        " purchased items have no row in the items query (e.g. " + items.texts[first] +
                        "): their category and list price are missing",
                    "Their category and price features are missing values (the learners handle them); add the "
                    "items to the items query to use them.");
            }
            if (any_category) {
                attributes.n_categories = uint32_t(categories.size());
                attributes.category = std::move(category);
            }
            if (any_price) attributes.list_price = std::move(price);
        }

        ranker::Report report;
        const Context ctx = backend_context();
        Model m = ranker::train_ranker(purchases, users.to_map(), items.to_map(), attributes, params, ctx, &report);
        const std::vector<uint8_t> bytes = m.serialize(ctx);
        const Datum report_datum = jsonb_from_string(report.to_json());
        const Datum model_datum = PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
        ResultRows out(fcinfo);
        out.add([&](Datum* values, bool*) {
            values[0] = model_datum;
            values[1] = report_datum;
        });
        return (Datum)0;
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
