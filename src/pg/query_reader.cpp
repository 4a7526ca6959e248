#include "query_reader.h"

#include "args.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_query_body);
PG_FUNCTION_INFO_V1(recsys_query_columns);
PG_FUNCTION_INFO_V1(recsys_query_column_types);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// Connects to SPI, prepares `query` and opens a cursor on it if it is a
// single SELECT: an error naming `what`, with `hint`, otherwise. The caller
// closes the cursor and calls SPI_finish (an error does both on abort).
Portal open_select(const char* query, const char* what, const char* hint) {
    Portal portal = nullptr;
    bool is_select = true;
    const char* tag = "";
    int statements = 1;
    pg_call([&] {
        SPI_connect();
        SPIPlanPtr plan = SPI_prepare(query, 0, nullptr);
        if (!plan) elog(ERROR, "could not prepare %s: %s", what, SPI_result_code_string(SPI_result));
        List* sources = SPI_plan_get_plan_sources(plan);
        statements = list_length(sources);
        if (statements > 0) tag = GetCommandTagName(static_cast<CachedPlanSource*>(linitial(sources))->commandTag);
        is_select = statements == 1 &&
                    static_cast<CachedPlanSource*>(linitial(sources))->commandTag == CMDTAG_SELECT;
        if (is_select) portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, true);
    });
    if (!is_select)
        throw invalid_input(std::string(what) + " must be a single SELECT, got " +
                                (statements == 1 ? std::string(tag) : std::to_string(statements) + " statements"),
                            hint);
    return portal;
}

}  // namespace

namespace recsys::pg {

void read_query(const std::string& sql, const std::string& search_path, const std::vector<QueryColumn>& columns,
                const char* what, const std::function<void(const std::vector<const char*>& values)>& row) {
    SearchPathScope caller_path(search_path);
    Portal portal = open_select(sql.c_str(), what,
                                "Pass one SELECT returning user_id and item_id, e.g. SELECT customer_id AS user_id, "
                                "stock_code AS item_id FROM purchases.");
    MemoryContext batch_context = nullptr;
    pg_call([&] {
        batch_context = AllocSetContextCreate(CurrentMemoryContext, "recsys query batch", ALLOCSET_DEFAULT_SIZES);
    });

    std::vector<int> fields(columns.size(), SPI_ERROR_NOATTRIBUTE);
    std::string missing, present;
    TupleDesc desc = portal->tupDesc;
    for (int i = 0; i < desc->natts; ++i)
        present += (present.empty() ? "" : ", ") + std::string(NameStr(TupleDescAttr(desc, i)->attname));
    for (size_t c = 0; c < columns.size(); ++c) {
        const char* name = columns[c].name;
        pg_call([&] { fields[c] = SPI_fnumber(desc, name); });
        if (fields[c] <= 0 && columns[c].required) missing += (missing.empty() ? "" : ", ") + std::string(name);
    }
    if (!missing.empty())
        throw invalid_input(std::string(what) + " must return columns named " + missing,
                            "It returns: " + present + ". Rename columns with AS, e.g. SELECT customer_id AS user_id.");

    std::vector<const char*> values(columns.size());
    for (;;) {
        uint64 n = 0;
        pg_call([&] {
            CHECK_FOR_INTERRUPTS();
            MemoryContextReset(batch_context);
            SPI_cursor_fetch(portal, true, 10000);
            n = SPI_processed;
        });
        if (n == 0) break;
        SPITupleTable* table = SPI_tuptable;
        // All values of the batch as text, in a context reset per batch.
        std::vector<const char*> batch(n * columns.size(), nullptr);
        pg_call([&] {
            MemoryContext old = MemoryContextSwitchTo(batch_context);
            for (uint64 r = 0; r < n; ++r)
                for (size_t c = 0; c < columns.size(); ++c)
                    if (fields[c] > 0) batch[r * columns.size() + c] = SPI_getvalue(table->vals[r], table->tupdesc, fields[c]);
            MemoryContextSwitchTo(old);
            SPI_freetuptable(table);
        });
        for (uint64 r = 0; r < n; ++r) {
            for (size_t c = 0; c < columns.size(); ++c) values[c] = batch[r * columns.size() + c];
            row(values);
        }
    }
    pg_call([&] {
        SPI_cursor_close(portal);
        MemoryContextDelete(batch_context);
        SPI_finish();
    });
}

}  // namespace recsys::pg

// SQL-callable: checks of a caller's query (used by train()).

namespace {
// A syntax error points into the caller's query, not into the statement
// that passed it (as SPI reports errors in the queries it runs).
void query_error_position(void* query) {
    if (geterrcode() == ERRCODE_SYNTAX_ERROR)
        errhint("The query text is not valid SQL; run it on its own to fix it, then pass a single SELECT.");
    int position = geterrposition();
    if (position <= 0) return;
    errposition(0);
    internalerrposition(position);
    internalerrquery(static_cast<const char*>(query));
}
}  // namespace

// The one statement of a query text, without what follows it (a semicolon,
// comments), then a newline. Plain PostgreSQL code: no C++ object is alive.
extern "C" Datum recsys_query_body(PG_FUNCTION_ARGS) {
    char* sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
    ErrorContextCallback callback = {error_context_stack, query_error_position, sql};
    error_context_stack = &callback;
    List* statements = raw_parser(sql, RAW_PARSE_DEFAULT);
    error_context_stack = callback.previous;
    if (list_length(statements) != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("the query must be a single SELECT, got %d statements", list_length(statements)),
                        errhint("Pass one SELECT returning user_id and item_id (and optionally weight).")));
    RawStmt* statement = linitial_node(RawStmt, statements);
    int start = statement->stmt_location;
    int length = statement->stmt_len > 0 ? statement->stmt_len : int(strlen(sql)) - start;
    PG_RETURN_TEXT_P(cstring_to_text(psprintf("%.*s\n", length, sql + start)));
}

// The column names a query returns, parsed with the caller's search_path,
// without running it (used by train()).
namespace {

// One array element per column of the query's result, parsed with the
// search_path of argument 1: its name (text) or its type (regtype).
Datum query_column_array(FunctionCallInfo fcinfo, bool types) {
    std::string query = text_arg(fcinfo, 0);
    SearchPathScope caller_path(text_arg(fcinfo, 1));
    ArrayType* result = nullptr;
    MemoryContext outer = CurrentMemoryContext;
    Portal portal = open_select(query.c_str(), "the query",
                                "Pass one SELECT returning the columns needed, e.g. SELECT customer_id AS user_id, "
                                "stock_code AS item_id, quantity AS weight FROM purchases.");
    pg_call([&] {
        TupleDesc desc = portal->tupDesc;
        int n = desc->natts;
        MemoryContext inner = MemoryContextSwitchTo(outer);
        Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
        for (int i = 0; i < n; ++i) {
            const Form_pg_attribute att = TupleDescAttr(desc, i);
            elems[i] = types ? ObjectIdGetDatum(att->atttypid) : CStringGetTextDatum(NameStr(att->attname));
        }
        result = types ? construct_array(elems, n, REGTYPEOID, sizeof(Oid), true, TYPALIGN_INT)
                       : construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
        MemoryContextSwitchTo(inner);
        SPI_cursor_close(portal);
        SPI_finish();
    });
    return PointerGetDatum(result);
}

}  // namespace

extern "C" Datum recsys_query_columns(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum { return query_column_array(fcinfo, false); });
}

extern "C" Datum recsys_query_column_types(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum { return query_column_array(fcinfo, true); });
}
