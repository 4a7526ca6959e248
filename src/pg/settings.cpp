// Module load: the recsys.* settings.
#include "door.h"
#include "model_cache.h"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace recsys::pg {
int setting_threads = 1;
int setting_memory_limit_mb = 1024;
bool setting_progress = false;
char* setting_default_model = nullptr;
char* setting_pseudonymize_key = nullptr;
}  // namespace recsys::pg

using namespace recsys::pg;

void _PG_init(void) {
    DefineCustomIntVariable("recsys.threads", "Threads a training or batch-scoring call may use.",
                            "1 keeps all work on the backend's own thread.", &setting_threads, 1, 1, 64,
                            PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("recsys.memory_limit", "Largest amount of memory one training call may allocate.",
                            "Training that would need more fails with an error before allocating.",
                            &setting_memory_limit_mb, 1024, 1, INT_MAX / 2, PGC_USERSET, GUC_UNIT_MB, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("recsys.progress", "Report training progress as NOTICE messages.", nullptr,
                             &setting_progress, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("recsys.default_model", "Model used when a function is given no model name.",
                               "Empty means the most recently trained model.", &setting_default_model, "",
                               PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Hidden from pg_settings and SHOW ALL for non-superusers; only a
    // superuser may set it (e.g. ALTER DATABASE shop SET recsys.pseudonymize_key = ...).
    DefineCustomStringVariable("recsys.pseudonymize_key", "Key of pseudonymize() when none is passed.", nullptr,
                               &setting_pseudonymize_key, "", PGC_SUSET,
                               GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("recsys");
    register_model_cache();
}
