// Scalers: the aggregate fit_scaler() and scale().
#include <variant>

#include "args.h"
#include "scaling.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_fit_scaler_transition);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_combine);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_serialize);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_deserialize);
PG_FUNCTION_INFO_V1(recsys_fit_scaler_final);
PG_FUNCTION_INFO_V1(recsys_scale);
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

}  // namespace

// fit_scaler(value, method): NULL values are skipped.
extern "C" Datum recsys_fit_scaler_transition(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        ScalerState* state = transition_state<ScalerState>(fcinfo, "fit_scaler", [&](MemoryContext context) {
            return own(context, new_scaler(PG_NARGS() > 2 && !PG_ARGISNULL(2) ? text_arg(fcinfo, 2) : "zscore"));
        });
        if (!PG_ARGISNULL(1)) {
            double x = PG_GETARG_FLOAT8(1);
            std::visit([x](auto& s) { s.add(x); }, *state);
        }
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_fit_scaler_combine(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return combine_states<ScalerState>(fcinfo, "fit_scaler", [](MemoryContext context, ScalerState* a, ScalerState& b) {
            if (!a) return own(context, b);
            std::visit(
                [&](auto& into) {
                    using T = std::decay_t<decltype(into)>;
                    into.combine(std::get<T>(b));
                },
                *a);
            return a;
        });
    });
}

extern "C" Datum recsys_fit_scaler_serialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return serialize_state<ScalerState>(fcinfo, "fit_scaler", [](const ScalerState& state, ByteWriter& w) {
            w.put<uint8_t>(uint8_t(state.index()));
            std::visit([&](const auto& s) { s.write(w); }, state);
        });
    });
}

extern "C" Datum recsys_fit_scaler_deserialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return deserialize_state(fcinfo, "fit_scaler", [](MemoryContext context, ByteReader& r) {
            switch (r.get<uint8_t>()) {
                case 0: return own(context, MinMaxState::read(r));
                case 1: return own(context, ZScoreState::read(r));
                case 2: return own(context, RobustState::read(r));
            }
            throw corrupted("corrupted fit_scaler state");
        });
    });
}

// The fitted parameters as jsonb; NULL when no non-NULL value was seen.
extern "C" Datum recsys_fit_scaler_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "fit_scaler");
        auto* state = state_arg<ScalerState>(fcinfo, 0);
        bool empty = !state || std::visit([](const auto& s) { return s.count() == 0; }, *state);
        if (empty) return null_result(fcinfo);
        return jsonb_from_string(std::visit([](const auto& s) { return s.params().to_json(); }, *state));
    });
}

// scale(value, params): applies a fitted scaler.
extern "C" Datum recsys_scale(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        double x = PG_GETARG_FLOAT8(0);
        return Float8GetDatum(ScalerParams::parse_json(jsonb_arg(fcinfo, 1)).apply(x));
    });
}
