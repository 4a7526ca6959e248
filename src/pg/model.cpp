// The training aggregate recsys_train(algorithm, user_id, item_id [, weight
// [, params]]): collect rows (transition), merge partial states from
// parallel workers (combine, serialise, deserialise), then train (final).
#include "door.h"
#include "errors.h"
#include "model.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_train_transition);
PG_FUNCTION_INFO_V1(recsys_train_combine);
PG_FUNCTION_INFO_V1(recsys_train_serialize);
PG_FUNCTION_INFO_V1(recsys_train_deserialize);
PG_FUNCTION_INFO_V1(recsys_train_final);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// How an id argument is passed: integer Datums, text, or a cstring (an
// untyped literal such as 'A' reaches an "any" argument as unknown).
enum class ArgKind { Int16, Int32, Int64, Text, CString };

struct TrainState {
    std::string algorithm;
    std::string params = "{}";
    bool configured = false;
    ArgKind user_kind = ArgKind::Int64;  // of this query's arguments; not serialised
    ArgKind item_kind = ArgKind::Int64;
    InteractionBuilder rows;
};

TrainState* new_state(MemoryContext context) { return owned_by(context, std::make_unique<TrainState>()); }

ArgKind id_kind(FunctionCallInfo fcinfo, int n, const char* what) {
    Oid type = InvalidOid;
    pg_call([&] { type = get_fn_expr_argtype(fcinfo->flinfo, n); });
    switch (type) {
        case INT2OID: return ArgKind::Int16;
        case INT4OID: return ArgKind::Int32;
        case INT8OID: return ArgKind::Int64;
        case TEXTOID:
        case VARCHAROID:
        case BPCHAROID: return ArgKind::Text;
        case UNKNOWNOID: return ArgKind::CString;
    }
    const char* name = nullptr;
    pg_call([&] { name = format_type_be(type); });
    throw invalid_input(std::string(what) + " must be bigint, integer or text, not " + name,
                        std::string("Cast the column, e.g. ") + what + "::bigint or " + what + "::text.");
}

bool is_text(ArgKind kind) { return kind == ArgKind::Text || kind == ArgKind::CString; }

int64_t int_arg(FunctionCallInfo fcinfo, int n, ArgKind kind) {
    Datum d = PG_GETARG_DATUM(n);
    return kind == ArgKind::Int64 ? DatumGetInt64(d) : kind == ArgKind::Int32 ? DatumGetInt32(d) : DatumGetInt16(d);
}

std::string_view text_view_arg(FunctionCallInfo fcinfo, int n, ArgKind kind) {
    if (kind == ArgKind::CString) return DatumGetCString(PG_GETARG_DATUM(n));
    const char* data = nullptr;
    int size = 0;
    pg_call([&] {
        text* t = PG_GETARG_TEXT_PP(n);
        data = VARDATA_ANY(t);
        size = VARSIZE_ANY_EXHDR(t);
    });
    return {data, size_t(size)};
}

void configure(TrainState& state, FunctionCallInfo fcinfo) {
    if (PG_ARGISNULL(1))
        throw invalid_input("algorithm must not be NULL", "Name one, e.g. recsys_train('itemknn', user_id, item_id).");
    state.algorithm = text_arg(fcinfo, 1);
    find_algorithm(state.algorithm);  // fail on the first row, not after collecting them all
    if (PG_NARGS() > 5 && !PG_ARGISNULL(5)) {
        char* json = nullptr;
        pg_call([&] {
            Jsonb* params = PG_GETARG_JSONB_P(5);
            json = JsonbToCString(nullptr, &params->root, VARSIZE(params));
        });
        state.params = json;
        Params::parse_json(state.params);
    }
    state.configured = true;
}

void resolve_kinds(TrainState& state, FunctionCallInfo fcinfo) {
    state.user_kind = id_kind(fcinfo, 2, "user_id");
    state.item_kind = id_kind(fcinfo, 3, "item_id");
}

template <typename User>
void add_row(TrainState& state, FunctionCallInfo fcinfo, User user, double weight) {
    if (is_text(state.item_kind))
        state.rows.add(user, text_view_arg(fcinfo, 3, state.item_kind), weight);
    else
        state.rows.add(user, int_arg(fcinfo, 3, state.item_kind), weight);
}

}  // namespace

extern "C" Datum recsys_train_transition(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "recsys_train");
        TrainState* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
        if (!state) {
            state = new_state(context);
            configure(*state, fcinfo);
            resolve_kinds(*state, fcinfo);
        }
        bool has_weight = PG_NARGS() > 4;
        if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (has_weight && PG_ARGISNULL(4))) {
            state->rows.skip();
            return PointerGetDatum(state);
        }
        double weight = has_weight ? PG_GETARG_FLOAT8(4) : 1.0;
        if (is_text(state->user_kind))
            add_row(*state, fcinfo, text_view_arg(fcinfo, 2, state->user_kind), weight);
        else
            add_row(*state, fcinfo, int_arg(fcinfo, 2, state->user_kind), weight);
        if ((state->rows.rows() & 0xFFFF) == 0)
            backend_context().reserve(state->rows.bytes(), "collecting the training rows");
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_train_combine(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "recsys_train");
        auto* a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
        auto* b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<TrainState*>(PG_GETARG_POINTER(1));
        if (!b) {
            if (!a) fcinfo->isnull = true;
            return PointerGetDatum(a);
        }
        if (!a) a = new_state(context);
        if (!a->configured) {
            a->algorithm = b->algorithm;
            a->params = b->params;
            a->configured = b->configured;
        }
        a->rows.merge(b->rows);
        backend_context().reserve(a->rows.bytes(), "collecting the training rows");
        return PointerGetDatum(a);
    });
}

extern "C" Datum recsys_train_serialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "recsys_train");
        auto* state = reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
        ByteWriter w;
        w.put<uint8_t>(state->configured);
        w.put_string(state->algorithm);
        w.put_string(state->params);
        state->rows.write(w);
        return PointerGetDatum(bytea_result(w.bytes().data(), w.size()));
    });
}

extern "C" Datum recsys_train_deserialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        MemoryContext context = aggregate_context(fcinfo, "recsys_train");
        auto bytes = bytea_arg(fcinfo, 0);
        ByteReader r(bytes.data(), bytes.size());
        TrainState* state = new_state(context);
        state->configured = r.get<uint8_t>() != 0;
        state->algorithm = r.get_string();
        state->params = r.get_string();
        state->rows = InteractionBuilder::read(r);
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_train_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "recsys_train");
        auto* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
        if (!state || !state->configured) {
            fcinfo->isnull = true;
            return (Datum)0;
        }
        const Context ctx = backend_context();
        Model model = train_model(state->algorithm, state->rows, state->params, ctx);
        std::vector<uint8_t> bytes = model.serialize(ctx);
        return PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
    });
}
