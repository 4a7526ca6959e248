#include "params.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace recsys {

namespace {

[[noreturn]] void parse_failure(const std::string& what) {
    throw invalid_input("invalid parameters: " + what,
                        "Pass a flat JSON object of numbers, strings and booleans, e.g. '{\"neighbours\": 50}'.");
}

// nlohmann's messages start with "[json.exception.parse_error.101] ": not for users.
std::string without_exception_id(const char* what) {
    std::string_view s(what);
    if (!s.empty() && s[0] == '[') {
        auto close = s.find("] ");
        if (close != std::string_view::npos) s.remove_prefix(close + 2);
    }
    return std::string(s);
}

std::string quote(const std::string& s) {
    // Replaces invalid UTF-8 rather than throwing: a corrupted model's text must fail later, not here.
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string json_number(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(int64_t(v));
    char buf[32];
    for (int precision = 6; precision <= 17; ++precision) {  // the shortest text that reads back exactly
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

std::vector<std::string> name_list(std::string_view list) {
    std::vector<std::string> out;
    for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string_view::npos) comma = list.size();
        std::string_view name = list.substr(start, comma - start);
        start = comma + 1;
        size_t first = name.find_first_not_of(' ');
        if (first == std::string_view::npos) continue;
        out.emplace_back(name.substr(first, name.find_last_not_of(' ') + 1 - first));
    }
    return out;
}

namespace {

Error out_of_range(const std::string& key, const std::string& value, const std::string& min, const std::string& max) {
    return invalid_input("parameter \"" + key + "\" is " + value + ", but must be between " + min + " and " + max,
                         "Pass a value in that range, or leave \"" + key + "\" out for the algorithm's default.");
}

}  // namespace

Params Params::parse_json(std::string_view json) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(json);
    } catch (const nlohmann::json::out_of_range&) {
        // Its message quotes the number, which may be hundreds of digits long.
        parse_failure("a number is beyond the range of a double (number overflow)");
    } catch (const nlohmann::json::exception& e) {
        parse_failure(without_exception_id(e.what()));
    }
    if (!doc.is_object()) parse_failure("parameters must be a JSON object, like {\"neighbours\": 50}");
    Params p;
    for (const auto& [key, value] : doc.items()) {
        if (value.is_boolean()) {
            p.set(key, value.get<bool>());
        } else if (value.is_number()) {
            const double v = value.get<double>();
            if (!std::isfinite(v)) parse_failure("parameter \"" + key + "\" is not a valid number");
            p.set(key, v);
        } else if (value.is_string()) {
            p.set(key, value.get<std::string>());
        } else {
            parse_failure("parameter \"" + key + "\" must be a number, a string or a boolean");
        }
    }
    return p;
}

namespace {
std::string object_json(const std::map<std::string, Params::Value>& values) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : values) {
        if (!first) out += ", ";
        first = false;
        out += quote(key) + ": ";
        if (auto d = std::get_if<double>(&value)) out += json_number(*d);
        else if (auto b = std::get_if<bool>(&value)) out += *b ? "true" : "false";
        else out += quote(std::get<std::string>(value));
    }
    return out + "}";
}
}  // namespace

std::string Params::to_json() const { return object_json(values_); }
std::string Params::effective_json() const { return object_json(effective_); }

double Params::get_double(const std::string& key, double def, double min, double max) const {
    read_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) return effective_[key] = def, def;
    auto d = std::get_if<double>(&it->second);
    if (!d)
        throw invalid_input("parameter \"" + key + "\" must be a number",
                            "Pass a JSON number, not a string, e.g. {\"" + key + "\": " + json_number(def) + "}.");
    if (!(*d >= min && *d <= max)) throw out_of_range(key, json_number(*d), json_number(min), json_number(max));
    effective_[key] = *d;
    return *d;
}

int64_t Params::get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const {
    double d = get_double(key, double(def), double(min), double(max));
    if (d != std::floor(d))
        throw invalid_input("parameter \"" + key + "\" must be a whole number, not " + json_number(d),
                            "Round it, e.g. {\"" + key + "\": " + json_number(std::round(d)) + "}.");
    // double(max) rounds INT64_MAX up to 2^63, which no int64 holds.
    if (d >= 0x1p63) throw out_of_range(key, json_number(d), std::to_string(min), std::to_string(max));
    return int64_t(d);
}

bool Params::get_bool(const std::string& key, bool def) const {
    read_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) return effective_[key] = def, def;
    auto b = std::get_if<bool>(&it->second);
    if (!b)
        throw invalid_input("parameter \"" + key + "\" must be true or false",
                            "Pass a JSON boolean, not a string or number, e.g. {\"" + key + "\": " +
                                (def ? "true" : "false") + "}.");
    effective_[key] = *b;
    return *b;
}

std::string Params::get_string(const std::string& key, const std::string& def,
                               const std::vector<std::string>& allowed) const {
    read_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) return effective_[key] = def, def;
    auto s = std::get_if<std::string>(&it->second);
    std::string choices;
    for (const auto& a : allowed) choices += (choices.empty() ? "" : ", ") + a;
    const std::string hint = "Pass one of them as a JSON string, e.g. {\"" + key + "\": \"" + def +
                             "\"}, or leave \"" + key + "\" out for that default.";
    if (!s) throw invalid_input("parameter \"" + key + "\" must be a string, one of: " + choices, hint);
    for (const auto& a : allowed)
        if (*s == a) return effective_[key] = *s, *s;
    throw invalid_input("parameter \"" + key + "\" is \"" + *s + "\", but must be one of: " + choices, hint);
}

void Params::reject_unknown(std::string_view algorithm) const {
    for (const auto& [key, value] : values_) {
        if (read_.count(key)) continue;
        std::string known;
        for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
        throw invalid_input("unknown parameter \"" + key + "\" for algorithm " + std::string(algorithm),
                            known.empty() ? "This algorithm takes no parameters; pass '{}'."
                                          : "Known parameters: " + known + ".");
    }
}

// ---------------------------------------------------------------- declared parameters

namespace {

std::vector<std::string> split_choices(std::string_view choices) {
    std::vector<std::string> out;
    for (size_t start = 0;;) {
        size_t bar = choices.find('|', start);
        out.emplace_back(choices.substr(start, bar - start));
        if (bar == std::string_view::npos) return out;
        start = bar + 1;
    }
}

// A declared default; a spec without one must be read with a derived default.
const nlohmann::json& declared_default(const ParamSpec& spec, nlohmann::json& storage) {
    if (spec.default_json.empty())
        throw Error(ErrorKind::Internal, "parameter \"" + std::string(spec.name) + "\" has no declared default");
    storage = nlohmann::json::parse(spec.default_json);
    return storage;
}

}  // namespace

double Params::number(const ParamSpec& spec) const {
    nlohmann::json d;
    return number(spec, declared_default(spec, d).get<double>());
}
double Params::number(const ParamSpec& spec, double derived_default) const {
    return get_double(std::string(spec.name), derived_default, spec.min, spec.max);
}
int64_t Params::integer(const ParamSpec& spec) const {
    nlohmann::json d;
    return integer(spec, declared_default(spec, d).get<int64_t>());
}
int64_t Params::integer(const ParamSpec& spec, int64_t derived_default) const {
    // The bounds of an Int spec are whole numbers held exactly by a double,
    // except INT64_MAX (2^63 - 1), which reads as 2^63.
    const auto bound = [](double b) { return b >= 0x1p63 ? INT64_MAX : int64_t(b); };
    return get_int(std::string(spec.name), derived_default, bound(spec.min), bound(spec.max));
}
bool Params::boolean(const ParamSpec& spec) const {
    nlohmann::json d;
    return boolean(spec, declared_default(spec, d).get<bool>());
}
bool Params::boolean(const ParamSpec& spec, bool derived_default) const {
    return get_bool(std::string(spec.name), derived_default);
}
std::string Params::choice(const ParamSpec& spec) const {
    nlohmann::json d;
    return get_string(std::string(spec.name), declared_default(spec, d).get<std::string>(), split_choices(spec.choices));
}
std::string Params::choice(const ParamSpec& spec, const std::string& derived_default) const {
    return get_string(std::string(spec.name), derived_default, split_choices(spec.choices));
}

}  // namespace recsys
