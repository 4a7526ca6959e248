#include "door.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "errors.h"

namespace recsys::pg {

namespace {

// What guarded() caught, kept in plain storage so that nothing with a
// destructor is alive when ereport longjmps away.
struct CaughtError {
    ErrorData* pg_error;
    bool cancelled;
    int sqlstate;
    char message[2048];
    char hint[1024];
};
CaughtError caught;

void copy_text(char* dst, size_t size, const char* src) {
    std::strncpy(dst, src, size - 1);
    dst[size - 1] = '\0';
}

}  // namespace

void store_caught_error() {
    caught = CaughtError{};
    try {
        throw;
    } catch (const PgError& e) {
        caught.pg_error = e.data();
    } catch (const Cancelled&) {
        caught.cancelled = true;
    } catch (const Error& e) {
        switch (e.kind()) {
            case ErrorKind::InvalidInput: caught.sqlstate = ERRCODE_INVALID_PARAMETER_VALUE; break;
            case ErrorKind::Corrupted: caught.sqlstate = ERRCODE_DATA_CORRUPTED; break;
            case ErrorKind::ResourceLimit: caught.sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED; break;
            case ErrorKind::Internal: caught.sqlstate = ERRCODE_INTERNAL_ERROR; break;
        }
        copy_text(caught.message, sizeof caught.message, e.what());
        copy_text(caught.hint, sizeof caught.hint, e.hint().c_str());
    } catch (const std::bad_alloc&) {
        caught.sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_text(caught.message, sizeof caught.message, "out of memory in recsys");
        copy_text(caught.hint, sizeof caught.hint, "Lower recsys.memory_limit or train on less data.");
    } catch (const std::exception& e) {
        caught.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_text(caught.message, sizeof caught.message, e.what());
    } catch (...) {
        caught.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_text(caught.message, sizeof caught.message, "unknown C++ exception in recsys");
    }
}

void raise_caught_error() {
    if (caught.pg_error) ReThrowError(caught.pg_error);
    if (caught.cancelled) {
        CHECK_FOR_INTERRUPTS();
        ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling recsys computation")));
    }
    if (caught.hint[0])
        ereport(ERROR, (errcode(caught.sqlstate), errmsg("%s", caught.message), errhint("%s", caught.hint)));
    ereport(ERROR, (errcode(caught.sqlstate), errmsg("%s", caught.message)));
    pg_unreachable();
}

Context backend_context() {
    Context ctx;
    // The maximums bind whatever way the session settings were reached.
    ctx.threads = std::min(setting_threads, setting_max_threads);
    ctx.memory_limit_bytes = uint64_t(std::min(setting_memory_limit_mb, setting_max_memory_mb)) << 20;
    ctx.check_cancel = [] {
        if (INTERRUPTS_PENDING_CONDITION()) pg_call([] { CHECK_FOR_INTERRUPTS(); });
    };
    ctx.progress = [](const std::string& line) {
        const char* text = line.c_str();
        pg_call([&] { ereport(setting_progress ? NOTICE : DEBUG1, (errmsg("recsys: %s", text))); });
    };
    ctx.notice = [](const std::string& message, const std::string& hint) {
        const char* m = message.c_str();
        const char* h = hint.c_str();
        pg_call([&] {
            if (h[0])
                ereport(NOTICE, (errmsg("%s", m), errhint("%s", h)));
            else
                ereport(NOTICE, (errmsg("%s", m)));
        });
    };
    return ctx;
}

MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* what) {
    MemoryContext context = nullptr;
    pg_call([&] {
        if (!AggCheckCallContext(fcinfo, &context))
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("%s support functions can only be called by the aggregate", what)));
    });
    return context;
}

void permission_denied(const std::string& message, const std::string& hint) {
    const char* m = message.c_str();
    const char* h = hint.c_str();
    pg_call([&] { ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("%s", m), errhint("%s", h))); });
    pg_unreachable();
}

SearchPathScope::SearchPathScope(const std::string& search_path) {
    const char* path = search_path.c_str();
    pg_call([&] {
        nest_level_ = NewGUCNestLevel();
        (void)set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    });
}

// As at the end of a function with a SET clause; an error before this point
// is cleaned up by the (sub)transaction's abort instead.
SearchPathScope::~SearchPathScope() { AtEOXact_GUC(true, nest_level_); }

}  // namespace recsys::pg
