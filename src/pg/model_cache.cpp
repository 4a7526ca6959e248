#include "model_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include <sys/mman.h>

#include "args.h"
#include "blend.h"
#include "shared_cache.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_cache_stats);
PG_FUNCTION_INFO_V1(recsys_invalidate_cache);
}

namespace recsys::pg {

namespace {

struct Entry {
    int64_t version;
    // The role whose lookup of the store found this version active, since
    // the last invalidation of the store (InvalidOid: none): that role is
    // served without reading the store again.
    Oid checked_by;
    std::shared_ptr<const Model> model;
    std::string owner;
    size_t bytes;
    uint64_t last_used;
    bool transient;  // larger than the whole cache: kept for the transaction only
};

struct Cache {
    std::unordered_map<std::string, Entry> models;
    size_t bytes = 0;  // of the entries that are not transient
    uint64_t tick = 0;
    uint64_t decodes = 0;
    uint64_t hits = 0;
    uint64_t evictions = 0;
    uint64_t lookups = 0;  // of a model's active version in the store
    double last_fetch_ms = 0;   // the last decode's reading of the stored bytes (detoasting)
    double last_decode_ms = 0;  // and its decoding of them
    SPIPlanPtr lookup = nullptr;  // the row's version and owner, run as the caller
    SPIPlanPtr fetch = nullptr;   // the row's bytes, run as the store's owner
    Oid schema = InvalidOid;
    Oid table = InvalidOid;     // recsys_models
    Oid read = InvalidOid;      // the relation the plans read (the table or its shard)
    // The caller's right to read the store, once checked (InvalidOid: not
    // yet, or invalidated since).
    Oid may_read = InvalidOid;
    // The local transaction in which an invalidation arrived after its first
    // snapshot: that snapshot may predate the change, so what a lookup finds
    // in it is not trusted beyond it.
    LocalTransactionId invalidated_in = InvalidLocalTransactionId;
    std::string relation;  // what the plans read: the store, or its Citus shard on this node
    std::string shard;     // the store's Citus shard on this node, once found
};
// Never destroyed: at backend exit the static destructors of libxgboost may
// run before ours, and freeing a cached ranker's booster after them crashed
// the backend (and with it every session). The process's memory goes with it.
Cache& cache = *new Cache;

struct Trained {
    std::vector<uint8_t> bytes;
    std::string description;
};
std::optional<Trained> last_trained;

// Relcache invalidation of the store (the trigger recsys_models_changed on
// every write, ALTER, GRANT, policy changes, DROP) or of everything
// (InvalidOid): whatever the cache knows about the store's rows and rights is
// checked again at the next call. Only flags: no catalog access here.
void forget_checks() {
    for (auto& [name, e] : cache.models) e.checked_by = InvalidOid;
    cache.may_read = InvalidOid;
    if (FirstSnapshotSet && MyProc) cache.invalidated_in = MyProc->lxid;
}
void store_invalidated(Datum, Oid relid) {
    if (relid == InvalidOid || relid == cache.table || relid == cache.read) forget_checks();
}
// Role memberships and roles changed: the rights checked may have.
void roles_invalidated(Datum, int, uint32) { forget_checks(); }

// What the cache counts for a model: its stored bytes plus its id maps.
size_t counted_bytes(const Model& m, size_t stored) { return stored + 64 * (size_t(m.n_users()) + m.n_items()); }

void drop_transient(XactEvent event, void*) {
    if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_COMMIT &&
        event != XACT_EVENT_PARALLEL_ABORT)
        return;
    std::erase_if(cache.models, [](const auto& kv) { return kv.second.transient; });
    last_trained.reset();
}

// Keeps the cache within recsys.cache_memory after `added` came in.
void make_room(const std::string& added) {
    const size_t limit = size_t(setting_cache_memory_kb) << 10;
    while (cache.bytes > limit) {
        auto victim = cache.models.end();
        for (auto it = cache.models.begin(); it != cache.models.end(); ++it)
            if (!it->second.transient && it->first != added &&
                (victim == cache.models.end() || it->second.last_used < victim->second.last_used))
                victim = it;
        if (victim == cache.models.end()) break;
        cache.bytes -= victim->second.bytes;
        cache.models.erase(victim);
        ++cache.evictions;
    }
}

// The relation that holds the store's rows on this node: the table itself,
// or, once Citus has made it a reference table (distribute_store()), its
// shard on this node, which every node holds a copy of. Reading the shard is
// a local read; reading the table from inside a query that Citus pushed down
// to a worker (a LATERAL recommend() over a distributed table) is refused as
// a nested distributed query. Without Citus: one catalog cache lookup.
std::string store_relation(Oid schema) {
    bool cached = false;
    if (!cache.shard.empty() && schema == cache.schema) {
        const char* shard = cache.shard.c_str();
        pg_call([&] { cached = OidIsValid(get_relname_relid(shard, schema)); });
    }
    if (cached) return cache.shard;
    cache.shard.clear();
    int64 shard_id = -1;
    pg_call([&] {
        if (!OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE))) return;  // no Citus here
        Oid argtypes[1] = {OIDOID};
        Datum values[1] = {ObjectIdGetDatum(get_relname_relid("recsys_models", schema))};
        SPI_connect();
        SPI_execute_with_args("SELECT shardid FROM pg_catalog.pg_dist_shard WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
                              1, argtypes, values, nullptr, true, 2);
        if (SPI_processed == 1) {  // a reference table has exactly one shard
            bool isnull;
            Datum id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            if (!isnull) shard_id = DatumGetInt64(id);
        }
        SPI_finish();
    });
    if (shard_id < 0) return "recsys_models";
    const std::string shard = "recsys_models_" + std::to_string(shard_id);
    bool local = false;
    pg_call([&] { local = OidIsValid(get_relname_relid(shard.c_str(), schema)); });
    if (!local) return "recsys_models";  // no copy here (a coordinator outside the metadata): Citus routes the reads
    cache.shard = shard;
    return shard;
}

// The plans, prepared once per backend for the extension's schema (and again
// if the relation holding the store's rows changes). Every operator is
// qualified: these run under the caller's search_path.
void prepare_plans(FunctionCallInfo fcinfo) {
    Oid fn = fcinfo->flinfo->fn_oid;
    Oid schema = InvalidOid;
    Oid table = InvalidOid;
    pg_call([&] {
        schema = get_func_namespace(fn);
        table = get_relname_relid("recsys_models", schema);
        if (!OidIsValid(table))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("the recsys model table is missing"),
                            errhint("Reinstall the extension: DROP EXTENSION recsys; CREATE EXTENSION recsys;")));
    });
    if (table != cache.table) {  // another install, or the store re-created: its versions count afresh
        cache.models.clear();
        cache.bytes = 0;
        cache.may_read = InvalidOid;
        cache.table = table;
    }
    const std::string relation = store_relation(schema);
    if (cache.lookup && schema == cache.schema && relation == cache.relation) return;
    const char* relname = relation.c_str();
    pg_call([&] {
        const char* qualified = quote_qualified_identifier(get_namespace_name(schema), relname);
        Oid one[1] = {TEXTOID};
        Oid two[2] = {TEXTOID, INT8OID};
        SPI_connect();
        SPIPlanPtr lookup = SPI_prepare(
            psprintf("SELECT version, owner::pg_catalog.text FROM %s WHERE name OPERATOR(pg_catalog.=) $1 AND active",
                     qualified),
            1, one);
        SPIPlanPtr fetch = SPI_prepare(
            psprintf("SELECT model, xmin FROM %s WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
                     qualified),
            2, two);
        if (!lookup || !fetch) elog(ERROR, "recsys: could not prepare the model store queries");
        SPI_keepplan(lookup);
        SPI_keepplan(fetch);
        SPI_finish();
        if (cache.lookup) SPI_freeplan(cache.lookup);
        if (cache.fetch) SPI_freeplan(cache.fetch);
        cache.lookup = lookup;
        cache.fetch = fetch;
        cache.read = get_relname_relid(relname, schema);
    });
    for (auto& [name, e] : cache.models) e.checked_by = InvalidOid;  // checked in another relation
    cache.schema = schema;
    cache.relation = relation;
}

std::string default_model_name() {
    std::string setting = setting_default_model ? setting_default_model : "";
    if (setting.empty())
        throw invalid_input("no model named and recsys.default_model is not set",
                            "Name the model, e.g. model => 'shop', or SET recsys.default_model = 'shop'.");
    return setting;
}

// Where a model's bytes start in the memory fetch_bytes allocates: room
// for a varlena header before them (the TOAST fetch writes after one), and
// an alignment that lets the decoded model view its arrays in place.
constexpr size_t kBytesAt = 64;
constexpr size_t kHugePage = size_t(2) << 20;

// Copies the `size` bytes of the stored TOAST value `pointer` to `out`, a
// slice at a time with interrupt checks in between (a model of a gigabyte
// takes seconds to fetch). VARHDRSZ bytes before `out` must be writable.
void fetch_toast(const struct varatt_external& pointer, int32 size, uint8_t* out) {
    Relation toast = table_open(pointer.va_toastrelid, AccessShareLock);
    constexpr int32 kSlice = 16 << 20;  // a multiple of every TOAST chunk size
    for (int32 offset = 0; offset < size; offset += kSlice) {
        CHECK_FOR_INTERRUPTS();
        // The slice's bytes land at VARDATA of this "varlena": at out +
        // offset. Its header would overlap bytes already fetched, but the
        // fetch writes only the data.
        auto* slice = reinterpret_cast<struct varlena*>(out + offset - VARHDRSZ);
        table_relation_fetch_toast_slice(toast, pointer.va_valueid, size, offset, std::min(kSlice, size - offset),
                                         slice);
    }
    table_close(toast, AccessShareLock);
}

// The TOAST pointer of a stored value kept out of line and uncompressed (as
// the store keeps models), or false.
bool direct_toast(Datum value, struct varatt_external& pointer, int32& size) {
    auto* stored = reinterpret_cast<struct varlena*>(DatumGetPointer(value));
    if (!VARATT_IS_EXTERNAL_ONDISK(stored)) return false;
    VARATT_EXTERNAL_GET_POINTER(pointer, stored);
    size = VARATT_EXTERNAL_GET_EXTSIZE(pointer);
    // VARATT_EXTERNAL_IS_COMPRESSED, whose mixed-sign comparison warns in C++.
    return size >= pointer.va_rawsize - VARHDRSZ;
}

// The bytes of a bytea value, copied once into `out` + kBytesAt (malloc'd
// here, to live as long as the decoded model that views them: beyond any
// memory context). Stored out of line and uncompressed, they are fetched
// from the TOAST table straight into place. Runs inside pg_call; frees
// nothing on error (the caller owns `out` from its allocation on).
size_t fetch_bytes(Datum value, uint8_t*& out) {
    auto allocate = [&](size_t size) {
        // A large model in 2 MB pages where the kernel offers them
        // (transparent huge pages in "madvise" mode): one page fault per 2 MB
        // instead of per 4 kB while the bytes are copied in, which dominates
        // a cold load on virtual machines, and fewer TLB misses in scoring.
        const bool huge = size >= kHugePage;
        const size_t align = huge ? kHugePage : kBytesAt;
        out = static_cast<uint8_t*>(aligned_alloc(align, (kBytesAt + size + align - 1) / align * align));
        if (!out)
            ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory loading a model of %zu bytes", size),
                            errhint("Lower recsys.cache_memory or free memory on the server.")));
        if (huge) madvise(out, (kBytesAt + size + align - 1) / align * align, MADV_HUGEPAGE);
    };
    struct varatt_external pointer;
    int32 size = 0;
    if (!direct_toast(value, pointer, size)) {
        auto* stored = reinterpret_cast<struct varlena*>(DatumGetPointer(value));
        struct varlena* whole = pg_detoast_datum_packed(stored);
        const size_t n = VARSIZE_ANY_EXHDR(whole);
        allocate(n);
        memcpy(out + kBytesAt, VARDATA_ANY(whole), n);
        if (whole != stored) pfree(whole);
        return n;
    }
    allocate(size_t(size));
    fetch_toast(pointer, size, out + kBytesAt);
    return size_t(size);
}

// ---- Shared models (DESIGN.md, "Shared models") ----
// With recsys in shared_preload_libraries, the stored bytes of a model are
// copied once per server into a DSA area (dynamic shared memory), and every
// backend decodes its own model over them: the large arrays are viewed in
// place, not copied. A small registry in the main shared memory says which
// bytes are there and who uses them (src/core/shared_cache.h).

struct SharedModels {
    int tranche;               // the area's LWLocks
    bool created;              // the area exists (handle)
    dsa_handle handle;
    ConditionVariable loaded;  // broadcast when a load ends, well or not
    shared_cache::Registry registry;
};
SharedModels* shared = nullptr;  // set in the postmaster (shmem_startup_hook), inherited by backends
LWLock* shared_lock = nullptr;
dsa_area* area = nullptr;        // this backend's attachment, once needed
// This backend's uses of each entry, released at exit if still held (a
// backend that ends with an error or is terminated must not pin the bytes).
uint32_t held[shared_cache::kEntries] = {};
bool released_all = false;  // at exit: uses end with the process
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

bool sharing() { return shared && setting_shared_cache_memory_kb > 0; }
uint64_t shared_limit() { return uint64_t(setting_shared_cache_memory_kb) << 10; }

// Where the bytes of the allocation `at` start: 64-byte aligned (as the
// decoder needs to view arrays in place) with room for a varlena header
// before them (fetch_toast). Mappings are page aligned, so the same offset
// in every process.
uint64_t bytes_offset(dsa_pointer at) { return kBytesAt + (kBytesAt - at % kBytesAt) % kBytesAt; }

// Runs `fn` (inside pg_call) holding the registry's lock, released on error too.
template <typename Fn>
void locked(LWLockMode mode, Fn&& fn) {
    LWLockAcquire(shared_lock, mode);
    PG_TRY();
    {
        fn();
    }
    PG_FINALLY();
    {
        LWLockRelease(shared_lock);
    }
    PG_END_TRY();
}

void free_locations(const shared_cache::Freed& freed) {
    for (size_t i = 0; i < freed.n; ++i) dsa_free(area, freed.locations[i]);
}

// One use of a shared entry by this backend, ended when the last decoded
// model viewing its bytes goes (the model keeps it as its backing). Only
// counts change here: no allocation, nothing that fails.
struct SharedUse {
    int index = -1;
    ~SharedUse() {
        if (index < 0 || released_all) return;
        const bool mine = LWLockHeldByMe(shared_lock);
        if (!mine) LWLockAcquire(shared_lock, LW_EXCLUSIVE);
        shared_cache::release(shared->registry, index);
        --held[index];
        if (!mine) LWLockRelease(shared_lock);
    }
};
// The entry this backend is loading, and its allocation.
SharedUse* loading = nullptr;
dsa_pointer loading_at = InvalidDsaPointer;

// A load that failed: its entry is free again, for another backend to load.
// Inside pg_call.
void abort_load() {
    if (!loading) return;
    locked(LW_EXCLUSIVE, [&] {
        shared_cache::abort(shared->registry, loading->index);
        if (DsaPointerIsValid(loading_at)) dsa_free(area, loading_at);
        --held[loading->index];
        loading->index = -1;
        loading = nullptr;
        loading_at = InvalidDsaPointer;
    });
    ConditionVariableBroadcast(&shared->loaded);
}

// At exit (before the area is detached), however the backend ends: its load
// is aborted and its uses end.
void release_all(int, Datum) {
    if (!area) return;
    if (LWLockHeldByMe(shared_lock)) LWLockRelease(shared_lock);
    if (loading) abort_load();
    LWLockAcquire(shared_lock, LW_EXCLUSIVE);
    for (size_t i = 0; i < shared_cache::kEntries; ++i)
        for (; held[i] > 0; --held[i]) shared_cache::release(shared->registry, int(i));
    released_all = true;
    LWLockRelease(shared_lock);
}

void request_shared_memory() {
    if (previous_request_hook) previous_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(SharedModels)));
    RequestNamedLWLockTranche("recsys_models", 1);
}

void start_shared_memory() {
    if (previous_startup_hook) previous_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    shared = static_cast<SharedModels*>(ShmemInitStruct("recsys_models", sizeof(SharedModels), &found));
    if (!found) {
        new (shared) SharedModels();
        shared->tranche = LWLockNewTrancheId();
        ConditionVariableInit(&shared->loaded);
    }
    shared_lock = &GetNamedLWLockTranche("recsys_models")->lock;
    LWLockRelease(AddinShmemInitLock);
}

// Attaches this backend to the area, creating it on the first use since
// the server started. Inside pg_call.
void attach_area() {
    if (area) return;
    static bool exit_callback = false;
    if (!exit_callback) {  // first, so that whatever this backend attaches goes at its exit
        before_shmem_exit(release_all, 0);
        exit_callback = true;
    }
    LWLockRegisterTranche(shared->tranche, "recsys_models_area");
    MemoryContext outer = MemoryContextSwitchTo(TopMemoryContext);
    locked(LW_EXCLUSIVE, [&] {
        dsa_area* a = shared->created ? dsa_attach(shared->handle) : dsa_create(shared->tranche);
        if (!shared->created) {
            dsa_pin(a);  // outlives every backend
            shared->handle = dsa_get_handle(a);
            shared->created = true;
        }
        dsa_pin_mapping(a);  // mapped until this backend exits
        area = a;
    });
    MemoryContextSwitchTo(outer);
}

// The stored bytes `value` (of version `version` of model `name`, in the
// row inserted by `xmin`) in the shared area: found there, or copied in by
// this backend (other backends needing them meanwhile wait for it). Sets
// `use` and `data` and returns true; false when they are not shared (not
// stored out of line, or no room: the caller keeps a private copy). Inside
// pg_call.
bool fetch_shared(Datum value, TransactionId xmin, int64 version, const char* name, SharedUse& use,
                  const uint8_t*& data, size_t& size) {
    if (shared && shared->created && !sharing()) {  // turned off: what the area holds goes once unused
        attach_area();
        locked(LW_EXCLUSIVE, [&] {
            shared_cache::Freed trimmed;
            shared_cache::trim(shared->registry, 0, trimmed);
            free_locations(trimmed);
        });
    }
    struct varatt_external pointer;
    int32 stored_size = 0;
    if (!sharing() || !direct_toast(value, pointer, stored_size)) return false;
    attach_area();
    shared_cache::Key key;
    key.database = MyDatabaseId;
    key.toast_relation = pointer.va_toastrelid;
    key.toast_value = pointer.va_valueid;
    key.xmin = xmin;
    key.version = version;
    key.size = uint64_t(stored_size);
    const uint64_t bytes = uint64_t(stored_size) + 2 * kBytesAt;
    shared_cache::Acquired got;
    for (;;) {
        locked(LW_EXCLUSIVE, [&] {
            shared_cache::Freed trimmed;
            shared_cache::trim(shared->registry, shared_limit(), trimmed);  // the limit may have been lowered
            free_locations(trimmed);
            got = shared_cache::acquire(shared->registry, key, name, bytes, shared_limit());
            free_locations(got.freed);
            if (got.kind == shared_cache::Acquired::Hit || got.kind == shared_cache::Acquired::Load) {
                ++held[got.index];
                use.index = got.index;
            }
            if (got.kind == shared_cache::Acquired::Load) loading = &use;
        });
        if (got.kind != shared_cache::Acquired::Wait) break;
        ConditionVariableSleep(&shared->loaded, PG_WAIT_EXTENSION);  // interruptible
    }
    ConditionVariableCancelSleep();
    if (got.kind == shared_cache::Acquired::Unshared) return false;
    size = size_t(stored_size);
    if (got.kind == shared_cache::Acquired::Hit) {
        const dsa_pointer at = shared->registry.entries[got.index].location;  // fixed while used
        data = static_cast<const uint8_t*>(dsa_get_address(area, at)) + bytes_offset(at);
        return true;
    }
    const dsa_pointer at = dsa_allocate_extended(area, bytes, DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);
    if (!DsaPointerIsValid(at)) {
        abort_load();
        return false;
    }
    loading_at = at;
    uint8_t* out = static_cast<uint8_t*>(dsa_get_address(area, at)) + bytes_offset(at);
    fetch_toast(pointer, stored_size, out);
    locked(LW_EXCLUSIVE, [&] {
        shared_cache::finish(shared->registry, use.index, at);
        loading = nullptr;
        loading_at = InvalidDsaPointer;
    });
    ConditionVariableBroadcast(&shared->loaded);
    data = out;
    return true;
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Reads and decodes version `version` of model `name` into the cache.
CachedModel decode(const std::string& name, int64 version, const std::string& owner, Oid checked_by, size_t limit) {
    const char* model_name = name.c_str();
    // The bytes, read on the caller's behalf: readers may not select them
    // (they embed every user's history), but may be served from them. They
    // are copied once, out of the table into memory the decoded model keeps
    // (it may use its large arrays in place).
    const auto fetch_started = std::chrono::steady_clock::now();
    uint8_t* raw = nullptr;
    auto use = std::make_shared<SharedUse>();
    const uint8_t* data = nullptr;
    size_t stored = 0;
    bool present = false;
    try {
        pg_call([&] {
            Oid save_user;
            int save_context;
            GetUserIdAndSecContext(&save_user, &save_context);
            HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(get_relname_relid("recsys_models", cache.schema)));
            if (!HeapTupleIsValid(tuple)) elog(ERROR, "recsys: the model table vanished");
            Oid store_owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
            ReleaseSysCache(tuple);
            SetUserIdAndSecContext(store_owner, save_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
            PG_TRY();
            {
                SPI_connect();
                Datum values[2] = {CStringGetTextDatum(model_name), Int64GetDatum(version)};
                SPI_execute_plan(cache.fetch, values, nullptr, true, 1);
                bool isnull = true;
                Datum d = SPI_processed > 0 ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull) : 0;
                if (!isnull) {
                    bool no_xmin;
                    TransactionId xmin =
                        DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_xmin));
                    if (!fetch_shared(d, xmin, version, model_name, *use, data, stored)) {
                        stored = fetch_bytes(d, raw);
                        data = raw + kBytesAt;
                    }
                    present = true;
                }
                SPI_finish();
            }
            PG_FINALLY();
            {
                SetUserIdAndSecContext(save_user, save_context);
            }
            PG_END_TRY();
        });
    } catch (...) {
        free(raw);
        if (loading) pg_call([] { abort_load(); });
        throw;
    }
    // The model keeps what it views: the private copy, or its use of the shared one.
    std::shared_ptr<const uint8_t> bytes =
        raw ? std::shared_ptr<const uint8_t>(std::shared_ptr<const uint8_t>(raw, free), data)
            : std::shared_ptr<const uint8_t>(std::move(use), data);
    if (!present) throw Error(ErrorKind::Internal, "model \"" + name + "\" changed while it was read");
    cache.last_fetch_ms = ms_since(fetch_started);
    const auto decode_started = std::chrono::steady_clock::now();
    auto model = std::make_shared<const Model>(Model::deserialize(bytes.get(), stored, backend_context(), bytes));
    bytes.reset();  // the model keeps them if it uses them
    cache.last_decode_ms = ms_since(decode_started);
    ++cache.decodes;

    Entry entry{version, checked_by, model, owner, counted_bytes(*model, stored), ++cache.tick, false};
    entry.transient = entry.bytes > limit;
    if (!entry.transient) cache.bytes += entry.bytes;
    cache.models[name] = entry;
    make_room(name);
    return {name, entry.owner, model};
}

}  // namespace

CachedModel load_model(FunctionCallInfo fcinfo, const std::optional<std::string>& requested) {
    prepare_plans(fcinfo);
    // The caller's right to read the store: checked once per role, again
    // after any GRANT, REVOKE or change of role memberships (invalidations).
    const char* role = nullptr;
    pg_call([&] {
        Oid user = GetUserId();
        if (user == cache.may_read) return;
        if (pg_attribute_aclcheck(cache.table, get_attnum(cache.table, "version"), user, ACL_SELECT) == ACLCHECK_OK)
            cache.may_read = user;
        else
            role = GetUserNameFromId(user, false);
    });
    if (role)
        permission_denied(std::string("permission denied to read models: role \"") + role +
                              "\" may not read recsys.recsys_models",
                          std::string("Ask an administrator to GRANT recsys_reader TO ") + role + ";");
    const std::string name = requested ? *requested : default_model_name();
    const char* model_name = name.c_str();

    // A model this role has found active since the store last changed is
    // served without reading the store: every write to it (and every ALTER,
    // GRANT or DROP of it) invalidates the store's relcache entry, which
    // every backend processes at its next transaction (this one at its next
    // command, and again if the write rolls back) and which clears the checks.
    const size_t limit = size_t(setting_cache_memory_kb) << 10;
    auto it = cache.models.find(name);
    const Oid user = GetUserId();
    if (it == cache.models.end() || it->second.checked_by != user) {
        // The active version's row, with the caller's rights and snapshot.
        // A version is stored once under a number taken from a sequence, so
        // the number names the bytes: a retrain, or activate() going back to
        // an older version, changes it, and the next call decodes that version.
        bool found = false;
        int64 version = 0;
        char* owner = nullptr;
        ++cache.lookups;
        pg_call([&] {
            MemoryContext outer = CurrentMemoryContext;
            SPI_connect();
            Datum values[1] = {CStringGetTextDatum(model_name)};
            SPI_execute_plan(cache.lookup, values, nullptr, true, 1);
            if (SPI_processed > 0) {
                bool isnull;
                found = true;
                version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
                MemoryContext inner = MemoryContextSwitchTo(outer);
                owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
                MemoryContextSwitchTo(inner);
            }
            SPI_finish();
        });
        if (!found)
            throw invalid_input("model \"" + name + "\" does not exist",
                                "List the trained models with SELECT * FROM recsys.recsys_list_models();");
        // Trusted beyond this transaction only if no invalidation came after
        // its first snapshot (which may not see the change). On a Citus
        // node the copy is written by Citus, whose writes the trigger may
        // not see: there every call looks the row up.
        const bool trusted = cache.invalidated_in != MyProc->lxid && cache.read == cache.table;
        if (it != cache.models.end() && it->second.version == version) {
            it->second.owner = owner ? owner : "";
            it->second.checked_by = trusted ? user : InvalidOid;
        } else {
            it = cache.models.end();
            if (auto old = cache.models.find(name); old != cache.models.end()) {
                if (!old->second.transient) cache.bytes -= old->second.bytes;
                cache.models.erase(old);
            }
            return decode(name, version, owner ? owner : "", trusted ? user : InvalidOid, limit);
        }
    }
    ++cache.hits;
    Entry& e = it->second;
    e.last_used = ++cache.tick;
    if (!e.transient && e.bytes > limit) {  // the limit was lowered under it
        e.transient = true;
        cache.bytes -= e.bytes;
    }
    make_room(name);
    return {name, e.owner, e.model};
}

bool may_read_contents(FunctionCallInfo fcinfo, const CachedModel& m) {
    prepare_plans(fcinfo);
    bool allowed = false;
    const char* owner = m.owner.c_str();
    pg_call([&] {
        Oid user = GetUserId();
        Oid owner_role = get_role_oid(owner, true);
        allowed = (OidIsValid(owner_role) && has_privs_of_role(user, owner_role)) ||
                  pg_attribute_aclcheck(cache.table, get_attnum(cache.table, "model"), user, ACL_SELECT) == ACLCHECK_OK;
    });
    return allowed;
}

CacheStats cache_stats() {
    return {cache.decodes, cache.hits, cache.evictions, cache.lookups, cache.models.size(), cache.bytes, cache.last_fetch_ms,
            cache.last_decode_ms};
}

void remember_trained(std::vector<uint8_t> bytes, std::string description) {
    last_trained = Trained{std::move(bytes), std::move(description)};
}

std::optional<std::string> recall_trained(std::span<const uint8_t> bytes) {
    if (!last_trained || last_trained->bytes.size() != bytes.size() ||
        std::memcmp(last_trained->bytes.data(), bytes.data(), bytes.size()) != 0)
        return std::nullopt;
    std::string description = std::move(last_trained->description);
    last_trained.reset();
    return description;
}

std::string shared_stats_json() {
    if (!sharing()) return "\"mode\": \"per-backend\"";
    shared_cache::Registry r;
    pg_call([&] { locked(LW_SHARED, [&] { r = shared->registry; }); });
    std::string models;
    for (const auto& e : r.entries) {
        if (e.state != shared_cache::State::Ready) continue;
        // The name in the registry is the model's own, truncated: escaped as the JSON string it goes into.
        std::string name;
        for (const char* c = e.name; *c; ++c) {
            if (*c == '"' || *c == '\\') name += '\\';
            if (uint8_t(*c) >= 0x20) name += *c;
        }
        models += std::string(models.empty() ? "" : ", ") + "{\"name\": \"" + name + "\", \"version\": " +
                  std::to_string(e.key.version) + ", \"bytes\": " + std::to_string(e.bytes) +
                  ", \"backends\": " + std::to_string(e.refs) + "}";
    }
    return "\"mode\": \"shared\", \"shared_bytes\": " + std::to_string(r.bytes) +
           ", \"shared_limit_bytes\": " + std::to_string(shared_limit()) + ", \"shared_loads\": " +
           std::to_string(r.loads) + ", \"shared_hits\": " + std::to_string(r.hits) +
           ", \"shared_evictions\": " + std::to_string(r.evictions) + ", \"shared_models\": [" + models + "]";
}

void register_model_cache() {
    // Shared memory can only be reserved by a library loaded at server start.
    if (process_shared_preload_libraries_in_progress) {
        previous_request_hook = shmem_request_hook;
        shmem_request_hook = request_shared_memory;
        previous_startup_hook = shmem_startup_hook;
        shmem_startup_hook = start_shared_memory;
    }
    RegisterXactCallback(drop_transient, nullptr);
    CacheRegisterRelcacheCallback(store_invalidated, (Datum)0);
    CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, roles_invalidated, (Datum)0);
    CacheRegisterSyscacheCallback(AUTHOID, roles_invalidated, (Datum)0);
}

}  // namespace recsys::pg

using namespace recsys::pg;

// Trigger on the store (recsys_models_changed, after every statement that
// writes it): invalidates its relcache entry, which serving backends take as
// the sign to look their models up again (store_invalidated above): this
// backend at its next command (and again if the write rolls back), the
// others once the write commits.
extern "C" Datum recsys_invalidate_cache(PG_FUNCTION_ARGS) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("recsys_invalidate_cache() is a trigger function"),
                        errhint("It runs by itself after writes to recsys.recsys_models; do not call it.")));
    CacheInvalidateRelcache(reinterpret_cast<TriggerData*>(fcinfo->context)->tg_relation);
    return PointerGetDatum(nullptr);
}

// recsys_cache_stats(): the counts above and the limit, as jsonb.
extern "C" Datum recsys_cache_stats(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        CacheStats s = cache_stats();
        return jsonb_from_string("{\"decodes\": " + std::to_string(s.decodes) + ", \"hits\": " + std::to_string(s.hits) +
                                 ", \"evictions\": " + std::to_string(s.evictions) +
                                 ", \"lookups\": " + std::to_string(s.lookups) +
                                 ", \"cached_models\": " + std::to_string(s.cached) +
                                 ", \"cached_bytes\": " + std::to_string(s.cached_bytes) +
                                 ", \"last_fetch_ms\": " + std::to_string(s.last_fetch_ms) +
                                 ", \"last_decode_ms\": " + std::to_string(s.last_decode_ms) +
                                 ", \"limit_bytes\": " + std::to_string(uint64_t(setting_cache_memory_kb) << 10) +
                                 ", " + shared_stats_json() + "}");
    });
}

namespace recsys::pg {

Model load_blend(FunctionCallInfo fcinfo, int models_arg, int weights_arg, bool for_bytes) {
    const char* hint = "e.g. models => ARRAY['shop_ease', 'shop_als'], weights => ARRAY[0.7, 0.3].";
    require_arg(fcinfo, models_arg, "models must not be NULL", hint);
    require_arg(fcinfo, weights_arg, "weights must not be NULL", hint);
    std::vector<std::shared_ptr<const Model>> components;
    for (const auto& name : text_array_arg(fcinfo, models_arg, "models", hint)) {
        CachedModel m = load_model(fcinfo, name);
        if (for_bytes && !may_read_contents(fcinfo, m))
            permission_denied("a blend embeds the purchase histories stored in model \"" + m.name +
                                  "\", which this role may not read",
                              "Members of the model's owner (" + m.owner + ") or of recsys_admin may blend it.");
        components.push_back(m.model);
    }
    std::vector<double> weights;
    for (const auto& w : float8_array_arg(fcinfo, weights_arg, "weights", hint)) {
        if (!w) throw invalid_input("weights must not contain NULL", hint);
        weights.push_back(*w);
    }
    return blend::make(std::move(components), std::move(weights));
}

}  // namespace recsys::pg
