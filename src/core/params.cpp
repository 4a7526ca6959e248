#include "params.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "errors.h"

namespace recsys {

namespace {

// A small parser for the one shape parameters take: a flat JSON object.
class JsonReader {
public:
    explicit JsonReader(std::string_view s) : s_(s) {}

    Params parse_object() {
        Params p;
        skip_ws();
        expect('{', "parameters must be a JSON object, like {\"neighbours\": 50}");
        skip_ws();
        if (peek() == '}') {
            ++i_;
        } else {
            for (;;) {
                skip_ws();
                std::string key = parse_string();
                skip_ws();
                expect(':', "expected ':' after a parameter name");
                skip_ws();
                p.set(key, parse_value(key));
                skip_ws();
                if (peek() == ',') { ++i_; continue; }
                expect('}', "expected ',' or '}' in the parameters");
                break;
            }
        }
        skip_ws();
        if (i_ != s_.size()) fail("unexpected text after the parameters object");
        return p;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw invalid_input("invalid parameters: " + what,
                            "Pass a flat JSON object of numbers, strings and booleans, e.g. '{\"neighbours\": 50}'.");
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    void expect(char c, const std::string& what) {
        if (peek() != c) fail(what);
        ++i_;
    }
    std::string parse_string() {
        expect('"', "expected a quoted parameter name");
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c == '\\') {
                if (i_ >= s_.size()) break;
                char e = s_[i_++];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'u': append_utf8(out, parse_hex4()); break;
                    default: out += e;
                }
            } else {
                out += c;
            }
        }
        expect('"', "unterminated string");
        return out;
    }
    unsigned parse_hex4() {
        if (i_ + 4 > s_.size()) fail("incomplete \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
            else fail("invalid \\u escape");
        }
        if (v >= 0xD800 && v <= 0xDFFF) fail("\\u escapes of surrogates are not supported; write the character itself");
        return v;
    }
    static void append_utf8(std::string& out, unsigned v) {
        if (v < 0x80) {
            out += char(v);
        } else if (v < 0x800) {
            out += char(0xC0 | (v >> 6));
            out += char(0x80 | (v & 0x3F));
        } else {
            out += char(0xE0 | (v >> 12));
            out += char(0x80 | ((v >> 6) & 0x3F));
            out += char(0x80 | (v & 0x3F));
        }
    }
    Params::Value parse_value(const std::string& key) {
        char c = peek();
        if (c == '"') return parse_string();
        if (s_.substr(i_, 4) == "true") { i_ += 4; return true; }
        if (s_.substr(i_, 5) == "false") { i_ += 5; return false; }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i_;
            while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos) ++i_;
            std::string num(s_.substr(start, i_ - start));
            char* end = nullptr;
            double v = std::strtod(num.c_str(), &end);
            if (end != num.c_str() + num.size() || !std::isfinite(v)) fail("parameter \"" + key + "\" is not a valid number");
            return v;
        }
        fail("parameter \"" + key + "\" must be a number, a string or a boolean");
    }

    std::string_view s_;
    size_t i_ = 0;
};

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += c;
    }
    return out + "\"";
}

std::string format_number(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(int64_t(v));
    char buf[32];
    for (int precision = 6; precision <= 17; ++precision) {  // the shortest text that reads back exactly
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

Error out_of_range(const std::string& key, const std::string& value, const std::string& min, const std::string& max) {
    return invalid_input("parameter \"" + key + "\" is " + value + ", but must be between " + min + " and " + max,
                         "Pass a value in that range, or leave \"" + key + "\" out for the algorithm's default.");
}

}  // namespace

Params Params::parse_json(std::string_view json) { return JsonReader(json).parse_object(); }

namespace {
std::string object_json(const std::map<std::string, Params::Value>& values) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : values) {
        if (!first) out += ", ";
        first = false;
        out += quote(key) + ": ";
        if (auto d = std::get_if<double>(&value)) out += format_number(*d);
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
                            "Pass a JSON number, not a string, e.g. {\"" + key + "\": " + format_number(def) + "}.");
    if (!(*d >= min && *d <= max)) throw out_of_range(key, format_number(*d), format_number(min), format_number(max));
    effective_[key] = *d;
    return *d;
}

int64_t Params::get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const {
    double d = get_double(key, double(def), double(min), double(max));
    if (d != std::floor(d))
        throw invalid_input("parameter \"" + key + "\" must be a whole number, not " + format_number(d),
                            "Round it, e.g. {\"" + key + "\": " + format_number(std::round(d)) + "}.");
    // double(max) rounds INT64_MAX up to 2^63, which no int64 holds.
    if (d >= 0x1p63) throw out_of_range(key, format_number(d), std::to_string(min), std::to_string(max));
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

}  // namespace recsys
