// What every SQL-callable function of the glue does around its core call:
// fetching arguments (with their NULL checks and messages), the id-type
// switch of "any" id arguments, k, arrays, and building results. Each helper
// runs PostgreSQL code through pg_call(), so it may be used anywhere inside
// guarded().
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "byte_io.h"
#include "door.h"
#include "errors.h"

namespace recsys::pg {

// ---- Plain arguments

std::string_view text_view_arg(FunctionCallInfo fcinfo, int n);  // valid during the call
std::string text_arg(FunctionCallInfo fcinfo, int n);
// The argument, or nothing if it is NULL or the call has fewer arguments.
std::optional<std::string> optional_text(FunctionCallInfo fcinfo, int n);
std::span<const uint8_t> bytea_arg(FunctionCallInfo fcinfo, int n);  // valid during the call
// A jsonb argument as JSON text.
std::string jsonb_arg(FunctionCallInfo fcinfo, int n);

// Throws invalid_input(message, hint) if argument n is NULL.
inline void require_arg(FunctionCallInfo fcinfo, int n, const std::string& message, const std::string& hint = "") {
    if (PG_ARGISNULL(n)) throw invalid_input(message, hint);
}

// How many results to return: "k must not be NULL" / "k must be positive,
// got ..." with `hint`.
size_t k_arg(FunctionCallInfo fcinfo, int n, const char* hint);
void check_k(int32 k, const char* hint);

// ---- Ids of type "any": bigint, integer or text, users and items independently

// How an id argument is passed: integer Datums, text, or a cstring (an
// untyped literal such as 'A' reaches an "any" argument as unknown).
enum class IdArgKind { Int16, Int32, Int64, Text, CString };

// The kind of argument n; an error naming `what` for any other type, with
// the hint "<cast_advice>, e.g. what::bigint or what::text."
IdArgKind id_arg_kind(FunctionCallInfo fcinfo, int n, const char* what, const char* cast_advice = "Cast it");
inline bool is_text(IdArgKind kind) { return kind == IdArgKind::Text || kind == IdArgKind::CString; }
int64_t int_id_arg(FunctionCallInfo fcinfo, int n, IdArgKind kind);
std::string_view text_id_arg(FunctionCallInfo fcinfo, int n, IdArgKind kind);  // valid during the call
// The id as text, integers in decimal: 42 and '42' hash and pseudonymise alike.
std::string id_text_arg(FunctionCallInfo fcinfo, int n, const char* what);

// ---- Arrays

// The non-NULL elements of a one-dimensional text[] argument (none if the
// argument is NULL or absent); an error naming `what`, with `hint`, for a
// multi-dimensional one.
std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* what, const char* hint);

// A one-dimensional float8[] argument: its elements, NULLs as nullopt.
std::vector<std::optional<double>> float8_array_arg(FunctionCallInfo fcinfo, int n, const char* what, const char* hint);

// ---- Results

inline Datum null_result(FunctionCallInfo fcinfo) {
    fcinfo->isnull = true;
    return (Datum)0;
}
bytea* bytea_result(const void* data, size_t size);
Datum jsonb_from_string(const std::string& json);
Datum text_result(std::string_view s);
// A number in messages, as %g prints it.
std::string format_double(double v);
// A text Datum; call it inside pg_call() (it allocates).
inline Datum text_datum(std::string_view s) { return PointerGetDatum(cstring_to_text_with_len(s.data(), int(s.size()))); }

// The columns a result row may have (ResultRows, record_result).
constexpr int kMaxResultColumns = 8;

// The rows of a materialised set-returning function.
class ResultRows {
public:
    explicit ResultRows(FunctionCallInfo fcinfo);
    // One row: fill(values, nulls) sets the columns and runs inside
    // pg_call(), so it may allocate (text_datum) but must hold only
    // trivially destructible locals. Checks for interrupts first.
    template <typename Fill>
    void add(Fill&& fill) {
        pg_call([&] {
            CHECK_FOR_INTERRUPTS();
            Datum values[kMaxResultColumns] = {};
            bool nulls[kMaxResultColumns] = {};
            fill(values, nulls);
            put(values, nulls);
        });
    }

private:
    void put(Datum* values, bool* nulls);
    FunctionCallInfo fcinfo_;
};

// The one row of a function with OUT arguments that returns no set: fill as
// for ResultRows::add. Called in a target list, its result (a large bytea
// too) reaches the caller by reference, where a set-returning function's
// rows are copied through a tuplestore (spilled to a temporary file beyond
// work_mem).
Datum record_datum(FunctionCallInfo fcinfo, Datum* values, bool* nulls);
template <typename Fill>
Datum record_result(FunctionCallInfo fcinfo, Fill&& fill) {
    Datum result = (Datum)0;
    pg_call([&] {
        Datum values[kMaxResultColumns] = {};
        bool nulls[kMaxResultColumns] = {};
        fill(values, nulls);
        result = record_datum(fcinfo, values, nulls);
    });
    return result;
}

// ---- Aggregate states (owned by the aggregate's memory context, see owned_by)

template <typename State>
State* state_arg(FunctionCallInfo fcinfo, int n) {
    return PG_ARGISNULL(n) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(n));
}

// The transition function's state: argument 0, or init(context) on the
// first row (the new state owned by `context`).
template <typename State, typename Init>
State* transition_state(FunctionCallInfo fcinfo, const char* what, Init&& init) {
    MemoryContext context = aggregate_context(fcinfo, what);
    State* state = state_arg<State>(fcinfo, 0);
    return state ? state : init(context);
}

// The combine function of an aggregate with an internal state: NULL states
// are passed over; `merge(context, a, b)` folds b into a (a may be null: it returns
// the merged state, owned by `context`).
template <typename State, typename Merge>
Datum combine_states(FunctionCallInfo fcinfo, const char* what, Merge&& merge) {
    MemoryContext context = aggregate_context(fcinfo, what);
    State* a = state_arg<State>(fcinfo, 0);
    State* b = state_arg<State>(fcinfo, 1);
    if (!b) {
        if (!a) fcinfo->isnull = true;
        return PointerGetDatum(a);
    }
    return PointerGetDatum(merge(context, a, *b));
}

// The serialise function: write(state, w) writes the state, returned as bytea.
template <typename State, typename Write>
Datum serialize_state(FunctionCallInfo fcinfo, const char* what, Write&& write) {
    aggregate_context(fcinfo, what);
    ByteWriter w;
    write(*state_arg<State>(fcinfo, 0), w);
    return PointerGetDatum(bytea_result(w.bytes().data(), w.size()));
}

// The deserialise function: read(context, r) returns the state read back,
// owned by `context`.
template <typename Read>
Datum deserialize_state(FunctionCallInfo fcinfo, const char* what, Read&& read) {
    MemoryContext context = aggregate_context(fcinfo, what);
    auto bytes = bytea_arg(fcinfo, 0);
    ByteReader r(bytes.data(), bytes.size());
    return PointerGetDatum(read(context, r));
}

}  // namespace recsys::pg
