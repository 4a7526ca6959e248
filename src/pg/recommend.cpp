// Set-returning functions that answer from a stored model: recommend,
// recommend_for_items, similar_items, explain_recommendation; and small
// helpers (describe, cache statistics, checks of a caller's query).
#include <algorithm>
#include <cmath>
#include <optional>

#include "door.h"
#include "errors.h"
#include "model_cache.h"
#include "recommend.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_recommend_bigint);
PG_FUNCTION_INFO_V1(recsys_recommend_text);
PG_FUNCTION_INFO_V1(recsys_recommend_for_items);
PG_FUNCTION_INFO_V1(recsys_similar_items);
PG_FUNCTION_INFO_V1(recsys_explain_bigint);
PG_FUNCTION_INFO_V1(recsys_explain_text);
PG_FUNCTION_INFO_V1(recsys_describe_bytea);
PG_FUNCTION_INFO_V1(recsys_describe_stored);
PG_FUNCTION_INFO_V1(recsys_cache_stats);
PG_FUNCTION_INFO_V1(recsys_query_body);
PG_FUNCTION_INFO_V1(recsys_query_columns);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// Rows of a materialised set-returning function's result.
class ResultRows {
public:
    explicit ResultRows(FunctionCallInfo fcinfo) : fcinfo_(fcinfo) {
        pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    }
    // One row of (text, real, integer[, text]) columns.
    void add(const std::string& item, float score, int rank, const char* source = nullptr) {
        const char* text = item.c_str();
        size_t len = item.size();
        pg_call([&] {
            auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo_->resultinfo);
            Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(text, int(len))), Float4GetDatum(score),
                               Int32GetDatum(rank), source ? CStringGetTextDatum(source) : (Datum)0};
            bool nulls[4] = {false, false, false, source == nullptr};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }

private:
    FunctionCallInfo fcinfo_;
};

std::optional<std::string> optional_text(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return std::nullopt;
    return text_arg(fcinfo, n);
}

size_t k_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) throw invalid_input("k must not be NULL", "Pass how many items to return, e.g. 10.");
    int32 k = PG_GETARG_INT32(n);
    if (k <= 0) throw invalid_input("k must be positive, got " + std::to_string(k), "Pass how many items to return, e.g. 10.");
    return size_t(k);
}

std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    std::vector<std::string> out;
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return out;
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg_call([&] {
        ArrayType* array = PG_GETARG_ARRAYTYPE_P(n);
        if (ARR_NDIM(array) > 1)
            ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("%s must be a one-dimensional array", what),
                            errhint("Pass a flat array of item ids, e.g. ARRAY['85123A', '71053'].")));
        deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
    });
    out.reserve(count);
    for (int i = 0; i < count; ++i) {
        if (nulls[i]) continue;  // a NULL id names no item
        const char* data = nullptr;
        int size = 0;
        pg_call([&] {
            text* t = DatumGetTextPP(elems[i]);
            data = VARDATA_ANY(t);
            size = VARSIZE_ANY_EXHDR(t);
        });
        out.emplace_back(data, size);
    }
    return out;
}

std::vector<uint32_t> known_items(const Model& model, const std::vector<std::string>& ids) {
    std::vector<uint32_t> out;
    for (const auto& id : ids)
        if (auto i = model.items.find(id)) out.push_back(*i);
    return out;
}

RecommendOptions options(const Model& model, FunctionCallInfo fcinfo, size_t k, int exclude_seen_arg,
                         int candidates_arg, int exclude_arg) {
    RecommendOptions o;
    o.k = k;
    o.exclude_seen = PG_ARGISNULL(exclude_seen_arg) ? true : PG_GETARG_BOOL(exclude_seen_arg);
    if (!PG_ARGISNULL(candidates_arg)) o.candidates = known_items(model, text_array_arg(fcinfo, candidates_arg, "candidates"));
    o.exclude = known_items(model, text_array_arg(fcinfo, exclude_arg, "exclude"));
    return o;
}

void emit(FunctionCallInfo fcinfo, const Model& model, const std::vector<Recommendation>& recs) {
    ResultRows rows(fcinfo);
    int rank = 0;
    for (const auto& r : recs)
        rows.add(model.items.to_string(r.item), r.score, ++rank, r.source == Source::Model ? "model" : "popularity");
}

void require_users(const Model& model, const std::string& name) {
    if (!model.has_users())
        throw invalid_input("model \"" + name + "\" was trained without per-user history (\"store_history\": false)",
                            "Recommend from the customer's basket with recommend_for_items(items, k, model => '" + name + "').");
}

// recommend(user_id, k, model, exclude_seen, candidates, exclude)
template <typename UserId>
Datum recommend_impl(FunctionCallInfo fcinfo, UserId (*user_arg)(FunctionCallInfo)) {
    size_t k = k_arg(fcinfo, 1);
    auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
    require_users(*model, name);
    std::optional<uint32_t> user;
    if (!PG_ARGISNULL(0)) user = model->users.find(user_arg(fcinfo));
    emit(fcinfo, *model, recommend_user(*model, user, options(*model, fcinfo, k, 3, 4, 5)));
    return (Datum)0;
}

int64_t bigint_user(FunctionCallInfo fcinfo) { return PG_GETARG_INT64(0); }
std::string text_user(FunctionCallInfo fcinfo) { return text_arg(fcinfo, 0); }

std::string format_weight(double w) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", w);
    return buf;
}

// The basket from recommend_for_items' items and weights arrays; counts ids
// the model does not know.
Basket basket_arg(const Model& model, FunctionCallInfo fcinfo, int items_arg, int weights_arg, size_t& unknown) {
    if (PG_ARGISNULL(items_arg)) throw invalid_input("items must not be NULL", "Pass an array of item ids, e.g. ARRAY['85123A'].");
    std::vector<std::string> ids = text_array_arg(fcinfo, items_arg, "items");
    std::vector<double> weights(ids.size(), 1.0);
    if (!PG_ARGISNULL(weights_arg)) {
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int count = 0;
        pg_call([&] {
            ArrayType* array = PG_GETARG_ARRAYTYPE_P(weights_arg);
            if (ARR_NDIM(array) > 1)
                ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("weights must be a one-dimensional array"),
                                errhint("Pass one weight per item in a flat array, e.g. ARRAY[2.0, 1.0].")));
            deconstruct_array(array, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &count);
        });
        if (size_t(count) != ids.size())
            throw invalid_input("weights has " + std::to_string(count) + " elements but items has " +
                                    std::to_string(ids.size()),
                                "Pass one weight per item, or no weights.");
        for (int i = 0; i < count; ++i) {
            double w = nulls[i] ? 1.0 : DatumGetFloat8(elems[i]);
            if (!std::isfinite(w) || w < 0)
                throw invalid_input("invalid weight " + format_weight(w) + " in the basket: weights must be finite and not negative",
                                    "Pass weights >= 0 (e.g. the quantities in the basket), or no weights.");
            weights[i] = w;
        }
    }
    std::vector<float> dense(model.n_items(), 0.0f);
    std::vector<uint8_t> in_basket(model.n_items(), 0);
    unknown = 0;
    Basket basket;
    for (size_t k = 0; k < ids.size(); ++k) {
        auto i = model.items.find(ids[k]);
        if (!i) { ++unknown; continue; }
        if (!in_basket[*i]) basket.items.push_back(*i);
        in_basket[*i] = 1;
        dense[*i] += float(weights[k]);
    }
    std::sort(basket.items.begin(), basket.items.end());
    for (uint32_t i : basket.items) basket.weights.push_back(dense[i]);
    return basket;
}

void notice_unknown(size_t unknown, size_t total, const std::string& model) {
    if (unknown == 0) return;
    std::string msg = std::to_string(unknown) + " of " + std::to_string(total) + " basket items are not in model \"" +
                      model + "\" and were ignored";
    const char* text = msg.c_str();
    pg_call([&] { ereport(NOTICE, (errmsg("%s", text))); });
}

template <typename UserId>
Datum explain_impl(FunctionCallInfo fcinfo, UserId (*user_arg)(FunctionCallInfo)) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw invalid_input("user_id and item_id must not be NULL",
                            "Pass the user and the recommended item to explain, e.g. explain_recommendation(42, '85123A').");
    CachedModel loaded = load_model(fcinfo, optional_text(fcinfo, 2));
    auto& [name, owner, model] = loaded;
    require_users(*model, name);
    // An explanation lists the user's purchases as stored in the model.
    if (!may_read_contents(fcinfo, loaded))
        permission_denied("explain_recommendation shows the purchase history stored in model \"" + name +
                                   "\", which this role may not read",
                               "Members of the model's owner (" + owner +
                                   ") or of recsys_admin may explain it; recommend() works without it.");
    auto user = model->users.find(user_arg(fcinfo));
    auto item = model->items.find(text_arg(fcinfo, 1));
    ResultRows rows(fcinfo);
    if (!user || !item) return (Datum)0;  // nothing the model knows to explain
    int rank = 0;
    for (const auto& c : explain(*model, model->history_of(*user), user, *item))
        rows.add(model->items.to_string(c.item), c.score, ++rank);
    return (Datum)0;
}

}  // namespace

extern "C" Datum recsys_recommend_bigint(PG_FUNCTION_ARGS) {
    return guarded([&] { return recommend_impl(fcinfo, bigint_user); });
}

extern "C" Datum recsys_recommend_text(PG_FUNCTION_ARGS) {
    return guarded([&] { return recommend_impl(fcinfo, text_user); });
}

// recommend_for_items(items, k, model, weights, exclude_basket, candidates, exclude)
extern "C" Datum recsys_recommend_for_items(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        size_t k = k_arg(fcinfo, 1);
        auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
        size_t unknown = 0;
        Basket basket = basket_arg(*model, fcinfo, 0, 3, unknown);
        notice_unknown(unknown, basket.items.size() + unknown, name);
        emit(fcinfo, *model, recommend_basket(*model, basket, options(*model, fcinfo, k, 4, 5, 6)));
        return (Datum)0;
    });
}

// similar_items(item_id, k, model)
extern "C" Datum recsys_similar_items(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0))
            throw invalid_input("item_id must not be NULL", "Pass the item to find neighbours of, e.g. similar_items('85123A', 10).");
        size_t k = k_arg(fcinfo, 1);
        auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
        auto item = model->items.find(text_arg(fcinfo, 0));
        std::vector<Scored> similar;
        if (item) similar = similar_items(*model, *item, k);  // an unknown item has no neighbours
        ResultRows rows(fcinfo);
        int rank = 0;
        for (const auto& s : similar) rows.add(model->items.to_string(s.item), s.score, ++rank);
        return (Datum)0;
    });
}

extern "C" Datum recsys_explain_bigint(PG_FUNCTION_ARGS) {
    return guarded([&] { return explain_impl(fcinfo, bigint_user); });
}

extern "C" Datum recsys_explain_text(PG_FUNCTION_ARGS) {
    return guarded([&] { return explain_impl(fcinfo, text_user); });
}

extern "C" Datum recsys_describe_bytea(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        auto bytes = bytea_arg(fcinfo, 0);
        Model model = Model::deserialize(bytes.data(), bytes.size(), backend_context());
        std::string json = model.describe_json();
        json.insert(json.size() - 1, ", \"bytes\": " + std::to_string(bytes.size()));
        return jsonb_from_string(json);
    });
}

extern "C" Datum recsys_describe_stored(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        auto [name, owner, model] = load_model(fcinfo, text_arg(fcinfo, 0));
        return jsonb_from_string(model->describe_json());
    });
}

extern "C" Datum recsys_cache_stats(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        CacheStats s = cache_stats();
        return jsonb_from_string("{\"decodes\": " + std::to_string(s.decodes) + ", \"hits\": " + std::to_string(s.hits) +
                                 ", \"evictions\": " + std::to_string(s.evictions) +
                                 ", \"cached_models\": " + std::to_string(s.cached) +
                                 ", \"cached_bytes\": " + std::to_string(s.cached_bytes) +
                                 ", \"limit_bytes\": " + std::to_string(uint64_t(setting_cache_memory_kb) << 10) + "}");
    });
}

namespace {
// A syntax error points into the caller's query, not into the statement
// that passed it (as SPI reports errors in the queries it runs).
void query_error_position(void* query) {
    if (geterrcode() == ERRCODE_SYNTAX_ERROR)
        errhint("The query text is not valid SQL; run it on its own to fix it, then pass a single SELECT.");
    int position = geterrposition();
    if (position <= 0) return;
    errposition(0);
    internalerrposition(position);
    internalerrquery(static_cast<const char*>(query));
}
}  // namespace

// The one statement of a query text, without what follows it (a semicolon,
// comments), then a newline. Plain PostgreSQL code: no C++ object is alive.
extern "C" Datum recsys_query_body(PG_FUNCTION_ARGS) {
    char* sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
    ErrorContextCallback callback = {error_context_stack, query_error_position, sql};
    error_context_stack = &callback;
    List* statements = raw_parser(sql, RAW_PARSE_DEFAULT);
    error_context_stack = callback.previous;
    if (list_length(statements) != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("the query must be a single SELECT, got %d statements", list_length(statements)),
                        errhint("Pass one SELECT returning user_id and item_id (and optionally weight).")));
    RawStmt* statement = linitial_node(RawStmt, statements);
    int start = statement->stmt_location;
    int length = statement->stmt_len > 0 ? statement->stmt_len : int(strlen(sql)) - start;
    PG_RETURN_TEXT_P(cstring_to_text(psprintf("%.*s\n", length, sql + start)));
}

// The column names a query returns, parsed with the caller's search_path,
// without running it (used by train()).
extern "C" Datum recsys_query_columns(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        std::string query = text_arg(fcinfo, 0);
        SearchPathScope caller_path(text_arg(fcinfo, 1));
        ArrayType* result = nullptr;
        bool is_select = true;
        int statements = 1;
        const char* tag = "";
        const char* sql = query.c_str();
        pg_call([&] {
            MemoryContext outer = CurrentMemoryContext;
            SPI_connect();
            SPIPlanPtr plan = SPI_prepare(sql, 0, nullptr);
            if (!plan) elog(ERROR, "could not prepare the query: %s", SPI_result_code_string(SPI_result));
            List* sources = SPI_plan_get_plan_sources(plan);
            statements = list_length(sources);
            if (statements > 0) tag = GetCommandTagName(static_cast<CachedPlanSource*>(linitial(sources))->commandTag);
            is_select = statements == 1 &&
                        static_cast<CachedPlanSource*>(linitial(sources))->commandTag == CMDTAG_SELECT;
            if (is_select) {
                Portal portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, true);
                TupleDesc desc = portal->tupDesc;
                int n = desc->natts;
                MemoryContext inner = MemoryContextSwitchTo(outer);
                Datum* names = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
                for (int i = 0; i < n; ++i) names[i] = CStringGetTextDatum(NameStr(TupleDescAttr(desc, i)->attname));
                result = construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT);
                MemoryContextSwitchTo(inner);
                SPI_cursor_close(portal);
            }
            SPI_finish();
        });
        if (!is_select)
            throw invalid_input("the query must be a single SELECT, got " +
                                    (statements == 1 ? std::string(tag) : std::to_string(statements) + " statements"),
                                "Pass one SELECT returning the columns needed, e.g. SELECT customer_id AS user_id, "
                                "stock_code AS item_id, quantity AS weight FROM purchases.");
        return PointerGetDatum(result);
    });
}
