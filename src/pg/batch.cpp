// Splits, evaluation and batch output: in_test_split, recsys_split,
// recsys_evaluate and recommend_all.
#include <cmath>
#include <cstdlib>
#include <optional>
#include <unordered_map>

#include "batch.h"
#include "door.h"
#include "errors.h"
#include "model_cache.h"
#include "query_reader.h"
#include "split.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_in_test_split);
PG_FUNCTION_INFO_V1(recsys_split);
PG_FUNCTION_INFO_V1(recsys_evaluate);
PG_FUNCTION_INFO_V1(recsys_recommend_all);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// An id argument of type bigint, integer or text, as text (integers in
// decimal, so that 42 and '42' hash alike).
std::string id_text(FunctionCallInfo fcinfo, int n, const char* what) {
    Oid type = InvalidOid;
    pg_call([&] { type = get_fn_expr_argtype(fcinfo->flinfo, n); });
    switch (type) {
        case INT8OID: return std::to_string(PG_GETARG_INT64(n));
        case INT4OID: return std::to_string(PG_GETARG_INT32(n));
        case INT2OID: return std::to_string(PG_GETARG_INT16(n));
        case TEXTOID:
        case VARCHAROID:
        case BPCHAROID: return text_arg(fcinfo, n);
        case UNKNOWNOID: return DatumGetCString(PG_GETARG_DATUM(n));
    }
    const char* name = nullptr;
    pg_call([&] { name = format_type_be(type); });
    throw invalid_input(std::string(what) + " must be bigint, integer or text, not " + name,
                        std::string("Cast it, e.g. ") + what + "::bigint or " + what + "::text.");
}

uint64_t seed_arg(FunctionCallInfo fcinfo, int n) {
    int64 seed = PG_GETARG_INT64(n);
    if (seed < 0)
        throw invalid_input("seed must not be negative, got " + std::to_string(seed),
                            "Pass a seed of 0 or more, e.g. 42 (the default); the same seed gives the same split.");
    return uint64_t(seed);
}

std::string format_double(double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

// in_test_split(user_id, item_id, fraction, seed)
extern "C" Datum recsys_in_test_split(PG_FUNCTION_ARGS) {
    return guarded([&] {
        std::string user = id_text(fcinfo, 0, "user_id");
        std::string item = id_text(fcinfo, 1, "item_id");
        return BoolGetDatum(in_test_split(user, item, PG_GETARG_FLOAT8(2), seed_arg(fcinfo, 3)));
    });
}

// recsys_split(query, method, fraction, n, seed): every row of the query
// with is_test set. 'per_user' holds out a share of each user's items;
// 'last_n' each user's last n distinct items by the column recsys_epoch.
extern "C" Datum recsys_split(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0)) throw invalid_input("query must not be NULL", "Pass a SELECT returning user_id and item_id.");
        if (PG_ARGISNULL(1)) throw invalid_input("split method must not be NULL", "Use 'per_user' or 'last_n'.");
        if (PG_ARGISNULL(5)) throw invalid_input("search_path must not be NULL", "Pass current_setting('search_path').");
        std::string query = text_arg(fcinfo, 0);
        std::string method = text_arg(fcinfo, 1);
        const bool last_n = method == "last_n";
        if (!last_n && method != "per_user") throw invalid_input("unknown split method \"" + method + "\"");
        if (!last_n && PG_ARGISNULL(2))
            throw invalid_input("fraction must not be NULL", "Pass the share of each user's items to hold out, e.g. 0.2.");
        if (last_n && PG_ARGISNULL(3))
            throw invalid_input("n must not be NULL", "Pass how many of each user's last items to hold out, e.g. 1.");
        if (PG_ARGISNULL(4)) throw invalid_input("seed must not be NULL", "Pass a seed, e.g. 42, or leave it out.");
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
        pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        for (size_t r = 0; r < rows.size(); ++r) {
            const std::string& user = rows.user(r);
            const std::string& item = rows.item(r);
            pg_call([&] {
                CHECK_FOR_INTERRUPTS();
                Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(user.data(), int(user.size()))),
                                   PointerGetDatum(cstring_to_text_with_len(item.data(), int(item.size()))),
                                   Float8GetDatum(weights[r].value_or(0)), BoolGetDatum(is_test[r])};
                bool nulls[4] = {false, false, !weights[r], false};
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            });
        }
        return (Datum)0;
    });
}

// recsys_evaluate(model, test_query, k): ranking metrics as jsonb.
extern "C" Datum recsys_evaluate(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
            throw invalid_input("model, test_query and k must not be NULL",
                                "Pass a model name, a SELECT returning the test rows' user_id and item_id, and k, "
                                "e.g. evaluate('shop', 'SELECT user_id, item_id FROM test', 10).");
        const int32 k = PG_GETARG_INT32(2);
        if (k <= 0) throw invalid_input("k must be positive, got " + std::to_string(k), "Evaluate the top 10 with k => 10.");
        auto [name, owner, model] = load_model(fcinfo, text_arg(fcinfo, 0));
        if (!model->has_users())
            throw invalid_input("model \"" + name + "\" was trained without per-user history and cannot be evaluated per user");

        // Test items per user: known users by model index, unknown users by id;
        // items the model does not know get indexes past its catalogue.
        std::unordered_map<std::string, size_t> user_slot;
        std::vector<std::optional<uint32_t>> slot_user;
        std::vector<std::vector<uint32_t>> slot_items;
        std::unordered_map<std::string, uint32_t> unknown_items;
        uint64_t rows = 0;
        read_query(text_arg(fcinfo, 1), text_arg(fcinfo, 3), {{"user_id", true}, {"item_id", true}}, "the test query",
                   [&](const std::vector<const char*>& v) {
                       if (!v[0] || !v[1]) return;
                       ++rows;
                       auto [it, added] = user_slot.try_emplace(v[0], slot_user.size());
                       if (added) {
                           slot_user.push_back(model->users.find(std::string_view(v[0])));
                           slot_items.emplace_back();
                       }
                       uint32_t item;
                       if (auto known = model->items.find(std::string_view(v[1]))) item = *known;
                       else item = unknown_items.try_emplace(v[1], model->n_items() + uint32_t(unknown_items.size())).first->second;
                       slot_items[it->second].push_back(item);
                   });
        TestSet test;
        for (size_t s = 0; s < slot_user.size(); ++s) test.add(slot_user[s], slot_items[s]);
        EvaluationResult r = evaluate(*model, test, size_t(k), backend_context());
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
        return jsonb_from_string("{\"k\": " + std::to_string(k) + ", \"test_rows\": " + std::to_string(rows) +
                                 ", \"test_items_unknown_to_model\": " + std::to_string(unknown_items.size()) +
                                 ", \"all\": " + group(r.all) + ", \"known\": " + group(r.known) +
                                 ", \"unknown\": " + group(r.unknown) + "}");
    });
}

// recommend_all(k, model, users, exclude_seen): every user's top-k, scored
// in blocks on recsys.threads threads, written out block by block.
extern "C" Datum recsys_recommend_all(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0)) throw invalid_input("k must not be NULL", "Pass how many items per user, e.g. 10.");
        const int32 k = PG_GETARG_INT32(0);
        if (k <= 0) throw invalid_input("k must be positive, got " + std::to_string(k), "Pass how many items per user, e.g. 10.");
        std::optional<std::string> model_name;
        if (!PG_ARGISNULL(1)) model_name = text_arg(fcinfo, 1);
        auto [name, owner, model] = load_model(fcinfo, model_name);
        if (!model->has_users())
            throw invalid_input("model \"" + name + "\" was trained without per-user history",
                                "Recommend from baskets with recommend_for_items(items, k).");
        std::vector<uint32_t> users;
        if (PG_ARGISNULL(2)) {
            users.resize(model->n_users());
            for (uint32_t u = 0; u < model->n_users(); ++u) users[u] = u;
        } else {
            Datum* elems = nullptr;
            bool* nulls = nullptr;
            int count = 0;
            pg_call([&] {
                ArrayType* array = PG_GETARG_ARRAYTYPE_P(2);
                if (ARR_NDIM(array) > 1)
                    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("users must be a one-dimensional array"),
                                    errhint("Pass a flat array of user ids as text, e.g. ARRAY['17850', '13047'].")));
                deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
            });
            for (int i = 0; i < count; ++i) {
                if (nulls[i]) continue;
                char* id = nullptr;
                pg_call([&] { id = TextDatumGetCString(elems[i]); });
                if (auto u = model->users.find(std::string_view(id))) users.push_back(*u);  // unknown users: no rows
            }
        }
        RecommendOptions options;
        options.k = size_t(k);
        options.exclude_seen = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
        pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        std::string user_id, item_id;
        recommend_all(*model, users, options, backend_context(), [&](uint32_t user, std::span<const Recommendation> recs) {
            user_id = model->users.to_string(user);
            int rank = 0;
            for (const auto& r : recs) {
                item_id = model->items.to_string(r.item);
                ++rank;
                pg_call([&] {
                    CHECK_FOR_INTERRUPTS();
                    Datum values[5] = {PointerGetDatum(cstring_to_text_with_len(user_id.data(), int(user_id.size()))),
                                       PointerGetDatum(cstring_to_text_with_len(item_id.data(), int(item_id.size()))),
                                       Float4GetDatum(r.score), Int32GetDatum(rank),
                                       CStringGetTextDatum(r.source == Source::Model ? "model" : "popularity")};
                    bool nulls[5] = {false, false, false, false, false};
                    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
                });
            }
        });
        return (Datum)0;
    });
}
