#include "update.h"

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <span>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace recsys {

namespace {

constexpr ParamSpec kDecay{"decay", ParamType::Double, "1", 0, 1, "", "",
                           "multiplies the weight of every pair the model has seen before the new rows"};
constexpr ParamSpec kForgetBelow{"forget_below", ParamType::Double, "0", 0, 3.4e38, "", "",
                                 "drops a seen pair whose decayed weight falls below this"};
constexpr ParamSpec kIterations{"iterations", ParamType::Int, "", 1, 1000, "", "",
                                "als and bpr: refinement passes over the touched users and items (als 1, bpr "
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

// The union of the active model's history (weights x decay, pairs below
// forget_below dropped, and with them users and items left with none) and
// the new rows: what InteractionBuilder::build gives on those rows (ids in
// canonical order, a pair's weights summed), made by merging the two sorted
// matrices in one pass instead of interning and sorting every pair again.
struct Union {
    Interactions data;
    std::vector<int64_t> old_user, old_item;          // union index -> active's, or -1 (new)
    std::vector<uint8_t> touched_user, touched_item;  // 1: has new rows
    uint64_t forgotten = 0;
};

// Merges two canonically sorted id maps; returns each side's union indexes.
IdMap merge_ids(const IdMap& a, std::span<const uint8_t> keep_a, const IdMap& b, std::vector<int64_t>& a_to_union,
                std::vector<int64_t>& b_to_union, std::vector<int64_t>& union_to_a) {
    const bool text = a.kind() == IdKind::Text;
    auto less = [&](uint32_t i, uint32_t j) { return text ? a.text_at(i) < b.text_at(j) : a.int_at(i) < b.int_at(j); };
    auto same = [&](uint32_t i, uint32_t j) { return text ? a.text_at(i) == b.text_at(j) : a.int_at(i) == b.int_at(j); };
    IdMap out;
    a_to_union.assign(a.size(), -1);
    b_to_union.assign(b.size(), -1);
    union_to_a.clear();
    auto take = [&](const IdMap& from, uint32_t i) {
        return text ? out.intern(from.text_at(i)) : out.intern(from.int_at(i));
    };
    uint32_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        const bool a_first = j == b.size() || (i < a.size() && less(i, j));
        if (a_first) {  // only seen before: kept if some of its pairs are
            if (keep_a[i]) {
                a_to_union[i] = take(a, i);
                union_to_a.push_back(i);
            }
            ++i;
        } else if (i < a.size() && same(i, j)) {
            a_to_union[i] = b_to_union[j] = take(b, j);
            union_to_a.push_back(i);
            ++i, ++j;
        } else {
            b_to_union[j] = take(b, j);
            union_to_a.push_back(-1);
            ++j;
        }
    }
    return out;
}

Union build_union(const Model& active, const InteractionBuilder& new_rows, double decay, double forget_below,
                  const Context& ctx) {
    const Interactions fresh = new_rows.build(ctx);
    // add_update_row interns ids of the model's kinds; merging relies on it.
    if (fresh.users.kind() != active.users.kind() || fresh.items.kind() != active.items.kind())
        throw invalid_input("the new rows' ids are not of the types of the model's ids",
                            "Pass ids of the types the model was trained on.");
    const CsrMatrix& h = active.history;
    const CsrMatrix& f = fresh.matrix;
    Union u;
    // Which seen pairs stay, and so which seen users and items.
    std::vector<uint8_t> keep_pair(h.nnz(), 1), keep_user(h.rows, 0), keep_item(h.cols, 0);
    for (uint32_t r = 0; r < h.rows; ++r) {
        if (r % 4096 == 0) ctx.check_cancel();
        for (uint64_t p = h.indptr[r]; p < h.indptr[r + 1]; ++p) {
            if (double(h.values[p]) * decay < forget_below) {
                keep_pair[p] = 0;
                ++u.forgotten;
                continue;
            }
            keep_user[r] = keep_item[h.indices[p]] = 1;
        }
    }
    std::vector<int64_t> user_old, user_fresh, item_old, item_fresh;
    u.data.users = merge_ids(active.users, keep_user, fresh.users, user_old, user_fresh, u.old_user);
    u.data.items = merge_ids(active.items, keep_item, fresh.items, item_old, item_fresh, u.old_item);
    const uint32_t n_users = u.data.users.size(), n_items = u.data.items.size();
    u.touched_user.assign(n_users, 0);
    u.touched_item.assign(n_items, 0);
    std::vector<int64_t> fresh_row(n_users, -1);
    for (uint32_t r = 0; r < f.rows; ++r) {
        u.touched_user[user_fresh[r]] = 1;
        fresh_row[user_fresh[r]] = r;
    }
    for (uint32_t i = 0; i < f.cols; ++i) u.touched_item[item_fresh[i]] = 1;

    // Row by row: the kept seen pairs and the new ones, both sorted by item
    // (the index maps are increasing), merged; a pair in both sums as
    // build() sums duplicates.
    ctx.reserve((h.nnz() + f.nnz()) * 8 + uint64_t(n_users) * 8, "merging the model's history with the new rows");
    CsrMatrix& m = u.data.matrix;
    m.rows = n_users;
    m.cols = n_items;
    m.indptr.assign(uint64_t(n_users) + 1, 0);
    m.indices.reserve(h.nnz() + f.nnz());
    m.values.reserve(h.nnz() + f.nnz());
    for (uint32_t r = 0; r < n_users; ++r) {
        if (r % 4096 == 0) ctx.check_cancel();
        uint64_t p = 0, p_end = 0, q = 0, q_end = 0;
        if (u.old_user[r] >= 0) p = h.indptr[u.old_user[r]], p_end = h.indptr[u.old_user[r] + 1];
        if (fresh_row[r] >= 0) q = f.indptr[fresh_row[r]], q_end = f.indptr[fresh_row[r] + 1];
        while (p < p_end || q < q_end) {
            if (p < p_end && !keep_pair[p]) {
                ++p;
                continue;
            }
            const int64_t seen = p < p_end ? item_old[h.indices[p]] : INT64_MAX;
            const int64_t added = q < q_end ? item_fresh[f.indices[q]] : INT64_MAX;
            const auto item = uint32_t(std::min(seen, added));
            double w = 0;
            if (seen == item) w += double(h.values[p++]) * decay;
            if (added == item) w += double(f.values[q++]);
            if (w > double(std::numeric_limits<float>::max()))
                throw invalid_input("the summed weight of user " + u.data.users.to_string(r) + " and item " +
                                        u.data.items.to_string(item) + " is more than 3.40282e+38, the largest a "
                                        "float holds",
                                    "Scale the weights down, e.g. with log_weight(weight) or clip_weight(weight, cap).");
            m.indices.push_back(item);
            m.values.push_back(float(w));
        }
        m.indptr[r + 1] = m.indices.size();
    }
    u.data.rows_added = active.rows_added + new_rows.rows();
    u.data.rows_skipped = active.rows_skipped + fresh.rows_skipped;
    return u;
}

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
    uint32_t default_iterations = 1;
    if (alg->name == "bpr") {
        const int64_t epochs = trained.has("iterations") ? trained.get_int("iterations", 100, 1, INT64_MAX) : 100;
        default_iterations = uint32_t(std::max<int64_t>(1, std::min<int64_t>(1000, epochs / 10)));
    }
    const auto iterations = uint32_t(up.integer(kIterations, default_iterations));
    up.reject_unknown("update_model");
    if (new_rows.rows() == 0)
        throw invalid_input("the query of new rows returned no rows with a user_id and an item_id",
                            "Pass a query of the purchases the model has not seen yet, e.g. the last day's.");

    const auto started = std::chrono::steady_clock::now();
    auto seconds_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    Union u = build_union(active, new_rows, decay, forget_below, ctx);
    const double merge_seconds = seconds_since(started);
    const auto training = std::chrono::steady_clock::now();
    Interactions& data = u.data;
    uint64_t n_touched_users = 0, n_touched_items = 0;
    for (uint8_t t : u.touched_user) n_touched_users += t;
    for (uint8_t t : u.touched_item) n_touched_items += t;
    uint32_t new_users = 0, new_items = 0;
    for (int64_t o : u.old_user) new_users += o < 0;
    for (int64_t o : u.old_item) new_items += o < 0;
    const uint64_t forgotten = u.forgotten;
    const auto& old_user = u.old_user;
    const auto& old_item = u.old_item;
    const auto& touched_user = u.touched_user;
    const auto& touched_item = u.touched_item;

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
    result.merge_seconds = merge_seconds;
    result.train_seconds = seconds_since(training);
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
