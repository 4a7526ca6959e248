// Reading a caller's purchases query (user_id, item_id, ts in epoch seconds
// [, quantity, price, recsys_has_price]) and optional items query (item_id
// [, category, price]), both wrapped by recsys_purchases_source /
// recsys_items_source (ranker.sql), into dense core purchases: for
// train_ranker and train_timing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "id_map.h"
#include "model.h"
#include "purchase_features.h"

namespace recsys::pg {

struct PurchaseData {
    std::vector<features::Purchase> purchases;
    IdMap users, items;  // integers when every id is a canonical integer, else text
    features::ItemAttributes attributes;
};

// Rows with a NULL id are skipped (as train() does); a NULL ts, a
// non-positive quantity or price are errors naming the row, and so is a ts
// after not_after when given (a purchase in the future). No rows at all is
// an error. Items the purchases never name are ignored.
PurchaseData read_purchases(const std::string& purchases_query, const std::optional<std::string>& items_query,
                            const std::string& search_path, std::optional<int64_t> not_after = std::nullopt);

// The result of recsys_ranker_train / recsys_timing_train: one row (model
// bytea, report jsonb).
Datum model_and_report(FunctionCallInfo fcinfo, const Model& m, const std::string& report_json, const Context& ctx);

}  // namespace recsys::pg
