// Training parameters: a flat JSON object of numbers, strings and booleans.
// Every key must be read by the algorithm, so a misspelt one is an error.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace recsys {

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

    void set(const std::string& key, Value v) { values_[key] = std::move(v); }
    // Throws if a key was never read: "unknown parameter "x" for itemknn (known: ...)".
    void reject_unknown(std::string_view algorithm) const;

private:
    std::map<std::string, Value> values_;
    mutable std::set<std::string> read_;
    mutable std::map<std::string, Value> effective_;
};

}  // namespace recsys
