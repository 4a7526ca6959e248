#include "shared_cache.h"

#include <cstring>

namespace recsys::shared_cache {

namespace {

// `name` cut to fit an entry, at a UTF-8 character boundary.
void copy_name(char (&out)[kNameBytes], const char* name) {
    size_t n = std::strlen(name);
    if (n >= kNameBytes) {
        n = kNameBytes - 1;
        while (n > 0 && (uint8_t(name[n]) & 0xC0) == 0x80) --n;  // name[n] would start the next character
    }
    std::memcpy(out, name, n);
    out[n] = 0;
}

bool same_name(const Entry& e, const char* name) {
    char cut[kNameBytes];
    copy_name(cut, name);
    return std::strcmp(e.name, cut) == 0;
}

bool unused(const Entry& e) { return e.state == State::Ready && e.refs == 0; }

void free_entry(Registry& r, Entry& e, Freed& freed) {
    freed.locations[freed.n++] = e.location;
    r.bytes -= e.bytes;
    ++r.evictions;
    e = Entry{};
}

// The least recently used unreferenced entry, or null.
Entry* coldest(Registry& r) {
    Entry* victim = nullptr;
    for (auto& e : r.entries)
        if (unused(e) && (!victim || e.last_used < victim->last_used)) victim = &e;
    return victim;
}

// Other versions of this model that nobody uses any more: a retrain (or a
// rollback) replaces them.
void free_other_versions(Registry& r, const Key& key, const char* name, Freed& freed) {
    for (auto& e : r.entries)
        if (unused(e) && !(e.key == key) && e.key.database == key.database && same_name(e, name))
            free_entry(r, e, freed);
}

}  // namespace

Acquired acquire(Registry& r, const Key& key, const char* name, uint64_t bytes, uint64_t limit) {
    Acquired out;
    for (size_t i = 0; i < kEntries; ++i) {
        Entry& e = r.entries[i];
        if (e.state == State::Free || !(e.key == key)) continue;
        if (e.state == State::Loading) {
            out.kind = Acquired::Wait;
            return out;
        }
        ++e.refs;
        e.last_used = ++r.tick;
        ++r.hits;
        free_other_versions(r, key, name, out.freed);
        out.kind = Acquired::Hit;
        out.index = int(i);
        return out;
    }
    if (bytes > limit) return out;
    free_other_versions(r, key, name, out.freed);
    // Room, if freeing what nobody uses makes enough.
    uint64_t freeable = 0;
    for (const auto& e : r.entries)
        if (unused(e)) freeable += e.bytes;
    if (r.bytes + bytes > limit + freeable) return out;
    while (r.bytes + bytes > limit) free_entry(r, *coldest(r), out.freed);
    Entry* slot = nullptr;
    for (auto& e : r.entries)
        if (e.state == State::Free) {
            slot = &e;
            break;
        }
    if (!slot) {
        slot = coldest(r);
        if (!slot) return out;
        free_entry(r, *slot, out.freed);
    }
    slot->key = key;
    slot->state = State::Loading;
    slot->refs = 1;
    slot->bytes = bytes;
    slot->last_used = ++r.tick;
    copy_name(slot->name, name);
    r.bytes += bytes;
    ++r.loads;
    out.kind = Acquired::Load;
    out.index = int(slot - r.entries);
    return out;
}

void finish(Registry& r, int index, uint64_t location) {
    Entry& e = r.entries[index];
    e.location = location;
    e.state = State::Ready;
    e.last_used = ++r.tick;
}

void abort(Registry& r, int index) {
    Entry& e = r.entries[index];
    if (e.state == State::Free) return;
    r.bytes -= e.bytes;
    e = Entry{};
}

void release(Registry& r, int index) {
    Entry& e = r.entries[index];
    if (e.refs > 0) --e.refs;
}

void trim(Registry& r, uint64_t limit, Freed& freed) {
    while (r.bytes > limit)
        if (Entry* victim = coldest(r))
            free_entry(r, *victim, freed);
        else
            break;
}

}  // namespace recsys::shared_cache
