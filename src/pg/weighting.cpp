// Per-row interaction weights: log_weight, decay_weight, clip_weight.
#include "args.h"
#include "weighting.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_log_weight);
PG_FUNCTION_INFO_V1(recsys_decay_weight);
PG_FUNCTION_INFO_V1(recsys_clip_weight);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

double seconds_of(Interval* i) {
    return double(i->time) / USECS_PER_SEC + double(i->day) * SECS_PER_DAY + double(i->month) * DAYS_PER_MONTH * SECS_PER_DAY;
}

}  // namespace

extern "C" Datum recsys_log_weight(PG_FUNCTION_ARGS) {
    return guarded([&] {
        return Float8GetDatum(log_scale(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2)));
    });
}

extern "C" Datum recsys_decay_weight(PG_FUNCTION_ARGS) {
    return guarded([&] {
        if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(1)) || TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2)))
            throw invalid_input("event_time and reference_time must be finite, not infinity or -infinity",
                                "Filter out rows without a real event time, or pass now() as the reference time.");
        double t = double(PG_GETARG_TIMESTAMPTZ(1)) / USECS_PER_SEC;
        double reference = double(PG_GETARG_TIMESTAMPTZ(2)) / USECS_PER_SEC;
        return Float8GetDatum(time_decay(PG_GETARG_FLOAT8(0), t, reference, seconds_of(PG_GETARG_INTERVAL_P(3))));
    });
}

extern "C" Datum recsys_clip_weight(PG_FUNCTION_ARGS) {
    return guarded([&] { return Float8GetDatum(clip_weight(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1))); });
}
