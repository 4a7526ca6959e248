// SQL functions for normalisation: the scaler aggregate fit_scaler() and
// scale(), and per-row interaction weights.
#include <variant>

#include "door.h"
#include "errors.h"
#include "scaling.h"
#include "weighting.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_fit_scaler_transition);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_combine);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_serialize);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_deserialize);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_final);
PG_FUNCTION_INFO_V1(recsys_scale);
PG_FUNCTION_INFO_V1(recsys_log_weight);
PG_FUNCTION_INFO_V1(recsys_decay_weight);
PG_FUNCTION_INFO_V1(recsys_clip_weight);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

using ScalerState = std::variant<MinMaxState, ZScoreState, RobustState>;

ScalerState new_scaler(const std::string& method) {
    if (method == "minmax") return MinMaxState{};
    if (method == "zscore") return ZScoreState{};
    if (method == "robust") return RobustState{};
    throw invalid_input("unknown scaler \"" + method + "\"", "Use 'minmax', 'zscore' or 'robust'.");
}

ScalerState* own(MemoryContext context, ScalerState state) {
    return owned_by(context, std::make_unique<ScalerState>(std::move(state)));
}

double seconds_of(Interval* i) {
    return double(i->time) / USECS_PER_SEC + double(i->day) * SECS_PER_DAY + double(i->month) * DAYS_PER_MONTH * SECS_PER_DAY;
}

}  // namespace

// fit_scaler(value, method): NULL values are skipped.
extern "C" Datum recsys_fit_scaler_transition(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "fit_scaler");
        auto* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ScalerState*>(PG_GETARG_POINTER(0));
        if (!state) {
            std::string method = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? text_arg(fcinfo, 2) : "zscore";
            state = own(context, new_scaler(method));
        }
        if (!PG_ARGISNULL(1)) {
            double x = PG_GETARG_FLOAT8(1);
            std::visit([x](auto& s) { s.add(x); }, *state);
        }
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_fit_scaler_combine(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "fit_scaler");
        auto* a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ScalerState*>(PG_GETARG_POINTER(0));
        auto* b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<ScalerState*>(PG_GETARG_POINTER(1));
        if (!b) {
            if (!a) fcinfo->isnull = true;
            return PointerGetDatum(a);
        }
        if (!a) return PointerGetDatum(own(context, *b));
        std::visit(
            [&](auto& into) {
                using T = std::decay_t<decltype(into)>;
                into.combine(std::get<T>(*b));
            },
            *a);
        return PointerGetDatum(a);
    });
}

extern "C" Datum recsys_fit_scaler_serialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "fit_scaler");
        auto* state = reinterpret_cast<ScalerState*>(PG_GETARG_POINTER(0));
        ByteWriter w;
        w.put<uint8_t>(uint8_t(state->index()));
        std::visit([&](const auto& s) { s.write(w); }, *state);
        return PointerGetDatum(bytea_result(w.bytes().data(), w.size()));
    });
}

extern "C" Datum recsys_fit_scaler_deserialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "fit_scaler");
        auto bytes = bytea_arg(fcinfo, 0);
        ByteReader r(bytes.data(), bytes.size());
        switch (r.get<uint8_t>()) {
            case 0: return PointerGetDatum(own(context, MinMaxState::read(r)));
            case 1: return PointerGetDatum(own(context, ZScoreState::read(r)));
            case 2: return PointerGetDatum(own(context, RobustState::read(r)));
        }
        throw corrupted("corrupted fit_scaler state");
    });
}

// The fitted parameters as jsonb; NULL when no non-NULL value was seen.
extern "C" Datum recsys_fit_scaler_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "fit_scaler");
        auto* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ScalerState*>(PG_GETARG_POINTER(0));
        bool empty = !state || std::visit([](const auto& s) { return s.count() == 0; }, *state);
        if (empty) {
            fcinfo->isnull = true;
            return (Datum)0;
        }
        return jsonb_from_string(std::visit([](const auto& s) { return s.params().to_json(); }, *state));
    });
}

// scale(value, params): applies a fitted scaler.
extern "C" Datum recsys_scale(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        double x = PG_GETARG_FLOAT8(0);
        char* json = nullptr;
        pg_call([&] {
            Jsonb* params = PG_GETARG_JSONB_P(1);
            json = JsonbToCString(nullptr, &params->root, VARSIZE(params));
        });
        return Float8GetDatum(ScalerParams::parse_json(json).apply(x));
    });
}

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
