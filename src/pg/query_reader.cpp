#include "query_reader.h"

#include "errors.h"

namespace recsys::pg {

void read_query(const std::string& sql, const std::string& search_path, const std::vector<QueryColumn>& columns,
                const char* what, const std::function<void(const std::vector<const char*>& values)>& row) {
    SearchPathScope caller_path(search_path);
    const char* query = sql.c_str();
    Portal portal = nullptr;
    MemoryContext batch_context = nullptr;
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
        batch_context = AllocSetContextCreate(CurrentMemoryContext, "recsys query batch", ALLOCSET_DEFAULT_SIZES);
    });
    if (!is_select)
        throw invalid_input(std::string(what) + " must be a single SELECT, got " +
                                (statements == 1 ? std::string(tag) : std::to_string(statements) + " statements"),
                            "Pass one SELECT returning user_id and item_id, e.g. SELECT customer_id AS user_id, "
                            "stock_code AS item_id FROM purchases.");

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
