// Params: the flat JSON object parser, typed getters with range checks,
// unknown-key rejection and the canonical / effective JSON forms.
#include "params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "errors.h"
#include "expect_error.h"

using namespace recsys;

namespace {


std::string parse_error(std::string_view json) {
    return expect_error([&] { Params::parse_json(json); }).what();
}

}  // namespace

// ---------------------------------------------------------------- parsing

TEST(ParamsParse, EmptyObject) {
    for (const char* json : {"{}", "  {  }  ", "\n{\t}\r\n"}) {
        Params p = Params::parse_json(json);
        EXPECT_EQ(p.to_json(), "{}") << json;
        EXPECT_EQ(p.effective_json(), "{}") << json;
        EXPECT_FALSE(p.has("a"));
        EXPECT_NO_THROW(p.reject_unknown("popularity"));
    }
}

TEST(ParamsParse, Numbers) {
    Params p = Params::parse_json(R"({"a": 1, "b": -2.5, "c": 1e3, "d": 0.125, "e": -0, "f": 2E-2, "g": 1.5e+2})");
    EXPECT_EQ(p.get_double("a", 0, -1e9, 1e9), 1.0);
    EXPECT_EQ(p.get_double("b", 0, -1e9, 1e9), -2.5);
    EXPECT_EQ(p.get_double("c", 0, -1e9, 1e9), 1000.0);
    EXPECT_EQ(p.get_double("d", 0, -1e9, 1e9), 0.125);
    EXPECT_EQ(p.get_double("e", 5, -1e9, 1e9), 0.0);
    EXPECT_DOUBLE_EQ(p.get_double("f", 0, -1e9, 1e9), 0.02);
    EXPECT_EQ(p.get_double("g", 0, -1e9, 1e9), 150.0);
    EXPECT_EQ(p.get_int("a", 0, -10, 10), 1);
    EXPECT_EQ(p.get_int("c", 0, 0, 100000), 1000);
}

TEST(ParamsParse, StringsWithEscapes) {
    Params p = Params::parse_json(R"({"s": "a\"b\\c\/d\ne\tf\rg\bh\fi", "empty": "", "sp ace": " x "})");
    auto get = [&](const std::string& k) {
        std::string v = p.get_string(k, "<default>", {"a\"b\\c/d\ne\tf\rg\bh\fi", "", " x "});
        return v;
    };
    EXPECT_EQ(get("s"), "a\"b\\c/d\ne\tf\rg\bh\fi");
    EXPECT_EQ(get("empty"), "");
    EXPECT_EQ(get("sp ace"), " x ");
    // Escapes in keys too.
    Params q = Params::parse_json(R"({"k\"ey": true})");
    EXPECT_TRUE(q.has("k\"ey"));
    EXPECT_TRUE(q.get_bool("k\"ey", false));
}

TEST(ParamsParse, Booleans) {
    Params p = Params::parse_json(R"({"t": true, "f": false})");
    EXPECT_TRUE(p.get_bool("t", false));
    EXPECT_FALSE(p.get_bool("f", true));
    EXPECT_TRUE(p.get_bool("missing", true));
    EXPECT_FALSE(p.get_bool("missing2", false));
}

TEST(ParamsParse, WhitespaceEverywhere) {
    Params p = Params::parse_json(" \n\t{ \"a\" \t:\n 3 , \r\n\"b\"  :  \"x\"  ,\"c\":false}\n ");
    EXPECT_EQ(p.get_int("a", 0, 0, 10), 3);
    EXPECT_EQ(p.get_string("b", "", {"x"}), "x");
    EXPECT_FALSE(p.get_bool("c", true));
    EXPECT_EQ(p.to_json(), R"({"a": 3, "b": "x", "c": false})");
}

TEST(ParamsParse, DuplicateKeyLastWins) {
    Params p = Params::parse_json(R"({"a": 1, "a": 2})");
    EXPECT_EQ(p.get_int("a", 0, 0, 10), 2);
}

// ---------------------------------------------------------------- parse errors

TEST(ParamsParse, NonObjectsRejected) {
    const std::string not_object = "invalid parameters: parameters must be a JSON object, like {\"neighbours\": 50}";
    for (const char* json : {"[]", "[1, 2]", "42", "\"a\"", "true", "null"})
        EXPECT_EQ(parse_error(json), not_object) << "input: '" << json << "'";
    Error e = expect_error([] { Params::parse_json("[1]"); });
    EXPECT_NE(e.hint().find("flat JSON object"), std::string::npos) << e.hint();
}

TEST(ParamsParse, NestedValuesRejected) {
    EXPECT_EQ(parse_error(R"({"a": {"b": 1}})"),
              "invalid parameters: parameter \"a\" must be a number, a string or a boolean");
    EXPECT_EQ(parse_error(R"({"list": [1, 2]})"),
              "invalid parameters: parameter \"list\" must be a number, a string or a boolean");
    EXPECT_EQ(parse_error(R"({"n": null})"),
              "invalid parameters: parameter \"n\" must be a number, a string or a boolean");
}

// Syntax errors come from the JSON library (nlohmann): the message says
// where, without the library's exception id.
TEST(ParamsParse, SyntaxErrorsRejectedWithPosition) {
    for (const char* json : {"", "   ", "neighbours=50", R"({"a": 1} x)", R"({} {})", R"({"a": true}})",
                             R"({"a": 1.2.3})", R"({"a": -})", R"({"a": 1e})", R"({"a": --1})", R"({"a": 1-2})",
                             R"({"a": +1})", R"({"a" 1})", R"({"a": 1 "b": 2})", R"({"a": 1)", R"({"a": 1,})",
                             R"({a: 1})", R"({"a": "x)", R"({"a)", R"({"a": "x\)", R"({"a": tru})",
                             R"({"a": True})", R"({"a": trueish})", "{"}) {
        const std::string msg = parse_error(json);
        EXPECT_EQ(msg.rfind("invalid parameters: ", 0), 0u) << json;
        EXPECT_NE(msg.find("column"), std::string::npos) << json << ": " << msg;
        EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
    }
    // Numbers beyond a double are refused, not read as infinity.
    for (const char* json : {R"({"a": 1e999})", R"({"a": -1e400})"})
        EXPECT_NE(parse_error(json).find("overflow"), std::string::npos) << json;
    EXPECT_EQ(Params::parse_json(R"({"a": "\u0041\u00e9"})").get_string("a", "", {"A\xc3\xa9"}), "A\xc3\xa9");
}

// ---------------------------------------------------------------- getters

TEST(ParamsGet, DefaultsWhenMissing) {
    Params p = Params::parse_json("{}");
    EXPECT_EQ(p.get_double("x", 0.5, 0, 1), 0.5);
    EXPECT_EQ(p.get_int("n", 50, 1, 100000), 50);
    EXPECT_TRUE(p.get_bool("b", true));
    EXPECT_EQ(p.get_string("s", "users", {"users", "weight"}), "users");
}

TEST(ParamsGet, RangeChecksWithExactMessages) {
    Params p = Params::parse_json(R"({"neighbours": 0, "big": 100001, "alpha": -0.5, "beta": 1.5, "ok": 100000})");
    EXPECT_STREQ(expect_error([&] { p.get_int("neighbours", 50, 1, 100000); }).what(),
                 "parameter \"neighbours\" is 0, but must be between 1 and 100000");
    EXPECT_STREQ(expect_error([&] { p.get_int("big", 50, 1, 100000); }).what(),
                 "parameter \"big\" is 100001, but must be between 1 and 100000");
    EXPECT_STREQ(expect_error([&] { p.get_double("alpha", 0.1, 0, 1); }).what(),
                 "parameter \"alpha\" is -0.5, but must be between 0 and 1");
    EXPECT_STREQ(expect_error([&] { p.get_double("beta", 0.1, 0, 1); }).what(),
                 "parameter \"beta\" is 1.5, but must be between 0 and 1");
    // Bounds are inclusive.
    EXPECT_EQ(p.get_int("ok", 50, 1, 100000), 100000);
    Params q = Params::parse_json(R"({"lo": 1, "f": 0})");
    EXPECT_EQ(q.get_int("lo", 50, 1, 100000), 1);
    EXPECT_EQ(q.get_double("f", 0.5, 0, 1), 0.0);
}

// INT64_MAX as a double is 2^63, so 2^63 passed the range check of a seed
// and was converted to int64: undefined, reported by UBSan in fuzz_params on
// tests/fuzz/corpus/params/regress_seed_2pow63.json.
TEST(ParamsGet, IntUpToInt64Max) {
    Params p = Params::parse_json(R"({"seed": 9223372036854775807, "below": 9223372036854774784, "low": -9223372036854775808})");
    EXPECT_STREQ(expect_error([&] { p.get_int("seed", 42, 0, INT64_MAX); }).what(),
                 "parameter \"seed\" is 9.223372036854776e+18, but must be between 0 and 9223372036854775807");
    EXPECT_EQ(p.get_int("below", 42, 0, INT64_MAX), INT64_C(9223372036854774784));  // the largest double below 2^63
    EXPECT_EQ(p.get_int("low", 0, INT64_MIN, 0), INT64_MIN);
}

TEST(ParamsGet, IntRejectsFractions) {
    Params p = Params::parse_json(R"({"neighbours": 2.5, "n": 3.0})");
    EXPECT_STREQ(expect_error([&] { p.get_int("neighbours", 50, 1, 100000); }).what(),
                 "parameter \"neighbours\" must be a whole number, not 2.5");
    EXPECT_EQ(p.get_int("n", 0, 0, 10), 3);  // 3.0 is whole
}

TEST(ParamsGet, TypeMismatches) {
    Params p = Params::parse_json(R"({"n": "50", "b": 1, "s": 7, "t": true})");
    EXPECT_STREQ(expect_error([&] { p.get_int("n", 50, 1, 100); }).what(), "parameter \"n\" must be a number");
    EXPECT_STREQ(expect_error([&] { p.get_double("t", 1, 0, 2); }).what(), "parameter \"t\" must be a number");
    EXPECT_STREQ(expect_error([&] { p.get_bool("b", false); }).what(), "parameter \"b\" must be true or false");
    EXPECT_STREQ(expect_error([&] { p.get_string("s", "users", {"users", "weight"}); }).what(),
                 "parameter \"s\" must be a string, one of: users, weight");
}

TEST(ParamsGet, StringNotAllowed) {
    Params p = Params::parse_json(R"({"by": "revenue"})");
    EXPECT_STREQ(expect_error([&] { p.get_string("by", "users", {"users", "weight"}); }).what(),
                 "parameter \"by\" is \"revenue\", but must be one of: users, weight");
    Params q = Params::parse_json(R"({"by": "weight"})");
    EXPECT_EQ(q.get_string("by", "users", {"users", "weight"}), "weight");
}

// ---------------------------------------------------------------- unknown keys

TEST(ParamsUnknown, NamesTheKeyAndListsKnownOnes) {
    Params p = Params::parse_json(R"({"neighbours": 20, "neighbors": 30, "binary": false})");
    p.get_int("neighbours", 50, 1, 100000);
    p.get_double("shrinkage", 0, 0, 1e9);
    p.get_bool("binary", true);
    Error e = expect_error([&] { p.reject_unknown("itemknn"); });
    std::string msg = e.what();
    EXPECT_EQ(msg, "unknown parameter \"neighbors\" for algorithm itemknn");
    EXPECT_EQ(e.hint(), "Known parameters: binary, neighbours, shrinkage.");
}

TEST(ParamsUnknown, AlgorithmWithoutParameters) {
    Params p = Params::parse_json(R"({"x": 1})");
    Error e = expect_error([&] { p.reject_unknown("foo"); });
    EXPECT_STREQ(e.what(), "unknown parameter \"x\" for algorithm foo");
    EXPECT_NE(e.hint().find("no parameters"), std::string::npos) << e.hint();
}

TEST(ParamsUnknown, AllReadMeansNoError) {
    Params p = Params::parse_json(R"({"a": 1, "b": true})");
    p.get_double("a", 0, 0, 10);
    p.get_bool("b", false);
    p.get_int("c", 1, 0, 10);  // read, though absent
    EXPECT_NO_THROW(p.reject_unknown("x"));
}

// ---------------------------------------------------------------- JSON output

TEST(ParamsJson, EffectiveIncludesDefaultsSorted) {
    Params p = Params::parse_json(R"({"shrinkage": 2.5, "binary": false})");
    p.get_int("neighbours", 50, 1, 100000);
    p.get_double("shrinkage", 0, 0, 1e9);
    p.get_bool("binary", true);
    p.get_string("by", "users", {"users", "weight"});
    EXPECT_EQ(p.effective_json(), R"({"binary": false, "by": "users", "neighbours": 50, "shrinkage": 2.5})");
    // to_json is what was given, not the defaults.
    EXPECT_EQ(p.to_json(), R"({"binary": false, "shrinkage": 2.5})");
}

TEST(ParamsJson, EffectiveOnlyHoldsWhatWasRead) {
    Params p = Params::parse_json(R"({"z": 1, "a": 2})");
    p.get_int("z", 0, 0, 10);
    EXPECT_EQ(p.effective_json(), R"({"z": 1})");
}

TEST(ParamsJson, CanonicalSortedKeysAndFormatting) {
    Params p = Params::parse_json(R"({"z": 1, "m": "s", "a": true, "b": 0.1, "c": -3, "d": 1e20})");
    EXPECT_EQ(p.to_json(), R"({"a": true, "b": 0.1, "c": -3, "d": 1e+20, "m": "s", "z": 1})");
}

TEST(ParamsJson, RoundTrip) {
    const char* inputs[] = {
        R"({})",
        R"({"a": 1, "b": 2.5, "c": -0.001, "d": 123456789012, "e": 1e-300, "f": 1.7976931348623157e308})",
        R"({"s": "quote \" backslash \\ slash / nl \n tab \t cr \r", "t": true, "u": false})",
        R"({"w": 0.1, "x": 0.3333333333333333, "y": 3.141592653589793})",
    };
    for (const char* json : inputs) {
        Params p = Params::parse_json(json);
        std::string once = p.to_json();
        Params q = Params::parse_json(once);
        EXPECT_EQ(q.to_json(), once) << json;
    }
    // Values survive exactly, not just the text.
    Params p = Params::parse_json(R"({"x": 0.3333333333333333, "y": 1e-300, "s": "a\"\\\n"})");
    Params q = Params::parse_json(p.to_json());
    EXPECT_EQ(q.get_double("x", 0, -1, 1), p.get_double("x", 0, -1, 1));
    EXPECT_EQ(q.get_double("y", 0, -1, 1), 1e-300);
    EXPECT_EQ(q.get_string("s", "", {"a\"\\\n"}), "a\"\\\n");
}

// The parser accepts \b and \f; writing them back must give JSON the parser
// reads again.
TEST(ParamsJson, RoundTripControlCharacters) {
    Params p = Params::parse_json(R"({"s": "x\by\fz"})");
    std::string once = p.to_json();
    Params q;
    ASSERT_NO_THROW(q = Params::parse_json(once)) << "to_json wrote " << once;
    EXPECT_EQ(q.get_string("s", "", {"x\by\fz"}), "x\by\fz");
}

TEST(ParamsJson, SetOverrides) {
    Params p = Params::parse_json(R"({"a": 1})");
    p.set("a", 2.0);
    p.set("b", std::string("x"));
    p.set("c", true);
    EXPECT_EQ(p.to_json(), R"({"a": 2, "b": "x", "c": true})");
}

TEST(NameList, TrimsAndDropsEmptyNames) {
    using V = std::vector<std::string>;
    EXPECT_EQ(name_list("ease,popularity"), (V{"ease", "popularity"}));
    EXPECT_EQ(name_list(" ease , ,popularity  ,"), (V{"ease", "popularity"}));
    EXPECT_EQ(name_list("mlp"), (V{"mlp"}));
    EXPECT_EQ(name_list(""), V{});
    EXPECT_EQ(name_list(" , "), V{});
}
