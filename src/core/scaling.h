// Feature scalers: fit on training rows, keep the fitted parameters as a
// small JSON object, and apply the same scaling to new rows later.
//
// Each fit state takes non-null, finite values only (the glue skips NULLs);
// NaN or infinity is an invalid_input error. States can be combined and
// written to bytes, so a fit can run as a parallel aggregate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "byte_io.h"

namespace recsys {

enum class ScaleMethod { MinMax, ZScore, Robust };

// Fitted parameters of a scaler. apply(x) = (x - center) / spread, where
//   minmax: center = min,    spread = max - min   (training rows map to [0, 1])
//   zscore: center = mean,   spread = population stddev (as stddev_pop)
//   robust: center = median, spread = IQR = q3 - q1 (percentile_cont)
// A constant column (spread == 0) maps every value to 0. Values outside the
// training range are not clipped.
struct ScalerParams {
    ScaleMethod method = ScaleMethod::ZScore;
    double center = 0;
    double spread = 0;

    // Throws invalid_input for a NaN or infinite x.
    double apply(double x) const;

    // {"method":"minmax","min":..,"max":..}, {"method":"zscore","mean":..,
    // "stddev":..} or {"method":"robust","median":..,"iqr":..}; numbers are
    // written with the shortest text that reads back to the same double.
    std::string to_json() const;
    // Accepts the objects to_json writes (keys in any order, whitespace
    // allowed; of a repeated key the last, as jsonb keeps); anything else is
    // invalid_input.
    static ScalerParams parse_json(std::string_view json);
};

// Running min and max.
class MinMaxState {
public:
    void add(double x);
    void combine(const MinMaxState& other);
    uint64_t count() const { return count_; }
    ScalerParams params() const;  // invalid_input when no value was added

    void write(ByteWriter& w) const;
    static MinMaxState read(ByteReader& r);  // throws corrupted

private:
    uint64_t count_ = 0;
    double min_ = 0;
    double max_ = 0;
};

// Running mean and variance by Welford's method; combine merges two partial
// states exactly as if all values had been added to one (Chan et al.).
class ZScoreState {
public:
    void add(double x);
    void combine(const ZScoreState& other);
    uint64_t count() const { return count_; }
    double mean() const { return mean_; }
    double stddev() const;  // population stddev, 0 when count() < 2
    ScalerParams params() const;  // invalid_input when no value was added

    void write(ByteWriter& w) const;
    static ZScoreState read(ByteReader& r);  // throws corrupted

private:
    uint64_t count_ = 0;
    double mean_ = 0;
    double m2_ = 0;  // sum of squared deviations from the mean
};

// Median and IQR need every value: this state keeps them all (8 bytes each).
class RobustState {
public:
    void add(double x);
    void combine(const RobustState& other);
    uint64_t count() const { return values_.size(); }
    ScalerParams params() const;  // invalid_input when no value was added

    void write(ByteWriter& w) const;
    static RobustState read(ByteReader& r);  // throws corrupted

private:
    std::vector<double> values_;
};

// The continuous quantile of PostgreSQL's percentile_cont: with the values
// sorted as v[0..n-1] and p = fraction * (n - 1),
//   result = v[floor(p)] + (p - floor(p)) * (v[ceil(p)] - v[floor(p)]).
// Throws invalid_input for no values, a non-finite value, or a fraction
// outside [0, 1].
double percentile_cont(std::vector<double> values, double fraction);

}  // namespace recsys
