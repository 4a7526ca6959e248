#include "scaling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "errors.h"

using namespace recsys;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

template <typename F>
ErrorKind error_kind(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "expected an exception";
    return ErrorKind::Internal;
}

template <typename State>
State fit(std::initializer_list<double> values) {
    State s;
    for (double x : values) s.add(x);
    return s;
}

template <typename State>
State round_trip(const State& s) {
    ByteWriter w;
    s.write(w);
    ByteReader r(w.bytes().data(), w.size());
    State back = State::read(r);
    EXPECT_EQ(r.remaining(), 0u);
    return back;
}

}  // namespace

TEST(MinMax, MapsTrainingRangeToUnitInterval) {
    // min 2, max 10: (6 - 2) / 8 = 0.5; (12 - 2) / 8 = 1.25 (no clipping).
    ScalerParams p = fit<MinMaxState>({4, 10, 2}).params();
    EXPECT_DOUBLE_EQ(p.apply(2), 0);
    EXPECT_DOUBLE_EQ(p.apply(10), 1);
    EXPECT_DOUBLE_EQ(p.apply(6), 0.5);
    EXPECT_DOUBLE_EQ(p.apply(12), 1.25);
    EXPECT_EQ(p.to_json(), R"({"method":"minmax","min":2,"max":10})");
}

TEST(MinMax, CombineAndBytesMatchOneState) {
    MinMaxState a = fit<MinMaxState>({5, 3}), b = fit<MinMaxState>({-1, 4});
    a.combine(round_trip(b));
    a.combine(MinMaxState{});
    MinMaxState empty;
    empty.combine(a);
    EXPECT_EQ(empty.count(), 4u);
    EXPECT_EQ(empty.params().to_json(), R"({"method":"minmax","min":-1,"max":5})");
}

TEST(ZScore, PopulationStddev) {
    // mean = 40 / 8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
    // population variance 32 / 8 = 4, stddev 2.
    ZScoreState s = fit<ZScoreState>({2, 4, 4, 4, 5, 5, 7, 9});
    ScalerParams p = s.params();
    EXPECT_DOUBLE_EQ(p.center, 5);
    EXPECT_DOUBLE_EQ(p.spread, 2);
    EXPECT_DOUBLE_EQ(p.apply(9), 2);
    EXPECT_DOUBLE_EQ(p.apply(1), -2);
    EXPECT_EQ(p.to_json(), R"({"method":"zscore","mean":5,"stddev":2})");
}

TEST(ZScore, StableForLargeOffsets) {
    // 1e9 + {4, 7, 13, 16}: mean 1e9 + 10, deviations -6, -3, 3, 6,
    // variance (36 + 9 + 9 + 36) / 4 = 22.5. A naive sum of squares (~4e18)
    // loses these digits entirely.
    ZScoreState s = fit<ZScoreState>({1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16});
    EXPECT_DOUBLE_EQ(s.mean(), 1e9 + 10);
    EXPECT_NEAR(s.stddev(), std::sqrt(22.5), 1e-9);
}

TEST(ZScore, CombineOfPartialsEqualsOneState) {
    ZScoreState a = fit<ZScoreState>({2, 4, 4}), b = fit<ZScoreState>({4, 5, 5, 7, 9});
    a.combine(round_trip(b));
    EXPECT_EQ(a.count(), 8u);
    EXPECT_DOUBLE_EQ(a.mean(), 5);
    EXPECT_DOUBLE_EQ(a.stddev(), 2);

    ZScoreState empty;
    empty.combine(a);
    a.combine(ZScoreState{});
    EXPECT_DOUBLE_EQ(empty.stddev(), 2);
    EXPECT_DOUBLE_EQ(a.stddev(), 2);
}

TEST(ZScore, SingleValueIsConstant) {
    ScalerParams p = fit<ZScoreState>({7}).params();
    EXPECT_EQ(p.spread, 0);
    EXPECT_EQ(p.apply(123), 0);
}

TEST(Robust, MedianAndIqrLikePercentileCont) {
    // Sorted 1..9, 100 (n = 10). percentile_cont positions f * 9:
    //   median 4.5 -> 5 + 0.5 * (6 - 5) = 5.5
    //   q1 2.25    -> 3 + 0.25 * (4 - 3) = 3.25
    //   q3 6.75    -> 7 + 0.75 * (8 - 7) = 7.75, IQR = 4.5
    RobustState s = fit<RobustState>({100, 9, 1, 8, 2, 7, 3, 6, 4});
    s.combine(round_trip(fit<RobustState>({5})));
    ScalerParams p = s.params();
    EXPECT_DOUBLE_EQ(p.center, 5.5);
    EXPECT_DOUBLE_EQ(p.spread, 4.5);
    EXPECT_DOUBLE_EQ(p.apply(10), 1);  // (10 - 5.5) / 4.5
    EXPECT_EQ(p.to_json(), R"({"method":"robust","median":5.5,"iqr":4.5})");
}

TEST(Scalers, ConstantColumnMapsToZero) {
    for (ScalerParams p : {fit<MinMaxState>({3, 3, 3}).params(), fit<ZScoreState>({3, 3, 3}).params(),
                           fit<RobustState>({3, 3, 3}).params()}) {
        EXPECT_EQ(p.spread, 0) << p.to_json();
        EXPECT_EQ(p.apply(3), 0);
        EXPECT_EQ(p.apply(-50), 0);
        EXPECT_EQ(ScalerParams::parse_json(p.to_json()).apply(8), 0);
    }
}

TEST(Scalers, RejectNonFiniteAndEmpty) {
    EXPECT_EQ(error_kind([] { MinMaxState().add(kNaN); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { ZScoreState().add(kInf); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { RobustState().add(-kInf); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { MinMaxState().params(); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { ZScoreState().params(); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { RobustState().params(); }), ErrorKind::InvalidInput);
    ScalerParams p = fit<ZScoreState>({1, 2}).params();
    EXPECT_EQ(error_kind([&] { p.apply(kNaN); }), ErrorKind::InvalidInput);
    // The range of these two overflows a double.
    EXPECT_EQ(error_kind([] { fit<MinMaxState>({-1e308, 1e308}).params(); }), ErrorKind::InvalidInput);
}

TEST(Scalers, ReadRejectsForeignOrTruncatedState) {
    ByteWriter w;
    fit<ZScoreState>({1, 2}).write(w);
    ByteReader as_minmax(w.bytes().data(), w.size());
    EXPECT_EQ(error_kind([&] { MinMaxState::read(as_minmax); }), ErrorKind::Corrupted);
    ByteReader truncated(w.bytes().data(), w.size() - 1);
    EXPECT_EQ(error_kind([&] { ZScoreState::read(truncated); }), ErrorKind::Corrupted);
}

TEST(ScalerJson, ParsesReorderedKeysAndWhitespace) {
    ScalerParams p = ScalerParams::parse_json(" { \"stddev\" : 2 ,\n \"method\":\"zscore\", \"mean\": -1.5e0 } ");
    EXPECT_EQ(p.method, ScaleMethod::ZScore);
    EXPECT_DOUBLE_EQ(p.apply(2.5), 2);  // (2.5 + 1.5) / 2

    ScalerParams m = ScalerParams::parse_json(R"({"method":"minmax","min":10,"max":20})");
    EXPECT_DOUBLE_EQ(m.apply(15), 0.5);
}

TEST(ScalerJson, RoundTripsExactly) {
    ScalerParams p = fit<ZScoreState>({0.1, 0.7, 1e-300, 3.3333333333333335}).params();
    ScalerParams back = ScalerParams::parse_json(p.to_json());
    EXPECT_EQ(back.center, p.center);
    EXPECT_EQ(back.spread, p.spread);
    EXPECT_EQ(back.to_json(), p.to_json());
    ScalerParams robust{ScaleMethod::Robust, 0.1, 0.25};
    EXPECT_EQ(robust.to_json(), R"({"method":"robust","median":0.1,"iqr":0.25})");
}

TEST(ScalerJson, RejectsBadObjects) {
    for (const char* bad : {
             "",
             "[]",
             "{}",
             R"({"method":"zscore","mean":1})",                       // missing stddev
             R"({"method":"zscore","mean":1,"stddev":-1})",           // negative spread
             R"({"method":"zscore","mean":1,"stddev":2,"x":3})",      // unknown key
             R"({"method":"zscore","mean":"1","stddev":2})",          // string for a number
             R"({"method":"zscore","mean":nan,"stddev":2})",
             R"({"method":"zscore","mean":1e999,"stddev":2})",
             R"({"method":"zscore","mean":1,"stddev":2} x)",          // trailing text
             R"({"method":"zscore","mean":1,"stddev":2)",             // unterminated
             R"({"method":"minmax","min":5,"max":1})",                // max < min
             R"({"method":"minmax","min":-1e308,"max":1e308})",       // range overflows
             R"({"method":"log","a":1,"b":2})",
             R"({"method":5,"mean":1,"stddev":2})",
         }) {
        EXPECT_EQ(error_kind([&] { ScalerParams::parse_json(bad); }), ErrorKind::InvalidInput) << bad;
    }
}

TEST(PercentileCont, InterpolatesLikePostgres) {
    // Sorted 10, 20, 30, 40: 0.9 * 3 = 2.7 -> 30 + 0.7 * 10 = 37.
    EXPECT_DOUBLE_EQ(percentile_cont({40, 10, 30, 20}, 0.9), 37);
    EXPECT_DOUBLE_EQ(percentile_cont({40, 10, 30, 20}, 0), 10);
    EXPECT_DOUBLE_EQ(percentile_cont({40, 10, 30, 20}, 1), 40);
    EXPECT_DOUBLE_EQ(percentile_cont({40, 10, 30, 20}, 0.5), 25);
    EXPECT_DOUBLE_EQ(percentile_cont({7}, 0.3), 7);
}

TEST(PercentileCont, RejectsBadInput) {
    EXPECT_EQ(error_kind([] { percentile_cont({}, 0.5); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { percentile_cont({1, 2}, 1.5); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { percentile_cont({1, 2}, -0.1); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { percentile_cont({1, 2}, kNaN); }), ErrorKind::InvalidInput);
    EXPECT_EQ(error_kind([] { percentile_cont({1, kNaN}, 0.5); }), ErrorKind::InvalidInput);
}
