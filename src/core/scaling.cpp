#include "scaling.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace recsys {

namespace {

constexpr uint8_t kMinMaxTag = 0x4d;  // 'M': a byte to recognise each state, version 1
constexpr uint8_t kZScoreTag = 0x5a;  // 'Z'
constexpr uint8_t kRobustTag = 0x52;  // 'R'

const char* const kJsonHint =
    "Pass the object returned by fit_scaler, for example "
    "{\"method\":\"zscore\",\"mean\":0,\"stddev\":1}";

void check_finite(double x) {
    if (!std::isfinite(x))
        throw invalid_input("cannot scale a NaN or infinite value",
                            "Filter out or replace non-finite values first.");
}

// Values near the double limits can overflow the range or the variance.
ScalerParams checked(ScalerParams p) {
    if (!std::isfinite(p.center) || !std::isfinite(p.spread))
        throw invalid_input("values are too large to scale (their spread overflows a double)",
                            "Divide the column by a constant factor first.");
    return p;
}

Error no_rows() {
    return invalid_input("cannot fit a scaler on zero rows",
                         "Fit on a query that returns at least one non-null value.");
}

void read_tag(ByteReader& r, uint8_t expected) {
    if (r.get<uint8_t>() != expected) throw corrupted("scaler state is corrupted or of another kind");
}

double finite_in_state(double x) {
    if (!std::isfinite(x)) throw corrupted("scaler state is corrupted (non-finite number)");
    return x;
}

// The min-max and z-score states: their tag, the count and two numbers.
void write_count_and_two(ByteWriter& w, uint8_t tag, uint64_t count, double first, double second) {
    w.put<uint8_t>(tag);
    w.put<uint64_t>(count);
    w.put<double>(first);
    w.put<double>(second);
}

void read_count_and_two(ByteReader& r, uint8_t tag, uint64_t& count, double& first, double& second) {
    read_tag(r, tag);
    count = r.get<uint64_t>();
    first = finite_in_state(r.get<double>());
    second = finite_in_state(r.get<double>());
}

std::string number_text(double x) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip form
    return std::string(buf, end);
}

// The two number keys each method writes, in to_json order.
std::pair<const char*, const char*> keys_of(ScaleMethod m) {
    switch (m) {
        case ScaleMethod::MinMax: return {"min", "max"};
        case ScaleMethod::ZScore: return {"mean", "stddev"};
        case ScaleMethod::Robust: return {"median", "iqr"};
    }
    return {"", ""};
}

const char* name_of(ScaleMethod m) {
    switch (m) {
        case ScaleMethod::MinMax: return "minmax";
        case ScaleMethod::ZScore: return "zscore";
        case ScaleMethod::Robust: return "robust";
    }
    return "";
}

double sorted_quantile(const std::vector<double>& sorted, double fraction) {
    double pos = fraction * double(sorted.size() - 1);
    size_t lo = size_t(std::floor(pos));
    size_t hi = size_t(std::ceil(pos));
    return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

double ScalerParams::apply(double x) const {
    check_finite(x);
    if (spread == 0) return 0;  // constant column
    return (x - center) / spread;
}

std::string ScalerParams::to_json() const {
    auto [first, second] = keys_of(method);
    // minmax shows the max a user would expect rather than the range.
    double second_value = method == ScaleMethod::MinMax ? center + spread : spread;
    return std::string("{\"method\":\"") + name_of(method) + "\",\"" + first + "\":" + number_text(center) +
           ",\"" + second + "\":" + number_text(second_value) + "}";
}

ScalerParams ScalerParams::parse_json(std::string_view json) {
    nlohmann::json fields;
    try {
        fields = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception&) {
        throw invalid_input("invalid scaler parameters: not a JSON object", kJsonHint);
    }
    if (!fields.is_object()) throw invalid_input("invalid scaler parameters: not a JSON object", kJsonHint);
    if (!fields.contains("method") || !fields["method"].is_string())
        throw invalid_input("invalid scaler parameters: needs a string \"method\"", kJsonHint);
    const std::string name = fields["method"].get<std::string>();
    ScalerParams p;
    if (name == "minmax") p.method = ScaleMethod::MinMax;
    else if (name == "zscore") p.method = ScaleMethod::ZScore;
    else if (name == "robust") p.method = ScaleMethod::Robust;
    else
        throw invalid_input("invalid scaler parameters: unknown method \"" + name + "\"",
                            "use \"minmax\", \"zscore\" or \"robust\"");

    auto [first, second] = keys_of(p.method);
    auto number = [&](const char* key) {
        if (!fields.contains(key) || !fields[key].is_number() || !std::isfinite(fields[key].get<double>()))
            throw invalid_input("invalid scaler parameters: " + name + " needs a number \"" + key + "\"",
                                kJsonHint);
        return fields[key].get<double>();
    };
    double a = number(first);
    double b = number(second);
    if (fields.size() != 3)
        throw invalid_input("invalid scaler parameters: " + name + " takes only \"method\", \"" + first +
                                "\" and \"" + second + "\"",
                            kJsonHint);

    p.center = a;
    p.spread = p.method == ScaleMethod::MinMax ? b - a : b;
    if (!std::isfinite(p.spread))
        throw invalid_input("invalid scaler parameters: the range from min to max overflows a double", kJsonHint);
    if (p.spread < 0)
        throw invalid_input("invalid scaler parameters: \"" + std::string(second) + "\" must be >= " +
                                (p.method == ScaleMethod::MinMax ? "\"min\"" : "0"),
                            kJsonHint);
    return p;
}

// --- min-max

void MinMaxState::add(double x) {
    check_finite(x);
    min_ = count_ == 0 ? x : std::min(min_, x);
    max_ = count_ == 0 ? x : std::max(max_, x);
    ++count_;
}

void MinMaxState::combine(const MinMaxState& other) {
    if (other.count_ == 0) return;
    if (count_ == 0) { *this = other; return; }
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
}

ScalerParams MinMaxState::params() const {
    if (count_ == 0) throw no_rows();
    return checked({ScaleMethod::MinMax, min_, max_ - min_});
}

void MinMaxState::write(ByteWriter& w) const { write_count_and_two(w, kMinMaxTag, count_, min_, max_); }

MinMaxState MinMaxState::read(ByteReader& r) {
    MinMaxState s;
    read_count_and_two(r, kMinMaxTag, s.count_, s.min_, s.max_);
    if (s.min_ > s.max_) throw corrupted("scaler state is corrupted (min above max)");
    return s;
}

// --- z-score

void ZScoreState::add(double x) {
    check_finite(x);
    ++count_;
    double delta = x - mean_;
    mean_ += delta / double(count_);
    m2_ += delta * (x - mean_);
}

void ZScoreState::combine(const ZScoreState& other) {
    if (other.count_ == 0) return;
    if (count_ == 0) { *this = other; return; }
    double n_a = double(count_), n_b = double(other.count_), n = n_a + n_b;
    double delta = other.mean_ - mean_;
    mean_ += delta * n_b / n;
    m2_ += other.m2_ + delta * delta * n_a * n_b / n;
    count_ += other.count_;
}

double ZScoreState::stddev() const {
    if (count_ < 2) return 0;
    return std::sqrt(std::max(0.0, m2_) / double(count_));  // rounding can leave m2 a hair below 0
}

ScalerParams ZScoreState::params() const {
    if (count_ == 0) throw no_rows();
    return checked({ScaleMethod::ZScore, mean_, stddev()});
}

void ZScoreState::write(ByteWriter& w) const { write_count_and_two(w, kZScoreTag, count_, mean_, m2_); }

ZScoreState ZScoreState::read(ByteReader& r) {
    ZScoreState s;
    read_count_and_two(r, kZScoreTag, s.count_, s.mean_, s.m2_);
    return s;
}

// --- robust

void RobustState::add(double x) {
    check_finite(x);
    values_.push_back(x);
}

void RobustState::combine(const RobustState& other) {
    values_.insert(values_.end(), other.values_.begin(), other.values_.end());
}

ScalerParams RobustState::params() const {
    if (values_.empty()) throw no_rows();
    std::vector<double> sorted = values_;
    std::sort(sorted.begin(), sorted.end());
    double iqr = sorted_quantile(sorted, 0.75) - sorted_quantile(sorted, 0.25);
    return checked({ScaleMethod::Robust, sorted_quantile(sorted, 0.5), iqr});
}

void RobustState::write(ByteWriter& w) const {
    w.put<uint8_t>(kRobustTag);
    w.put_array(values_);
}

RobustState RobustState::read(ByteReader& r) {
    read_tag(r, kRobustTag);
    RobustState s;
    s.values_ = r.get_array<double>();
    for (double x : s.values_) finite_in_state(x);
    return s;
}

double percentile_cont(std::vector<double> values, double fraction) {
    if (!(fraction >= 0 && fraction <= 1))
        throw invalid_input("quantile fraction must be between 0 and 1", "For example 0.99 for the 99th percentile.");
    if (values.empty())
        throw invalid_input("cannot compute a quantile of zero values", "Pass at least one value.");
    for (double x : values)
        if (!std::isfinite(x))
            throw invalid_input("cannot compute a quantile of NaN or infinite values",
                                "Filter out or replace non-finite values first.");
    std::sort(values.begin(), values.end());
    return sorted_quantile(values, fraction);
}

}  // namespace recsys
