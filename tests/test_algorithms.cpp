// The algorithm registry: every declaration (parameters, capabilities,
// memory) agrees with what training and the scorers do, and the README's
// parameter tables are the ones the declarations give.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "errors.h"
#include "expect_error.h"
#include "model.h"

using namespace recsys;
using nlohmann::json;

namespace {

// 30 users x 12 items, every item bought by several users.
InteractionBuilder rows() {
    InteractionBuilder b;
    std::mt19937 rng(3);
    for (int64_t u = 0; u < 30; ++u)
        for (int64_t i = 0; i < 12; ++i)
            if ((u + i) % 3 == 0 || rng() % 4 == 0) b.add(u, i, 1.0);
    return b;
}

Model train(const Algorithm& a, const json& params, const Context& ctx = Context{}) {
    return train_model(a.name, rows(), params.dump(), ctx);
}

bool accepts(ParamType type, const json& v) {
    switch (type) {
        case ParamType::Int: return v.is_number() && v.get<double>() == std::floor(v.get<double>());
        case ParamType::Double: return v.is_number();
        case ParamType::Bool: return v.is_boolean();
        case ParamType::Choice: return v.is_string();
    }
    return false;
}

std::vector<const ParamSpec*> all_params(const Algorithm& a) {
    std::vector<const ParamSpec*> out(a.params.begin(), a.params.end());
    out.insert(out.end(), common_params().begin(), common_params().end());
    return out;
}

// ------------------------------------------------------------ README tables

std::string cell(std::string_view json_text) {
    if (json_text.empty()) return "";
    std::string out = "`";
    for (char c : json_text) out += c == '|' ? '/' : c;
    return out + "`";
}

std::string range(const ParamSpec& p) {
    if (p.type == ParamType::Choice) {
        std::string out;
        std::string_view rest = p.choices;
        for (size_t bar; (bar = rest.find('|')) != std::string_view::npos; rest.remove_prefix(bar + 1))
            out += "`" + std::string(rest.substr(0, bar)) + "`, ";
        return out + "`" + std::string(rest) + "`";
    }
    if (p.type == ParamType::Bool) return "";
    return json_number(p.min) + " … " + (p.max >= 0x1p63 ? std::string("2^63 − 1") : json_number(p.max));
}

std::string table(std::span<const ParamSpec* const> params) {
    std::string out = "| parameter | type | default | range | `tune()` tries | meaning |\n|---|---|---|---|---|---|\n";
    static const char* const types[] = {"integer", "number", "boolean", "string"};
    for (const ParamSpec* p : params) {
        std::string doc(p->doc);
        for (size_t at = 0; (at = doc.find('|', at)) != std::string::npos; at += 2) doc.replace(at, 1, "\\|");
        out += "| `" + std::string(p->name) + "` | " + types[int(p->type)] + " | " + cell(p->default_json) + " | " +
               range(*p) + " | " + cell(p->tune_json) + " | " + doc + " |\n";
    }
    return out;
}

// The README block between <!-- params:NAME --> and <!-- /params -->.
std::string generated(const std::string& name) {
    if (name == "common") return table(common_params());
    return table(find_algorithm(name).params);
}

}  // namespace

TEST(Registry, NamesAreUniqueAndFindable) {
    std::set<std::string_view> names;
    for (const Algorithm* a : all_algorithms()) {
        EXPECT_TRUE(names.insert(a->name).second) << a->name;
        EXPECT_EQ(&find_algorithm(a->name), a);
        EXPECT_FALSE(a->summary.empty()) << a->name;
        std::set<std::string_view> params;
        for (const ParamSpec* p : all_params(*a)) EXPECT_TRUE(params.insert(p->name).second) << a->name << "." << p->name;
    }
    Error e = expect_error([] { find_algorithm("knn"); });
    EXPECT_EQ(e.hint(), "Known algorithms: popularity, itemknn, ease, als, bpr, rp3beta.");
}

TEST(Registry, DeclaredDefaultsAndTuningValuesAreValid) {
    for (const Algorithm* a : all_algorithms()) {
        for (const ParamSpec* p : all_params(*a)) {
            SCOPED_TRACE(std::string(a->name) + "." + std::string(p->name));
            EXPECT_FALSE(p->doc.empty());
            if (p->type == ParamType::Int || p->type == ParamType::Double) EXPECT_LE(p->min, p->max);
            if (p->type == ParamType::Choice) EXPECT_FALSE(p->choices.empty());
            std::vector<json> values;
            if (!p->default_json.empty()) values.push_back(json::parse(p->default_json));
            if (!p->tune_json.empty()) {
                json t = json::parse(p->tune_json);
                if (t.is_array()) {
                    EXPECT_FALSE(t.empty());
                    for (const json& v : t) values.push_back(v);
                } else {
                    values.push_back(t);
                }
            }
            for (const json& v : values) {
                EXPECT_TRUE(accepts(p->type, v)) << v;
                if (v.is_number()) {
                    EXPECT_GE(v.get<double>(), p->min) << v;
                    EXPECT_LE(v.get<double>(), p->max) << v;
                }
            }
        }
    }
}

// Training with {} records every declared default as the value used, and
// training accepts every value tune() tries.
TEST(Registry, TrainingUsesTheDeclarations) {
    for (const Algorithm* a : all_algorithms()) {
        SCOPED_TRACE(a->name);
        const json used = json::parse(train(*a, json::object()).params_json);
        for (const ParamSpec* p : all_params(*a))
            if (!p->default_json.empty() && used.contains(p->name))
                EXPECT_EQ(used[p->name], json::parse(p->default_json)) << p->name;
        for (const auto& [key, value] : used.items()) {
            bool declared = false;
            for (const ParamSpec* p : all_params(*a)) declared |= p->name == key;
            EXPECT_TRUE(declared) << "read but not declared: " << key;
        }
        for (const ParamSpec* p : a->params) {
            if (p->tune_json.empty()) continue;
            json t = json::parse(p->tune_json);
            for (const json& v : t.is_array() ? t : json::array({t})) {
                json params = {{p->name, v}};
                if (p->name == "factors" || p->name == "iterations") params["iterations"] = 1;
                EXPECT_NO_THROW(train(*a, params)) << p->name << " = " << v;
            }
        }
        // A value out of range names the range (of the parameters read by
        // default; the others apply only with another, e.g. epsilon).
        for (const ParamSpec* p : a->params) {
            if (p->type != ParamType::Int || p->min <= 0 || !used.contains(p->name)) continue;
            Error e = expect_error([&] { train(*a, {{p->name, p->min - 1}}); });
            EXPECT_NE(std::string(e.what()).find("must be between " + json_number(p->min)), std::string::npos)
                << e.what();
        }
    }
}

TEST(Registry, CapabilitiesMatchTheScorers) {
    for (const Algorithm* a : all_algorithms()) {
        SCOPED_TRACE(a->name);
        json params = json::object();
        if (a->can.learns_users) params["iterations"] = 2;
        const Model m = train(*a, params);
        std::vector<float> out(m.n_items());
        EXPECT_EQ(m.scorer->similar(0, out), a->can.similar_items);
        std::vector<Contribution> parts;
        EXPECT_EQ(m.scorer->explain(m.history_of(0), 0u, 1, parts), a->can.explain);
        // Updated by training on the union (exact), or by the algorithm's own
        // approximate update (the factor models): tests/test_update.cpp.
        if (a->can.incremental) EXPECT_EQ(a->update != nullptr, a->can.learns_users);
        else EXPECT_EQ(a->update, nullptr);
        params["store_history"] = false;
        if (a->can.learns_users)
            expect_error([&] { train(*a, params); });
        else
            EXPECT_FALSE(train(*a, params).has_users());
        if (a->can.fold_in) {
            std::vector<float> basket_scores(m.n_items(), 0.0f);
            m.scorer->score(Basket{{0, 1}, {1.0f, 1.0f}}, std::nullopt, basket_scores);
        }
    }
}

// The declared estimate is what training reserves for its own structures:
// with a memory limit just below it, training refuses before allocating.
TEST(Registry, MemoryEstimateBoundsTraining) {
    for (const Algorithm* a : all_algorithms()) {
        SCOPED_TRACE(a->name);
        const json est = json::parse(memory_estimate_json(a->name, "{}", 30, 12));
        if (!a->memory) {
            EXPECT_TRUE(est.is_null());
            continue;
        }
        const auto bytes = est["bytes"].get<uint64_t>();
        EXPECT_GT(bytes, 0u);
        EXPECT_FALSE(est["formula"].get<std::string>().empty());
        Context ctx;
        ctx.memory_limit_bytes = bytes - 1;
        expect_error([&] { train(*a, json::object(), ctx); }, ErrorKind::ResourceLimit);
    }
    const json ease = json::parse(memory_estimate_json("ease", R"({"max_items": 300})", 10, 299));
    EXPECT_EQ(ease["bytes"], 2 * 299 * 299 * 8);
    EXPECT_EQ(ease["formula"], "2 x 299^2 x 8 bytes");
}

TEST(Registry, JsonListsEveryAlgorithmAndParameter) {
    const json all = json::parse(algorithms_json());
    ASSERT_EQ(all.size(), all_algorithms().size());
    for (size_t k = 0; k < all.size(); ++k) {
        const Algorithm& a = *all_algorithms()[k];
        EXPECT_EQ(all[k]["name"], a.name);
        EXPECT_EQ(all[k]["capabilities"]["tuned_by_default"], a.can.tuned_by_default);
        EXPECT_EQ(all[k]["params"].size(), all_params(a).size());
    }
}

// The README's tables are generated from the declarations; with
// RECSYS_WRITE_README=1 this test rewrites them instead of checking.
TEST(Registry, ReadmeTablesMatchTheDeclarations) {
    const std::string path = std::string(RECSYS_SOURCE_DIR) + "/README.md";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::stringstream buf;
    buf << in.rdbuf();
    std::string readme = buf.str();
    const bool write = std::getenv("RECSYS_WRITE_README") != nullptr;
    std::vector<std::string> blocks = {"common"};
    for (const Algorithm* a : all_algorithms()) blocks.emplace_back(a->name);
    for (const std::string& name : blocks) {
        const std::string open = "<!-- params:" + name + " -->\n", close = "<!-- /params -->";
        const size_t start = readme.find(open);
        ASSERT_NE(start, std::string::npos) << "README.md has no " << open;
        const size_t body = start + open.size();
        const size_t end = readme.find(close, body);
        ASSERT_NE(end, std::string::npos);
        const std::string want = generated(name);
        if (write)
            readme.replace(body, end - body, want);
        else
            EXPECT_EQ(readme.substr(body, end - body), want)
                << "README.md's table for " << name << " is stale: run RECSYS_WRITE_README=1 build/test_algorithms";
    }
    if (write) std::ofstream(path) << readme;
}
