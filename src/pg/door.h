// The one door between C++ and PostgreSQL (DESIGN.md, rules 1-3).
//
// guarded(fcinfo, body) runs a SQL-callable function's C++ body. No C++
// exception leaves it: each is caught, every C++ object of the body is
// destroyed, and only then is the error raised with ereport.
//
// pg_call(fn) runs PostgreSQL code from inside such a body. A PostgreSQL error
// (ereport/elog, including a query cancel) is caught with PG_TRY and thrown
// on as a C++ PgError, so longjmp never skips a C++ destructor. `fn` itself
// must hold only trivially destructible locals.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "context.h"
#include "pg.h"

namespace recsys::pg {

class PgError : public std::exception {
public:
    explicit PgError(ErrorData* data) : data_(data) {}
    ErrorData* data() const { return data_; }
    const char* what() const noexcept override { return data_->message ? data_->message : "PostgreSQL error"; }

private:
    ErrorData* data_;
};

[[noreturn]] void raise_caught_error();  // internal to guarded()
void store_caught_error();               // internal to guarded()

template <typename Fn>
void pg_call(Fn&& fn) {
    MemoryContext context = CurrentMemoryContext;
    ErrorData* volatile error = nullptr;
    PG_TRY();
    {
        fn();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(context);
        error = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (error) throw PgError(error);
}

template <typename Body>
Datum guarded(Body&& body) {
    Datum result = (Datum)0;
    bool failed = false;
    try {
        result = body();
    } catch (...) {
        store_caught_error();
        failed = true;
    }
    if (failed) raise_caught_error();
    return result;
}

// A Context for core computations in this backend: cancellation wired to
// PostgreSQL's interrupts, progress to NOTICE (recsys.progress) or DEBUG1,
// and the recsys.threads / recsys.memory_limit settings.
Context backend_context();

// Settings (GUCs), defined in settings.cpp.
extern int setting_threads;
extern int setting_max_threads;
extern int setting_memory_limit_mb;
extern int setting_max_memory_mb;
extern int setting_cache_memory_kb;
extern int setting_shared_cache_memory_kb;
extern bool setting_progress;
extern char* setting_default_model;
extern char* setting_pseudonymize_key;

// The aggregate's memory context; an error if the function was not called
// as part of an aggregate (`what` names it).
MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* what);

// Hands a C++ object to a memory context: it is deleted when the context is
// reset or deleted, so an aborted query leaks nothing (DESIGN.md rule 3).
template <typename T>
T* owned_by(MemoryContext context, std::unique_ptr<T> object) {
    MemoryContextCallback* callback = nullptr;
    pg_call([&] { callback = static_cast<MemoryContextCallback*>(MemoryContextAllocZero(context, sizeof *callback)); });
    callback->func = [](void* p) { delete static_cast<T*>(p); };
    callback->arg = object.get();
    MemoryContextRegisterResetCallback(context, callback);
    return object.release();
}
// Raises PostgreSQL's insufficient_privilege error (as a PgError).
[[noreturn]] void permission_denied(const std::string& message, const std::string& hint);

// While alive, search_path is the given one (the caller's, for parsing and
// running the caller's query); the previous value comes back after it.
class SearchPathScope {
public:
    explicit SearchPathScope(const std::string& search_path);
    ~SearchPathScope();
    SearchPathScope(const SearchPathScope&) = delete;
    SearchPathScope& operator=(const SearchPathScope&) = delete;

private:
    int nest_level_ = 0;
};

// Argument fetching and results: args.h.

}  // namespace recsys::pg
