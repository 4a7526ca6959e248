// read_purchases (purchase_reader.h): the purchases and items queries of
// train_ranker and train_timing into dense core purchases.
#include "purchase_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>

#include "args.h"
#include "errors.h"
#include "query_reader.h"

namespace recsys::pg {

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

PurchaseData read_purchases(const std::string& purchases_query, const std::optional<std::string>& items_query,
                            const std::string& search_path, std::optional<int64_t> not_after) {
    PurchaseData out;
    Ids users, items;
    std::vector<Purchase>& purchases = out.purchases;
    uint64_t row = 0;
    read_query(purchases_query, search_path,
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
                   if (not_after && p.ts > *not_after)
                       throw invalid_input("the purchases query returned a ts in the future in row " +
                                               std::to_string(row),
                                           "Purchases happened in the past; filter the rows with ts <= now().");
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

    if (items_query) {
        const uint32_t n_items = uint32_t(items.texts.size());
        std::unordered_map<std::string, uint32_t> categories;
        bool any_category = false, any_price = false;
        std::vector<uint32_t> category(n_items, features::kNoCategory);
        std::vector<double> price(n_items, std::numeric_limits<double>::quiet_NaN());
        uint64_t irow = 0;
        std::vector<uint64_t> row_of(n_items, 0);  // the items query's row of each bought item, 0 = none
        read_query(*items_query, search_path, {{"item_id", true}, {"category", false}, {"price", false}},
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
            out.attributes.n_categories = uint32_t(categories.size());
            out.attributes.category = std::move(category);
        }
        if (any_price) out.attributes.list_price = std::move(price);
    }

    out.users = users.to_map();
    out.items = items.to_map();
    return out;
}

Datum model_and_report(FunctionCallInfo fcinfo, const Model& m, const std::string& report_json, const Context& ctx) {
    const std::vector<uint8_t> bytes = m.serialize(ctx);
    const Datum report_datum = jsonb_from_string(report_json);
    const Datum model_datum = PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
    ResultRows out(fcinfo);
    out.add([&](Datum* values, bool*) {
        values[0] = model_datum;
        values[1] = report_datum;
    });
    return (Datum)0;
}

}  // namespace recsys::pg
