#include "model_cache.h"

#include <algorithm>
#include <unordered_map>

#include "errors.h"

namespace recsys::pg {

namespace {

struct Cache {
    std::unordered_map<std::string, std::shared_ptr<const Model>> models;
    std::string default_name;  // resolved default model, valid while default_setting matches
    std::string default_setting;
    bool default_known = false;
    Oid table = InvalidOid;
    uint64_t decodes = 0;
    uint64_t hits = 0;
};
Cache cache;

void forget_models(Datum, Oid relid) {
    if (relid != InvalidOid && relid != cache.table) return;
    cache.models.clear();
    cache.default_known = false;
}

// The model table's qualified name, palloc'd; sets cache.table.
char* model_table(FunctionCallInfo fcinfo) {
    char* qualified = nullptr;
    Oid fn = fcinfo->flinfo->fn_oid;
    pg_call([&] {
        AcceptInvalidationMessages();  // see retrains committed since the last statement
        Oid schema = get_func_namespace(fn);
        Oid table = get_relname_relid("recsys_models", schema);
        if (!OidIsValid(table))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("the recsys model table is missing"),
                            errhint("Reinstall the extension: DROP EXTENSION recsys; CREATE EXTENSION recsys;")));
        cache.table = table;
        qualified = quote_qualified_identifier(get_namespace_name(schema), "recsys_models");
    });
    return qualified;
}

std::string default_model_name(const char* table) {
    std::string setting = setting_default_model ? setting_default_model : "";
    if (cache.default_known && cache.default_setting == setting) return cache.default_name;
    if (!setting.empty()) {
        cache.default_name = setting;
    } else {
        char* found = nullptr;
        pg_call([&] {
            MemoryContext outer = CurrentMemoryContext;
            SPI_connect();
            char* sql = psprintf("SELECT name FROM %s ORDER BY created_at DESC, name LIMIT 1", table);
            SPI_execute(sql, true, 1);
            if (SPI_processed > 0) {
                MemoryContext inner = MemoryContextSwitchTo(outer);
                found = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
                MemoryContextSwitchTo(inner);
            }
            SPI_finish();
        });
        if (!found)
            throw invalid_input("no model has been trained yet",
                                "Train one with train(name, algorithm, query), or name a model explicitly.");
        cache.default_name = found;
    }
    cache.default_setting = setting;
    cache.default_known = true;
    return cache.default_name;
}

// A copy of a bytea value, fetched a slice at a time with interrupt checks
// in between when it is stored out of line and uncompressed (a model of a
// gigabyte takes seconds to fetch). Runs inside pg_call.
bytea* copy_bytea(Datum value) {
    auto* stored = reinterpret_cast<struct varlena*>(DatumGetPointer(value));
    if (!VARATT_IS_EXTERNAL_ONDISK(stored)) return DatumGetByteaPCopy(value);
    struct varatt_external pointer;
    VARATT_EXTERNAL_GET_POINTER(pointer, stored);
    const int32 size = VARATT_EXTERNAL_GET_EXTSIZE(pointer);
    // VARATT_EXTERNAL_IS_COMPRESSED, whose mixed-sign comparison warns in C++.
    // Slices of a compressed value would each decompress it from the start.
    if (size < pointer.va_rawsize - VARHDRSZ) return DatumGetByteaPCopy(value);
    constexpr int32 kSlice = 16 << 20;
    auto* copy = static_cast<bytea*>(palloc(size + VARHDRSZ));
    SET_VARSIZE(copy, size + VARHDRSZ);
    for (int32 offset = 0; offset < size; offset += kSlice) {
        CHECK_FOR_INTERRUPTS();
        struct varlena* slice = detoast_attr_slice(stored, offset, std::min(kSlice, size - offset));
        memcpy(VARDATA(copy) + offset, VARDATA(slice), VARSIZE(slice) - VARHDRSZ);
        pfree(slice);
    }
    return copy;
}

}  // namespace

CachedModel load_model(FunctionCallInfo fcinfo, const std::optional<std::string>& requested) {
    const char* table = model_table(fcinfo);
    std::string name = requested ? *requested : default_model_name(table);
    auto it = cache.models.find(name);
    if (it != cache.models.end()) {
        ++cache.hits;
        return {name, it->second};
    }
    bytea* raw = nullptr;
    bool found = false;
    const char* model_name = name.c_str();
    pg_call([&] {
        MemoryContext outer = CurrentMemoryContext;
        SPI_connect();
        char* sql = psprintf("SELECT model FROM %s WHERE name = $1", table);
        Oid types[1] = {TEXTOID};
        Datum values[1] = {CStringGetTextDatum(model_name)};
        SPI_execute_with_args(sql, 1, types, values, nullptr, true, 1);
        if (SPI_processed > 0) {
            bool isnull;
            Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            found = !isnull;
            if (found) {
                MemoryContext inner = MemoryContextSwitchTo(outer);
                raw = copy_bytea(d);
                MemoryContextSwitchTo(inner);
            }
        }
        SPI_finish();
    });
    if (!found)
        throw invalid_input("model \"" + name + "\" does not exist",
                            "List the trained models with SELECT * FROM recsys_list_models();");
    auto model = std::make_shared<const Model>(Model::deserialize(reinterpret_cast<const uint8_t*>(VARDATA_ANY(raw)),
                                                                  VARSIZE_ANY_EXHDR(raw), backend_context()));
    pg_call([&] { pfree(raw); });
    ++cache.decodes;
    cache.models[name] = model;
    return {name, model};
}

CacheStats cache_stats() { return {cache.decodes, cache.hits, cache.models.size()}; }

void register_model_cache() { CacheRegisterRelcacheCallback(forget_models, (Datum)0); }

}  // namespace recsys::pg
