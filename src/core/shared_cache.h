// The policy of the server-wide model cache (DESIGN.md, "Shared models"):
// which stored model bytes are in the shared area, who uses them, and which
// to free to make room. Plain data without pointers, so that it can live in
// shared memory at a different address in every process; the glue
// (src/pg/model_cache.cpp) holds the lock around every call and does the
// allocating, copying and freeing. Nothing here allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>

namespace recsys::shared_cache {

// What names one stored model version's bytes, server-wide: the TOAST value
// holding them (unique while the row lives), the row's inserting
// transaction and version (a value number reused after VACUUM belongs to
// another row), and their size.
struct Key {
    uint32_t database = 0;
    uint32_t toast_relation = 0;
    uint32_t toast_value = 0;
    uint32_t xmin = 0;
    int64_t version = 0;
    uint64_t size = 0;
    bool operator==(const Key&) const = default;
};

enum class State : uint8_t { Free, Loading, Ready };

constexpr size_t kNameBytes = 64;

struct Entry {
    Key key;
    State state = State::Free;
    uint32_t refs = 0;        // processes using the bytes (Loading: the loader)
    uint64_t last_used = 0;
    uint64_t bytes = 0;       // counted against the limit
    uint64_t location = 0;    // where the bytes are (a dsa_pointer), once Ready
    char name[kNameBytes] = {};  // the model's name (truncated), for recsys_cache_stats()
};

constexpr size_t kEntries = 64;

struct Registry {
    uint64_t tick = 0;
    uint64_t bytes = 0;  // of every entry that is not Free
    uint64_t loads = 0;
    uint64_t hits = 0;
    uint64_t evictions = 0;
    Entry entries[kEntries];
};

// Entries freed to make room: their locations, for the caller to free.
struct Freed {
    uint64_t locations[kEntries] = {};
    size_t n = 0;
};

struct Acquired {
    enum Kind {
        Hit,       // `index` is Ready and referenced for the caller
        Load,      // `index` is reserved (Loading) for the caller to fill, then finish() or abort()
        Wait,      // another process is loading these bytes: wait, then acquire again
        Unshared,  // no room (too large, or all in use): the caller keeps a private copy
    } kind = Unshared;
    int index = -1;
    Freed freed;
};

// The bytes named `key` (of a model called `name` in that database), which
// take `bytes` in the area, within `limit` bytes in all. Unreferenced
// entries are freed, least recently used first, only when that makes room;
// unreferenced other versions of the same model go in any case (the
// caller's is the active one).
Acquired acquire(Registry& r, const Key& key, const char* name, uint64_t bytes, uint64_t limit);
// The loader's bytes are in place at `location`.
void finish(Registry& r, int index, uint64_t location);
// The load failed: the entry is free again (the caller frees what it allocated).
void abort(Registry& r, int index);
// One use of `index` ended. The entry stays, for the next process to need
// it, until its room is needed.
void release(Registry& r, int index);
// Frees unreferenced entries, least recently used first, until the area is
// within `limit` (after the limit was lowered).
void trim(Registry& r, uint64_t limit, Freed& freed);

}  // namespace recsys::shared_cache
