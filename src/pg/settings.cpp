// Module load: the recsys.* settings and the log filter that keeps the
// pseudonymisation key out of the server log.
#include <strings.h>
#include <unistd.h>

#include <algorithm>

#include "door.h"
#include "model_cache.h"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace recsys::pg {
int setting_threads = 1;
int setting_max_threads = 1;
int setting_memory_limit_mb = 1024;
int setting_max_memory_mb = 1024;
int setting_cache_memory_kb = 256 << 10;
int setting_shared_cache_memory_kb = 1 << 20;
bool setting_progress = false;
char* setting_default_model = nullptr;
char* setting_pseudonymize_key = nullptr;
}  // namespace recsys::pg

using namespace recsys::pg;

namespace {

constexpr int kThreadsCeiling = 64;

int cpu_count() { return std::clamp(int(sysconf(_SC_NPROCESSORS_ONLN)), 1, kThreadsCeiling); }

// A quarter of the machine's memory, in MB.
int quarter_of_memory_mb() {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 1024;
    return int(std::clamp<int64_t>(int64_t(pages) * page / 4 >> 20, 64, INT_MAX / 2));
}

// Per-session values may not exceed the superuser's maximum. Values from the
// server's own configuration are taken as they come (they are the
// superuser's, and may be read before the maximum is); every use is clamped
// to the maximum anyway (backend_context).
bool within(int newval, int maximum, GucSource source, const char* name, const char* max_name, const char* unit) {
    if (source < PGC_S_DATABASE || newval <= maximum) return true;
    GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
    GUC_check_errmsg("%s may be at most %s (%d%s)", name, max_name, maximum, unit);
    GUC_check_errhint("A superuser can raise %s, e.g. ALTER SYSTEM SET %s = ...", max_name, max_name);
    return false;
}

bool check_threads(int* newval, void**, GucSource source) {
    return within(*newval, setting_max_threads, source, "recsys.threads", "recsys.max_threads", "");
}

bool check_memory_limit(int* newval, void**, GucSource source) {
    return within(*newval, setting_max_memory_mb, source, "recsys.memory_limit", "recsys.max_memory", " MB");
}

// A statement that names the key (ALTER SYSTEM SET recsys.pseudonymize_key
// = '...', a failed SET) is never written to the server log: neither as the
// STATEMENT of an error nor by log_statement.
emit_log_hook_type previous_emit_log_hook = nullptr;

bool names_key(const char* text) { return text && strcasestr(text, "pseudonymize_key") != nullptr; }

void redact_key(ErrorData* edata) {
    if (names_key(debug_query_string)) {
        edata->hide_stmt = true;
        // log_statement and duration lines quote the statement in the message.
        if (edata->message && strstr(edata->message, debug_query_string))
            edata->message = pstrdup("statement naming recsys.pseudonymize_key (not logged: it may hold the key)");
    }
    if (previous_emit_log_hook) previous_emit_log_hook(edata);
}

}  // namespace

void _PG_init(void) {
    DefineCustomIntVariable("recsys.max_threads", "Most threads any session may set recsys.threads to.",
                            "Set by a superuser; defaults to the number of CPUs.", &setting_max_threads, cpu_count(),
                            1, kThreadsCeiling, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("recsys.threads", "Threads a training or batch-scoring call may use.",
                            "1 keeps all work on the backend's own thread; at most recsys.max_threads.",
                            &setting_threads, 1, 1, kThreadsCeiling, PGC_USERSET, 0, check_threads, nullptr, nullptr);
    DefineCustomIntVariable("recsys.max_memory", "Most memory any session may set recsys.memory_limit to.",
                            "Set by a superuser; defaults to a quarter of the machine's memory.",
                            &setting_max_memory_mb, quarter_of_memory_mb(), 1, INT_MAX / 2, PGC_SUSET, GUC_UNIT_MB,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("recsys.memory_limit", "Largest amount of memory one training call may allocate.",
                            "Training that would need more fails with an error before allocating; at most recsys.max_memory.",
                            &setting_memory_limit_mb, 1024, 1, INT_MAX / 2, PGC_USERSET, GUC_UNIT_MB,
                            check_memory_limit, nullptr, nullptr);
    DefineCustomIntVariable("recsys.cache_memory", "Memory each backend may keep decoded models in.",
                            "Least recently used models are dropped beyond it; a larger model is kept for one transaction.",
                            &setting_cache_memory_kb, 256 << 10, 0, INT_MAX / 2, PGC_SUSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    // Server memory: only postgresql.conf or ALTER SYSTEM (superusers) set
    // it, so no role can make the server keep more (DESIGN.md, "Shared models").
    DefineCustomIntVariable("recsys.shared_cache_memory",
                            "Shared memory the server may keep models in, for all backends (with recsys in shared_preload_libraries).",
                            "Least recently used models no backend uses are freed beyond it; 0 keeps every model per backend.",
                            &setting_shared_cache_memory_kb, 1 << 20, 0, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("recsys.progress", "Report training progress as NOTICE messages.", nullptr,
                             &setting_progress, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("recsys.default_model", "Model used when a function is given no model name.",
                               "Empty: a model must be named.", &setting_default_model, "", PGC_USERSET, 0, nullptr,
                               nullptr, nullptr);
    // Only in postgresql.conf or by ALTER SYSTEM (both superuser-only, and not
    // readable by other roles as ALTER DATABASE/ROLE settings would be);
    // hidden from SHOW ALL and pg_settings for non-superusers.
    DefineCustomStringVariable("recsys.pseudonymize_key", "Key of pseudonymize() when none is passed.",
                               "Set with ALTER SYSTEM; used only by members of recsys_pseudonymizer.",
                               &setting_pseudonymize_key, "", PGC_SIGHUP,
                               GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("recsys");
    previous_emit_log_hook = emit_log_hook;
    emit_log_hook = redact_key;
    register_model_cache();
}
