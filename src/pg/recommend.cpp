// Answers from a stored model, one user or basket at a time: recommend,
// recommend_for_items, similar_items, explain_recommendation.
#include <algorithm>
#include <cmath>
#include <optional>

#include "args.h"
#include "model_cache.h"
#include "recommend.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_recommend_bigint);
PG_FUNCTION_INFO_V1(recsys_recommend_text);
PG_FUNCTION_INFO_V1(recsys_recommend_for_items);
PG_FUNCTION_INFO_V1(recsys_similar_items);
PG_FUNCTION_INFO_V1(recsys_explain_bigint);
PG_FUNCTION_INFO_V1(recsys_explain_text);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

constexpr const char* kHowMany = "Pass how many items to return, e.g. 10.";
constexpr const char* kItemArray = "Pass a flat array of item ids, e.g. ARRAY['85123A', '71053'].";

// One row of (item_id text, score real, rank integer[, source text]).
void add_item_row(ResultRows& rows, const std::string& item, float score, int rank, const char* source = nullptr) {
    rows.add([&](Datum* values, bool* nulls) {
        values[0] = text_datum(item);
        values[1] = Float4GetDatum(score);
        values[2] = Int32GetDatum(rank);
        if (source) values[3] = CStringGetTextDatum(source);
        nulls[3] = source == nullptr;
    });
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
    if (!PG_ARGISNULL(candidates_arg))
        o.candidates = known_items(model, text_array_arg(fcinfo, candidates_arg, "candidates", kItemArray));
    o.exclude = known_items(model, text_array_arg(fcinfo, exclude_arg, "exclude", kItemArray));
    return o;
}

void emit(FunctionCallInfo fcinfo, const Model& model, const std::vector<Recommendation>& recs) {
    ResultRows rows(fcinfo);
    int rank = 0;
    for (const auto& r : recs)
        add_item_row(rows, model.items.to_string(r.item), r.score, ++rank,
                     r.source == Source::Model ? "model" : "popularity");
}

void require_users(const Model& model, const std::string& name) {
    if (!model.has_users())
        throw invalid_input("model \"" + name + "\" was trained without per-user history (\"store_history\": false)",
                            "Recommend from the customer's basket with recommend_for_items(items, k, model => '" + name + "').");
}

// recommend(user_id, k, model, exclude_seen, candidates, exclude)
template <typename UserId>
Datum recommend_impl(FunctionCallInfo fcinfo, UserId (*user_arg)(FunctionCallInfo)) {
    size_t k = k_arg(fcinfo, 1, kHowMany);
    auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
    require_users(*model, name);
    std::optional<uint32_t> user;
    if (!PG_ARGISNULL(0)) user = model->users.find(user_arg(fcinfo));
    emit(fcinfo, *model, recommend_user(*model, user, options(*model, fcinfo, k, 3, 4, 5)));
    return (Datum)0;
}

int64_t bigint_user(FunctionCallInfo fcinfo) { return PG_GETARG_INT64(0); }
std::string text_user(FunctionCallInfo fcinfo) { return text_arg(fcinfo, 0); }

// The basket from recommend_for_items' items and weights arrays; counts ids
// the model does not know.
Basket basket_arg(const Model& model, FunctionCallInfo fcinfo, int items_arg, int weights_arg, size_t& unknown) {
    require_arg(fcinfo, items_arg, "items must not be NULL", "Pass an array of item ids, e.g. ARRAY['85123A'].");
    std::vector<std::string> ids = text_array_arg(fcinfo, items_arg, "items", kItemArray);
    std::vector<double> weights(ids.size(), 1.0);
    if (!PG_ARGISNULL(weights_arg)) {
        auto given = float8_array_arg(fcinfo, weights_arg, "weights",
                                      "Pass one weight per item in a flat array, e.g. ARRAY[2.0, 1.0].");
        if (given.size() != ids.size())
            throw invalid_input("weights has " + std::to_string(given.size()) + " elements but items has " +
                                    std::to_string(ids.size()),
                                "Pass one weight per item, or no weights.");
        for (size_t i = 0; i < given.size(); ++i) {
            double w = given[i].value_or(1.0);
            if (!std::isfinite(w) || w < 0)
                throw invalid_input("invalid weight " + format_double(w) + " in the basket: weights must be finite and not negative",
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
        add_item_row(rows, model->items.to_string(c.item), c.score, ++rank);
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
        size_t k = k_arg(fcinfo, 1, kHowMany);
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
        size_t k = k_arg(fcinfo, 1, kHowMany);
        auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
        auto item = model->items.find(text_arg(fcinfo, 0));
        std::vector<Scored> similar;
        if (item) similar = similar_items(*model, *item, k);  // an unknown item has no neighbours
        ResultRows rows(fcinfo);
        int rank = 0;
        for (const auto& s : similar) add_item_row(rows, model->items.to_string(s.item), s.score, ++rank);
        return (Datum)0;
    });
}

extern "C" Datum recsys_explain_bigint(PG_FUNCTION_ARGS) {
    return guarded([&] { return explain_impl(fcinfo, bigint_user); });
}

extern "C" Datum recsys_explain_text(PG_FUNCTION_ARGS) {
    return guarded([&] { return explain_impl(fcinfo, text_user); });
}
