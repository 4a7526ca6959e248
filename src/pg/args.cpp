#include "args.h"

#include <algorithm>
#include <cstring>

namespace recsys::pg {

std::string_view text_view_arg(FunctionCallInfo fcinfo, int n) {
    const char* data = nullptr;
    int size = 0;
    pg_call([&] {
        text* t = PG_GETARG_TEXT_PP(n);
        data = VARDATA_ANY(t);
        size = VARSIZE_ANY_EXHDR(t);
    });
    return {data, size_t(size)};
}

std::string text_arg(FunctionCallInfo fcinfo, int n) { return std::string(text_view_arg(fcinfo, n)); }

std::optional<std::string> optional_text(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return std::nullopt;
    return text_arg(fcinfo, n);
}

std::span<const uint8_t> bytea_arg(FunctionCallInfo fcinfo, int n) {
    const uint8_t* data = nullptr;
    size_t size = 0;
    pg_call([&] {
        bytea* b = PG_GETARG_BYTEA_PP(n);
        data = reinterpret_cast<const uint8_t*>(VARDATA_ANY(b));
        size = VARSIZE_ANY_EXHDR(b);
    });
    return {data, size};
}

std::string jsonb_arg(FunctionCallInfo fcinfo, int n) {
    char* json = nullptr;
    pg_call([&] {
        Jsonb* value = PG_GETARG_JSONB_P(n);
        json = JsonbToCString(nullptr, &value->root, VARSIZE(value));
    });
    return json;
}

void check_k(int32 k, const char* hint) {
    if (k <= 0) throw invalid_input("k must be positive, got " + std::to_string(k), hint);
}

size_t k_arg(FunctionCallInfo fcinfo, int n, const char* hint) {
    require_arg(fcinfo, n, "k must not be NULL", hint);
    int32 k = PG_GETARG_INT32(n);
    check_k(k, hint);
    return size_t(k);
}

IdArgKind id_arg_kind(FunctionCallInfo fcinfo, int n, const char* what, const char* cast_advice) {
    Oid type = InvalidOid;
    pg_call([&] { type = get_fn_expr_argtype(fcinfo->flinfo, n); });
    switch (type) {
        case INT2OID: return IdArgKind::Int16;
        case INT4OID: return IdArgKind::Int32;
        case INT8OID: return IdArgKind::Int64;
        case TEXTOID:
        case VARCHAROID:
        case BPCHAROID: return IdArgKind::Text;
        case UNKNOWNOID: return IdArgKind::CString;
    }
    const char* name = nullptr;
    pg_call([&] { name = format_type_be(type); });
    throw invalid_input(std::string(what) + " must be bigint, integer or text, not " + name,
                        std::string(cast_advice) + ", e.g. " + what + "::bigint or " + what + "::text.");
}

int64_t int_id_arg(FunctionCallInfo fcinfo, int n, IdArgKind kind) {
    Datum d = PG_GETARG_DATUM(n);
    return kind == IdArgKind::Int64 ? DatumGetInt64(d) : kind == IdArgKind::Int32 ? DatumGetInt32(d) : DatumGetInt16(d);
}

std::string_view text_id_arg(FunctionCallInfo fcinfo, int n, IdArgKind kind) {
    if (kind == IdArgKind::CString) return DatumGetCString(PG_GETARG_DATUM(n));
    return text_view_arg(fcinfo, n);
}

std::string id_text_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    IdArgKind kind = id_arg_kind(fcinfo, n, what);
    if (is_text(kind)) return std::string(text_id_arg(fcinfo, n, kind));
    return std::to_string(int_id_arg(fcinfo, n, kind));
}

namespace {

struct ArrayElements {
    Datum* values = nullptr;
    bool* nulls = nullptr;
    int count = 0;
};

ArrayElements array_arg(FunctionCallInfo fcinfo, int n, Oid element_type, const char* what, const char* hint) {
    ArrayElements out;
    pg_call([&] {
        ArrayType* array = PG_GETARG_ARRAYTYPE_P(n);
        if (ARR_NDIM(array) > 1)
            ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("%s must be a one-dimensional array", what),
                            errhint("%s", hint)));
        int16 length;
        bool by_value;
        char align;
        get_typlenbyvalalign(element_type, &length, &by_value, &align);
        deconstruct_array(array, element_type, length, by_value, align, &out.values, &out.nulls, &out.count);
    });
    return out;
}

}  // namespace

std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* what, const char* hint) {
    std::vector<std::string> out;
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return out;
    ArrayElements a = array_arg(fcinfo, n, TEXTOID, what, hint);
    out.reserve(a.count);
    for (int i = 0; i < a.count; ++i) {
        if (a.nulls[i]) continue;  // a NULL id names nothing
        const char* data = nullptr;
        int size = 0;
        pg_call([&] {
            text* t = DatumGetTextPP(a.values[i]);
            data = VARDATA_ANY(t);
            size = VARSIZE_ANY_EXHDR(t);
        });
        out.emplace_back(data, size);
    }
    return out;
}

std::vector<std::optional<double>> float8_array_arg(FunctionCallInfo fcinfo, int n, const char* what, const char* hint) {
    ArrayElements a = array_arg(fcinfo, n, FLOAT8OID, what, hint);
    std::vector<std::optional<double>> out(a.count);
    for (int i = 0; i < a.count; ++i)
        if (!a.nulls[i]) out[i] = DatumGetFloat8(a.values[i]);
    return out;
}

bytea* bytea_result(const void* data, size_t size) {
    bytea* out = nullptr;
    if (size > MaxAllocSize - VARHDRSZ)
        throw Error(ErrorKind::ResourceLimit, "model of " + std::to_string(size >> 20) + " MB is larger than the 1 GB a bytea can hold",
                    "Lower the model size (e.g. fewer neighbours or factors, or max_items).");
    pg_call([&] {
        out = static_cast<bytea*>(palloc(size + VARHDRSZ));
        SET_VARSIZE(out, size + VARHDRSZ);
        // In pieces, checking for interrupts: a model of a gigabyte takes seconds to copy.
        constexpr size_t kPiece = size_t(32) << 20;
        for (size_t done = 0; done < size; done += kPiece) {
            CHECK_FOR_INTERRUPTS();
            memcpy(VARDATA(out) + done, static_cast<const char*>(data) + done, std::min(kPiece, size - done));
        }
    });
    return out;
}

Datum jsonb_from_string(const std::string& json) {
    Datum out = (Datum)0;
    const char* text = json.c_str();
    pg_call([&] { out = DirectFunctionCall1(jsonb_in, CStringGetDatum(text)); });
    return out;
}

Datum text_result(std::string_view s) {
    Datum out = (Datum)0;
    pg_call([&] { out = text_datum(s); });
    return out;
}

std::string format_double(double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

ResultRows::ResultRows(FunctionCallInfo fcinfo) : fcinfo_(fcinfo) {
    // The row type the caller expects (a function scan, or a set-returning
    // function in a target list, passes it): the same as the function's
    // declared one, which InitMaterializedSRF would otherwise rebuild on
    // every call from pg_proc (a RETURNS TABLE reads its OUT arguments).
    pg_call([&] {
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        const bool expected = rsinfo && IsA(rsinfo, ReturnSetInfo) && rsinfo->expectedDesc;
        InitMaterializedSRF(fcinfo, expected ? MAT_SRF_USE_EXPECTED_DESC : 0);
    });
}

void ResultRows::put(Datum* values, bool* nulls) {
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo_->resultinfo);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum record_datum(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts > kMaxResultColumns)
        elog(ERROR, "recsys: a function with OUT arguments called where no row type is known");
    return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

}  // namespace recsys::pg
