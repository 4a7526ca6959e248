// Many users at once: recommend_all, and offline evaluation (recsys_evaluate)
// of a model, or of blends of models (recsys_blend_select), on a test query.
#include <optional>
#include <unordered_map>

#include "args.h"
#include "batch.h"
#include "blend.h"
#include "model_cache.h"
#include "query_reader.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_evaluate);
PG_FUNCTION_INFO_V1(recsys_blend_select);
PG_FUNCTION_INFO_V1(recsys_recommend_all);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// The test query's rows as a TestSet over `model`'s indexes: known users
// by index, unknown ones by id; items the model does not know get indexes
// past its catalogue (counted in `unknown_items`).
TestSet read_test(const Model& model, const std::string& test_query, const std::string& search_path, uint64_t& rows,
                  size_t& n_unknown_items) {
    std::unordered_map<std::string, size_t> user_slot;
    std::vector<std::optional<uint32_t>> slot_user;
    std::vector<std::vector<uint32_t>> slot_items;
    std::unordered_map<std::string, uint32_t> unknown_items;
    rows = 0;
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
    n_unknown_items = unknown_items.size();
    return test;
}

// An evaluation as the jsonb evaluate() returns.
std::string evaluation_json(const EvaluationResult& r, int32 k, bool exclude_seen, uint64_t rows, size_t unknown_items) {
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
    return "{\"k\": " + std::to_string(k) + ", \"exclude_seen\": " + (exclude_seen ? "true" : "false") +
           ", \"test_rows\": " + std::to_string(rows) + ", \"test_items_unknown_to_model\": " +
           std::to_string(unknown_items) + ", \"all\": " + group(r.all) + ", \"known\": " + group(r.known) +
           ", \"unknown\": " + group(r.unknown) + "}";
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
        const bool exclude_seen = PG_GETARG_BOOL(4);
        uint64_t rows;
        size_t unknown_items;
        TestSet test = read_test(*model, text_arg(fcinfo, 1), text_arg(fcinfo, 3), rows, unknown_items);
        EvaluationResult r = evaluate(*model, test, size_t(k), backend_context(), 1024, exclude_seen);
        return jsonb_from_string(evaluation_json(r, k, exclude_seen, rows, unknown_items));
    });
}

// recsys_blend_select(models, start_score, costs, max_cost, seconds,
// test_query, metric, k, search_path): tune()'s blend search
// (blend::select_forward) over stored models, nothing stored: models[1] is
// the start, whose own metric is start_score; costs (one per model) bound
// the components by max_cost; no new trial after `seconds`. The weights
// (one per model), the steps taken, the trials estimated, and the blend's
// metrics as evaluate() gives them (NULL when nothing beat the start).
extern "C" Datum recsys_blend_select(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        const char* hint = "e.g. models => ARRAY['shop_ease', 'shop_knn'].";
        require_arg(fcinfo, 0, "models must not be NULL", hint);
        for (int a = 1; a <= 8; ++a)
            require_arg(fcinfo, a,
                        "start_score, costs, max_cost, seconds, test_query, metric, k and search_path must not be NULL");
        const double start_score = PG_GETARG_FLOAT8(1);
        blend::SelectOptions options;
        for (const auto& c : float8_array_arg(fcinfo, 2, "costs", "One cost per model, e.g. ARRAY[1.5, 0.2].")) {
            if (!c) throw invalid_input("costs must not contain NULL", "One cost per model, e.g. ARRAY[1.5, 0.2].");
            options.costs.push_back(*c);
        }
        options.max_cost = PG_GETARG_FLOAT8(3);
        options.seconds = PG_GETARG_FLOAT8(4);
        if (!(options.seconds >= 0))
            throw invalid_input("seconds must be 0 or more, got " + json_number(options.seconds),
                                "'Infinity' means no time limit.");
        const std::string metric = text_arg(fcinfo, 6);
        const int32 k = PG_GETARG_INT32(7);
        check_k(k, "Evaluate the top 10 with k => 10.");
        using Field = std::optional<double> RankingMetricsResult::*;
        const std::vector<std::pair<const char*, Field>> fields = {
            {"precision", &RankingMetricsResult::precision}, {"recall", &RankingMetricsResult::recall},
            {"ndcg", &RankingMetricsResult::ndcg}, {"map", &RankingMetricsResult::map},
            {"hit_rate", &RankingMetricsResult::hit_rate}};
        Field field = nullptr;
        for (const auto& [n, f] : fields)
            if (metric == n) field = f;
        if (!field) throw invalid_input("unknown metric \"" + metric + "\"", "Use precision, recall, ndcg, map or hit_rate.");
        std::vector<std::shared_ptr<const Model>> candidates;
        for (const auto& name : text_array_arg(fcinfo, 0, "models", hint)) candidates.push_back(load_model(fcinfo, name).model);
        if (candidates.empty())
            throw invalid_input("forward selection needs 2 to " + std::to_string(blend::kMaxCandidates) +
                                " candidate models, got 0", hint);
        if (!candidates[0]->has_users())
            throw invalid_input("the blended models were trained without per-user history and cannot be evaluated per user");
        uint64_t rows;
        size_t unknown_items;
        TestSet test = read_test(*candidates[0], text_arg(fcinfo, 5), text_arg(fcinfo, 8), rows, unknown_items);
        const auto sel = blend::select_forward(candidates, start_score, test, size_t(k), field, options, backend_context());
        std::string weights;
        for (double w : sel.weights) weights += (weights.empty() ? "" : ", ") + json_number(w);
        return jsonb_from_string(
            "{\"weights\": [" + weights + "], \"steps\": " + std::to_string(sel.steps) +
            ", \"trials\": " + std::to_string(sel.trials) + ", \"refined\": " + (sel.refined ? "true" : "false") +
            ", \"out_of_time\": " + (sel.out_of_time ? "true" : "false") + ", \"metrics\": " +
            (sel.result ? evaluation_json(*sel.result, k, true, rows, unknown_items) : std::string("null")) + "}");
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
