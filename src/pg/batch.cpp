// Many users at once: recommend_all, and offline evaluation (recsys_evaluate)
// of a model on a test query.
#include <optional>
#include <unordered_map>

#include "args.h"
#include "batch.h"
#include "blend.h"
#include "model_cache.h"
#include "query_reader.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_evaluate);
PG_FUNCTION_INFO_V1(recsys_evaluate_blend);
PG_FUNCTION_INFO_V1(recsys_recommend_all);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// The ranking metrics of `model` on the test query's rows, as jsonb.
Datum evaluation_json(const Model& model, const std::string& test_query, const std::string& search_path, int32 k,
                      bool exclude_seen) {
    // Test items per user: known users by model index, unknown users by id;
    // items the model does not know get indexes past its catalogue.
    std::unordered_map<std::string, size_t> user_slot;
    std::vector<std::optional<uint32_t>> slot_user;
    std::vector<std::vector<uint32_t>> slot_items;
    std::unordered_map<std::string, uint32_t> unknown_items;
    uint64_t rows = 0;
    read_query(test_query, search_path, {{"user_id", true}, {"item_id", true}}, "the test query",
               [&](const std::vector<const char*>& v) {
                   if (!v[0] || !v[1]) return;
                   ++rows;
                   auto [it, added] = user_slot.try_emplace(v[0], slot_user.size());
                   if (added) {
                       slot_user.push_back(model.users.find(std::string_view(v[0])));
                       slot_items.emplace_back();
                   }
                   uint32_t item;
                   if (auto known = model.items.find(std::string_view(v[1]))) item = *known;
                   else item = unknown_items.try_emplace(v[1], model.n_items() + uint32_t(unknown_items.size())).first->second;
                   slot_items[it->second].push_back(item);
               });
    TestSet test;
    for (size_t s = 0; s < slot_user.size(); ++s) test.add(slot_user[s], slot_items[s]);
    EvaluationResult r = evaluate(model, test, size_t(k), backend_context(), 1024, exclude_seen);
    if (r.users == 0) {
        pg_call([&] { ereport(NOTICE, (errmsg("the test query returned no (user_id, item_id) rows: the metrics are NULL"))); });
    }
    auto metric = [](const std::optional<double>& v) {
        if (!v) return std::string("null");
        char buf[40];
        snprintf(buf, sizeof buf, "%.17g", *v);
        return std::string(buf);
    };
    auto group = [&](const RankingMetricsResult& m) {
        return "{\"users\": " + std::to_string(m.users) + ", \"precision\": " + metric(m.precision) +
               ", \"recall\": " + metric(m.recall) + ", \"ndcg\": " + metric(m.ndcg) + ", \"map\": " + metric(m.map) +
               ", \"hit_rate\": " + metric(m.hit_rate) + ", \"coverage\": " + metric(m.coverage) + "}";
    };
    return jsonb_from_string("{\"k\": " + std::to_string(k) + ", \"exclude_seen\": " +
                             (exclude_seen ? "true" : "false") + ", \"test_rows\": " + std::to_string(rows) +
                             ", \"test_items_unknown_to_model\": " + std::to_string(unknown_items.size()) +
                             ", \"all\": " + group(r.all) + ", \"known\": " + group(r.known) +
                             ", \"unknown\": " + group(r.unknown) + "}");
}

}  // namespace

// recsys_evaluate(model, test_query, k, search_path, exclude_seen): ranking metrics as jsonb.
extern "C" Datum recsys_evaluate(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
            throw invalid_input("model, test_query, k and exclude_seen must not be NULL",
                                "Pass a model name, a SELECT returning the test rows' user_id and item_id, and k, "
                                "e.g. evaluate('shop', 'SELECT user_id, item_id FROM test', 10).");
        const int32 k = PG_GETARG_INT32(2);
        check_k(k, "Evaluate the top 10 with k => 10.");
        auto [name, owner, model] = load_model(fcinfo, text_arg(fcinfo, 0));
        if (!model->has_users())
            throw invalid_input("model \"" + name + "\" was trained without per-user history and cannot be evaluated per user");
        return evaluation_json(*model, text_arg(fcinfo, 1), text_arg(fcinfo, 3), k, PG_GETARG_BOOL(4));
    });
}

// recsys_evaluate_blend(models, weights, test_query, k, search_path): the
// metrics of a blend of stored models, built in memory (tune()'s weight
// search: nothing stored per weight tried).
extern "C" Datum recsys_evaluate_blend(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        require_arg(fcinfo, 2, "test_query must not be NULL");
        require_arg(fcinfo, 4, "search_path must not be NULL");
        const int32 k = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
        check_k(k, "Evaluate the top 10 with k => 10.");
        Model model = load_blend(fcinfo, 0, 1, false);
        if (!model.has_users())
            throw invalid_input("the blended models were trained without per-user history and cannot be evaluated per user");
        return evaluation_json(model, text_arg(fcinfo, 2), text_arg(fcinfo, 4), k, true);
    });
}

// recommend_all(k, model, users, exclude_seen): every user's top-k, scored
// in blocks on recsys.threads threads, written out block by block.
extern "C" Datum recsys_recommend_all(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        const size_t k = k_arg(fcinfo, 0, "Pass how many items per user, e.g. 10.");
        auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 1));
        if (!model->has_users())
            throw invalid_input("model \"" + name + "\" was trained without per-user history",
                                "Recommend from baskets with recommend_for_items(items, k).");
        std::vector<uint32_t> users;
        if (PG_ARGISNULL(2)) {
            users.resize(model->n_users());
            for (uint32_t u = 0; u < model->n_users(); ++u) users[u] = u;
        } else {
            for (const auto& id : text_array_arg(fcinfo, 2, "users",
                                                 "Pass a flat array of user ids as text, e.g. ARRAY['17850', '13047']."))
                if (auto u = model->users.find(id)) users.push_back(*u);  // unknown users: no rows
        }
        RecommendOptions options;
        options.k = k;
        options.exclude_seen = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
        ResultRows rows(fcinfo);
        std::string user_id;
        recommend_all(*model, users, options, backend_context(), [&](uint32_t user, std::span<const Recommendation> recs) {
            user_id = model->users.to_string(user);
            int rank = 0;
            for (const auto& r : recs) {
                const std::string item_id = model->items.to_string(r.item);
                ++rank;
                rows.add([&](Datum* values, bool*) {
                    values[0] = text_datum(user_id);
                    values[1] = text_datum(item_id);
                    values[2] = Float4GetDatum(r.score);
                    values[3] = Int32GetDatum(rank);
                    values[4] = CStringGetTextDatum(r.source == Source::Model ? "model" : "popularity");
                });
            }
        });
        return (Datum)0;
    });
}
