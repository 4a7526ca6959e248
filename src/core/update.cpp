#include "update.h"

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace recsys {

namespace {

constexpr ParamSpec kDecay{"decay", ParamType::Double, "1", 0, 1, "", "",
                           "multiplies the weight of every pair the model has seen before the new rows"};
constexpr ParamSpec kForgetBelow{"forget_below", ParamType::Double, "0", 0, 3.4e38, "", "",
                                 "drops a seen pair whose decayed weight falls below this"};
constexpr ParamSpec kIterations{"iterations", ParamType::Int, "", 1, 1000, "", "",
                                "als and bpr: refinement passes over the touched users and items (als 3, bpr "
                                "a tenth of the model's epochs)"};
constexpr const ParamSpec* kUpdateParams[] = {&kDecay, &kForgetBelow, &kIterations};

const char* const kUpdatable = "popularity, itemknn, rp3beta, ease, als and bpr";

int64_t parse_int_id(const char* v, const char* what) {
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0)
        throw invalid_input(std::string("the new rows' ") + what + " \"" + v +
                                "\" is not an integer, but the model's " + what + "s are integers",
                            std::string("Pass ") + what + "s of the type the model was trained on.");
    return int64_t(x);
}

template <typename Fn>
void with_id(const IdMap& like, const char* v, const char* what, Fn&& fn) {
    if (like.kind() == IdKind::Text) fn(std::string_view(v));
    else fn(parse_int_id(v, what));
}

std::string json_bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::span<const ParamSpec* const> update_params() { return kUpdateParams; }

void add_update_row(const Model& model, InteractionBuilder& rows, const char* user, const char* item,
                    const char* weight, bool has_weight) {
    if (!user || !item || (has_weight && !weight)) {
        rows.skip();
        return;
    }
    double w = 1.0;
    if (has_weight) {
        char* end = nullptr;
        w = std::strtod(weight, &end);
        if (end == weight || *end != '\0')
            throw invalid_input(std::string("the new rows' weight \"") + weight + "\" is not a number");
    }
    with_id(model.users, user, "user_id", [&](auto u) {
        with_id(model.items, item, "item_id", [&](auto i) { rows.add(u, i, w); });
    });
}

UpdateResult update_model(const Model& active, std::string_view name, const InteractionBuilder& new_rows,
                          std::string_view update_params_json, const Context& ctx,
                          std::string_view given_params_json) {
    const std::string quoted = "model \"" + std::string(name) + "\"";
    const Algorithm* alg = find_stored_algorithm(active.algorithm);
    if (!alg || !alg->can.incremental)
        throw invalid_input(quoted + " is a " + active.algorithm + " model, which update_model cannot update",
                            std::string("update_model updates ") + kUpdatable + " models; retrain this one with retrain('" +
                                std::string(name) + "').");
    Params trained = Params::parse_json(active.params_json);
    if (!active.has_users())
        throw invalid_input(quoted + " was trained with \"store_history\": false, so it keeps no per-user history to "
                                     "update from",
                            "Retrain it on all the rows with retrain('" + std::string(name) + "').");
    if (trained.has("epsilon"))
        throw invalid_input(quoted + " is differentially private (\"epsilon\"): an update would release it again "
                                     "and spend the privacy budget twice",
                            "Retrain it on all the rows with retrain('" + std::string(name) + "').");
    for (const ParamSpec* k : {common_params()[0], common_params()[1]})
        if (trained.has(std::string(k->name)) && trained.integer(*k) > 1)
            throw invalid_input(quoted + " was trained with \"" + std::string(k->name) +
                                    "\" > 1: the rows it dropped are not in the model, so an update cannot hold the "
                                    "threshold on all the data",
                                "Retrain it on all the rows with retrain('" + std::string(name) + "').");

    Params up = Params::parse_json(update_params_json);
    const double decay = up.number(kDecay);
    const double forget_below = up.number(kForgetBelow);
    if (decay <= 0)
        throw invalid_input("\"decay\" must be above 0 and at most 1, got 0",
                            "1 keeps the seen pairs' weights; 0.9 weighs them 10% less than the new rows.");
    uint32_t default_iterations = 3;
    if (alg->name == "bpr") {
        const int64_t epochs = trained.has("iterations") ? trained.get_int("iterations", 100, 1, INT64_MAX) : 100;
        default_iterations = uint32_t(std::max<int64_t>(1, std::min<int64_t>(1000, epochs / 10)));
    }
    const auto iterations = uint32_t(up.integer(kIterations, default_iterations));
    up.reject_unknown("update_model");
    if (new_rows.rows() == 0)
        throw invalid_input("the query of new rows returned no rows with a user_id and an item_id",
                            "Pass a query of the purchases the model has not seen yet, e.g. the last day's.");

    // The union, built as training builds it: ids in canonical order.
    InteractionBuilder all;
    uint64_t forgotten = 0;
    for (uint32_t u = 0; u < active.n_users(); ++u) {
        if (u % 4096 == 0) ctx.check_cancel();
        auto items = active.history.row_indices(u);
        auto weights = active.history.row_values(u);
        for (size_t p = 0; p < items.size(); ++p) {
            const double w = double(weights[p]) * decay;
            if (w < forget_below) {
                ++forgotten;
                continue;
            }
            auto add = [&](auto user) {
                if (active.items.kind() == IdKind::Text) all.add(user, active.items.text_at(items[p]), w);
                else all.add(user, active.items.int_at(items[p]), w);
            };
            if (active.users.kind() == IdKind::Text) add(std::string_view(active.users.text_at(u)));
            else add(active.users.int_at(u));
        }
    }
    all.merge(new_rows);
    ctx.check_cancel();
    Interactions data = all.build(ctx);
    data.rows_added = active.rows_added + new_rows.rows();
    data.rows_skipped = active.rows_skipped + data.rows_skipped;  // the new rows' skipped ones

    // Where each union row was, and which have new rows.
    std::vector<int64_t> old_user(data.users.size()), old_item(data.items.size());
    auto old_index = [](const IdMap& from, const IdMap& in, uint32_t i) -> int64_t {
        auto found = in.kind() == IdKind::Text ? from.find(std::string_view(in.text_at(i))) : from.find(in.int_at(i));
        return found ? int64_t(*found) : -1;
    };
    uint32_t new_users = 0, new_items = 0;
    for (uint32_t u = 0; u < data.users.size(); ++u) new_users += (old_user[u] = old_index(active.users, data.users, u)) < 0;
    for (uint32_t i = 0; i < data.items.size(); ++i) new_items += (old_item[i] = old_index(active.items, data.items, i)) < 0;
    std::vector<uint8_t> touched_user(data.users.size(), 0), touched_item(data.items.size(), 0);
    {
        Interactions fresh = new_rows.build(ctx);
        for (uint32_t u = 0; u < fresh.users.size(); ++u) {
            const auto at = fresh.users.kind() == IdKind::Text ? data.users.find(std::string_view(fresh.users.text_at(u)))
                                                               : data.users.find(fresh.users.int_at(u));
            if (at) touched_user[*at] = 1;
        }
        for (uint32_t i = 0; i < fresh.items.size(); ++i) {
            const auto at = fresh.items.kind() == IdKind::Text ? data.items.find(std::string_view(fresh.items.text_at(i)))
                                                               : data.items.find(fresh.items.int_at(i));
            if (at) touched_item[*at] = 1;
        }
    }
    uint64_t n_touched_users = 0, n_touched_items = 0;
    for (uint8_t t : touched_user) n_touched_users += t;
    for (uint8_t t : touched_item) n_touched_items += t;

    const bool exact = alg->update == nullptr;
    UpdateResult result;
    std::string params_json = active.params_json;
    if (!given_params_json.empty()) {
        const Params given = Params::parse_json(given_params_json);
        nlohmann::json effective = nlohmann::json::parse(active.params_json);
        for (const ParamSpec* spec : alg->params)
            if (spec->default_json.empty() && !given.has(std::string(spec->name))) effective.erase(std::string(spec->name));
        params_json = effective.dump();
    }
    if (exact) {
        result.model = train_model_on(active.algorithm, std::move(data), params_json, ctx);
    } else {
        result.model = train_model_on(active.algorithm, std::move(data), params_json, ctx,
                                      [&](const Interactions& d, const Params& p) {
                                          const UpdateInput in{d, active, old_user, old_item, touched_user,
                                                               touched_item, iterations};
                                          return alg->update(in, p, ctx);
                                      });
    }
    result.summary_json = "{\"exact\": " + json_bool(exact) + ", \"decay\": " + json_number(decay) +
                          ", \"forget_below\": " + json_number(forget_below) +
                          ", \"new_rows\": " + std::to_string(new_rows.rows()) +
                          ", \"new_users\": " + std::to_string(new_users) + ", \"new_items\": " + std::to_string(new_items) +
                          ", \"touched_users\": " + std::to_string(n_touched_users) +
                          ", \"touched_items\": " + std::to_string(n_touched_items) +
                          ", \"forgotten_pairs\": " + std::to_string(forgotten) +
                          (exact ? std::string() : ", \"iterations\": " + std::to_string(iterations)) + "}";
    return result;
}

}  // namespace recsys
