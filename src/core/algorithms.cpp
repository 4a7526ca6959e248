// The registry of algorithms: adding one is its own file plus one line here.
#include <nlohmann/json.hpp>

#include "als.h"
#include "blend.h"
#include "bpr.h"
#include "ease.h"
#include "errors.h"
#include "itemknn.h"
#include "model.h"
#include "popularity.h"
#include "ranker.h"
#include "rp3beta.h"
#include "timing.h"

namespace recsys {

namespace {
constexpr const Algorithm* kAlgorithms[] = {
    &popularity::algorithm, &itemknn::algorithm, &ease::algorithm, &als::algorithm, &bpr::algorithm,
    &rp3beta::algorithm,
};

const char* type_name(ParamType t) {
    switch (t) {
        case ParamType::Int: return "integer";
        case ParamType::Double: return "number";
        case ParamType::Bool: return "boolean";
        case ParamType::Choice: return "string";
    }
    return "";
}

nlohmann::json json_or_null(std::string_view text) {
    return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
}

nlohmann::json describe_param(const ParamSpec& p, bool common) {
    nlohmann::json j = {{"name", p.name},          {"type", type_name(p.type)},
                        {"default", json_or_null(p.default_json)},
                        {"tune", json_or_null(p.tune_json)}, {"doc", p.doc},
                        {"common", common}};
    if (p.type == ParamType::Int || p.type == ParamType::Double) {
        j["min"] = p.min;
        j["max"] = p.max;
    }
    if (p.type == ParamType::Choice) {
        nlohmann::json choices = nlohmann::json::array();
        std::string_view rest = p.choices;
        for (size_t bar; (bar = rest.find('|')) != std::string_view::npos; rest.remove_prefix(bar + 1))
            choices.push_back(rest.substr(0, bar));
        choices.push_back(rest);
        j["choices"] = choices;
    }
    return j;
}
}  // namespace

std::span<const Algorithm* const> all_algorithms() { return kAlgorithms; }

const Algorithm& find_algorithm(std::string_view name) {
    for (const Algorithm* a : kAlgorithms)
        if (a->name == name) return *a;
    std::string known;
    for (const Algorithm* a : kAlgorithms) known += (known.empty() ? "" : ", ") + std::string(a->name);
    throw invalid_input("unknown algorithm \"" + std::string(name) + "\"", "Known algorithms: " + known + ".");
}

const Algorithm* find_stored_algorithm(std::string_view name) {
    for (const Algorithm* a : kAlgorithms)
        if (a->name == name) return a;
    // Trained by its own entry point (train_ranker), not from interactions.
    if (name == ranker::algorithm.name) return &ranker::algorithm;
    if (name == timing::algorithm.name) return &timing::algorithm;
    if (name == blend::algorithm.name) return &blend::algorithm;  // built from stored models
    return nullptr;
}

std::string algorithms_json() {
    nlohmann::json out = nlohmann::json::array();
    for (const Algorithm* a : kAlgorithms) {
        nlohmann::json params = nlohmann::json::array();
        for (const ParamSpec* p : a->params) params.push_back(describe_param(*p, false));
        for (const ParamSpec* p : common_params()) params.push_back(describe_param(*p, true));
        out.push_back({{"name", a->name},
                       {"summary", a->summary},
                       {"capabilities",
                        {{"learns_users", a->can.learns_users},
                         {"fold_in", a->can.fold_in},
                         {"similar_items", a->can.similar_items},
                         {"explain", a->can.explain},
                         {"incremental", a->can.incremental},
                         {"tuned_by_default", a->can.tuned_by_default}}},
                       {"params", params}});
    }
    return out.dump();
}

std::string memory_estimate_json(std::string_view algorithm, std::string_view params_json, uint64_t n_users,
                                 uint64_t n_items) {
    const Algorithm& a = find_algorithm(algorithm);
    if (!a.memory) return "null";
    MemoryEstimate m = a.memory(Params::parse_json(params_json), n_users, n_items);
    return nlohmann::json{{"bytes", m.bytes}, {"formula", m.formula}}.dump();
}

}  // namespace recsys
