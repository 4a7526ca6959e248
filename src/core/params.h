// Training parameters: a flat JSON object of numbers, strings and booleans.
// Every key must be read by the algorithm, so a misspelt one is an error.
//
// Each algorithm declares its parameters once, as ParamSpecs (see
// algorithm.h): type, default, range or choices, tune()'s default search
// values and a one-line description. Training reads values through the spec,
// so the default and the range checked are the ones the registry shows.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace recsys {

enum class ParamType { Int, Double, Bool, Choice };

struct ParamSpec {
    std::string_view name;
    ParamType type;
    // The default as JSON ("10", "0.75", "true", "\"cosine\""); empty when it
    // is derived from the data or other parameters (`doc` says how).
    std::string_view default_json;
    double min = 0, max = 0;       // Int and Double, inclusive
    std::string_view choices;      // Choice: the allowed strings, "|"-separated
    // tune()'s default search values as JSON: an array to search, one value
    // to fix, empty to leave the parameter at its default.
    std::string_view tune_json;
    std::string_view doc;
};

// The shortest text that reads back as the same double ("10", "0.1", "1e+20").
std::string json_number(double v);

// The names of a comma-separated string parameter ("ease, popularity"),
// trimmed of spaces, empty ones dropped.
std::vector<std::string> name_list(std::string_view list);

class Params {
public:
    using Value = std::variant<double, bool, std::string>;

    static Params parse_json(std::string_view json);  // throws invalid_input
    std::string to_json() const;                       // canonical: sorted keys
    // The parameters as read, defaults included: what a model was trained with.
    std::string effective_json() const;

    bool has(const std::string& key) const { return values_.count(key) != 0; }
    double get_double(const std::string& key, double def, double min, double max) const;
    int64_t get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const;
    bool get_bool(const std::string& key, bool def) const;
    std::string get_string(const std::string& key, const std::string& def,
                           const std::vector<std::string>& allowed) const;

    // Reads a declared parameter with its declared default and range. The
    // second form supplies the default of a spec whose default is derived.
    double number(const ParamSpec& spec) const;
    double number(const ParamSpec& spec, double derived_default) const;
    int64_t integer(const ParamSpec& spec) const;
    int64_t integer(const ParamSpec& spec, int64_t derived_default) const;
    bool boolean(const ParamSpec& spec) const;
    bool boolean(const ParamSpec& spec, bool derived_default) const;
    std::string choice(const ParamSpec& spec) const;
    std::string choice(const ParamSpec& spec, const std::string& derived_default) const;

    void set(const std::string& key, Value v) { values_[key] = std::move(v); }
    // Throws if a key was never read: "unknown parameter "x" for itemknn (known: ...)".
    void reject_unknown(std::string_view algorithm) const;

private:
    std::map<std::string, Value> values_;
    mutable std::set<std::string> read_;
    mutable std::map<std::string, Value> effective_;
};

}  // namespace recsys
