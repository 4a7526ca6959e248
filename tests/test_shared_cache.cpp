// The shared model cache's policy (src/core/shared_cache.h): sharing,
// waiting for a load, the limit, least-recently-used eviction of unused
// entries only, replacement of a model's older versions.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "shared_cache.h"

using namespace recsys::shared_cache;

namespace {

Key key(uint32_t value, int64_t version = 1, uint64_t size = 100) {
    Key k;
    k.database = 5;
    k.toast_relation = 7;
    k.toast_value = value;
    k.xmin = 900;
    k.version = version;
    k.size = size;
    return k;
}

std::set<uint64_t> freed(const Freed& f) { return {f.locations, f.locations + f.n}; }

// Loads `k` as model `name` and finishes it at `location`; returns the entry's index.
int load(Registry& r, const Key& k, const char* name, uint64_t bytes, uint64_t limit, uint64_t location) {
    Acquired a = acquire(r, k, name, bytes, limit);
    EXPECT_EQ(a.kind, Acquired::Load);
    finish(r, a.index, location);
    return a.index;
}

}  // namespace

TEST(SharedCache, SecondUserSharesTheLoadedBytes) {
    Registry r;
    Acquired first = acquire(r, key(1), "shop", 100, 1000);
    ASSERT_EQ(first.kind, Acquired::Load);
    // While it loads, another process waits rather than loading a second copy.
    EXPECT_EQ(acquire(r, key(1), "shop", 100, 1000).kind, Acquired::Wait);
    finish(r, first.index, 4242);
    Acquired second = acquire(r, key(1), "shop", 100, 1000);
    ASSERT_EQ(second.kind, Acquired::Hit);
    EXPECT_EQ(second.index, first.index);
    EXPECT_EQ(r.entries[first.index].refs, 2u);
    EXPECT_EQ(r.entries[first.index].location, 4242u);
    EXPECT_EQ(r.bytes, 100u);
    EXPECT_EQ(r.loads, 1u);
    EXPECT_EQ(r.hits, 1u);
}

TEST(SharedCache, AnotherVersionOrValueIsAnotherEntry) {
    Registry r;
    load(r, key(1, 1), "shop", 100, 1000, 1);
    EXPECT_EQ(acquire(r, key(1, 2), "shop", 100, 1000).kind, Acquired::Load);  // version
    EXPECT_EQ(acquire(r, key(2, 1), "other", 100, 1000).kind, Acquired::Load);  // TOAST value
    Key moved = key(1, 1);
    moved.xmin = 901;  // a reused value number in a newer row
    EXPECT_EQ(acquire(r, moved, "third", 100, 1000).kind, Acquired::Load);
    EXPECT_EQ(r.loads, 4u);
}

TEST(SharedCache, EvictsLeastRecentlyUsedUnreferencedEntries) {
    Registry r;
    int a = load(r, key(1), "a", 400, 1000, 11);
    int b = load(r, key(2), "b", 400, 1000, 12);
    release(r, a);
    release(r, b);
    // a used again, then released: b is now the coldest.
    release(r, acquire(r, key(1), "a", 400, 1000).index);
    Acquired c = acquire(r, key(3), "c", 400, 1000);
    ASSERT_EQ(c.kind, Acquired::Load);
    EXPECT_EQ(freed(c.freed), std::set<uint64_t>{12});
    EXPECT_EQ(r.bytes, 800u);
    EXPECT_EQ(r.evictions, 1u);
    EXPECT_EQ(acquire(r, key(1), "a", 400, 1000).kind, Acquired::Hit);
}

TEST(SharedCache, NeverFreesWhatIsInUse) {
    Registry r;
    load(r, key(1), "a", 600, 1000, 11);  // still referenced
    Acquired b = acquire(r, key(2), "b", 600, 1000);
    EXPECT_EQ(b.kind, Acquired::Unshared);
    EXPECT_EQ(b.freed.n, 0u);
    EXPECT_EQ(r.bytes, 600u);
    // Larger than the whole area: never shared.
    EXPECT_EQ(acquire(r, key(3), "c", 2000, 1000).kind, Acquired::Unshared);
}

TEST(SharedCache, FreesOnlyWhenThatMakesRoom) {
    Registry r;
    int a = load(r, key(1), "a", 300, 1000, 11);
    load(r, key(2), "b", 600, 1000, 12);  // in use
    release(r, a);
    Acquired c = acquire(r, key(3), "c", 800, 1000);
    EXPECT_EQ(c.kind, Acquired::Unshared);
    EXPECT_EQ(c.freed.n, 0u);  // freeing a would not have been enough: kept
    EXPECT_EQ(r.bytes, 900u);
}

TEST(SharedCache, ANewVersionFreesTheUnusedOldOne) {
    Registry r;
    int old = load(r, key(1, 1), "shop", 100, 1000, 11);
    int other = load(r, key(2, 1), "other", 100, 1000, 12);
    release(r, old);
    release(r, other);
    Acquired next = acquire(r, key(3, 2), "shop", 100, 1000);
    ASSERT_EQ(next.kind, Acquired::Load);
    EXPECT_EQ(freed(next.freed), std::set<uint64_t>{11});  // not "other", though unused too
    EXPECT_EQ(r.bytes, 200u);
}

TEST(SharedCache, AHitOnTheNewVersionFreesTheOldOneOnceUnused) {
    Registry r;
    int old = load(r, key(1, 1), "shop", 100, 1000, 11);  // another process still serves it
    int next = load(r, key(3, 2), "shop", 100, 1000, 13);
    EXPECT_EQ(r.bytes, 200u);
    release(r, old);  // that process moves on to version 2
    Acquired hit = acquire(r, key(3, 2), "shop", 100, 1000);
    ASSERT_EQ(hit.kind, Acquired::Hit);
    EXPECT_EQ(hit.index, next);
    EXPECT_EQ(freed(hit.freed), std::set<uint64_t>{11});
    EXPECT_EQ(r.bytes, 100u);
}

TEST(SharedCache, AbortedLoadFreesTheEntry) {
    Registry r;
    Acquired a = acquire(r, key(1), "a", 100, 1000);
    abort(r, a.index);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_EQ(acquire(r, key(1), "a", 100, 1000).kind, Acquired::Load);  // not Wait: nobody loads it
}

TEST(SharedCache, TrimAfterTheLimitWasLowered) {
    Registry r;
    int a = load(r, key(1), "a", 400, 1000, 11);
    int b = load(r, key(2), "b", 400, 1000, 12);
    release(r, b);
    release(r, a);
    Freed f;
    trim(r, 500, f);
    EXPECT_EQ(freed(f), std::set<uint64_t>{11});  // a was acquired less recently
    EXPECT_EQ(r.bytes, 400u);
    trim(r, 0, f);
    EXPECT_EQ(r.bytes, 0u);
}

TEST(SharedCache, AllEntriesTakenAndInUse) {
    Registry r;
    for (uint32_t i = 0; i < kEntries; ++i) load(r, key(i + 1), ("m" + std::to_string(i)).c_str(), 1, 1000, i + 1);
    EXPECT_EQ(acquire(r, key(999), "x", 1, 1000).kind, Acquired::Unshared);
    release(r, 5);
    Acquired x = acquire(r, key(999), "x", 1, 1000);
    ASSERT_EQ(x.kind, Acquired::Load);
    EXPECT_EQ(x.index, 5);
    EXPECT_EQ(freed(x.freed), std::set<uint64_t>{6});
}

TEST(SharedCache, LongNamesAreCutAtACharacterBoundary) {
    Registry r;
    std::string name(62, 'a');
    name += "\xc3\xa9tag\xc3\xa8re";  // é starts at byte 62: it does not fit whole
    load(r, key(1, 1), name.c_str(), 100, 1000, 11);
    EXPECT_EQ(std::string(r.entries[0].name), std::string(62, 'a'));
    release(r, 0);
    // Another version of the same long name still replaces it.
    Acquired next = acquire(r, key(2, 2), name.c_str(), 100, 1000);
    EXPECT_EQ(freed(next.freed), std::set<uint64_t>{11});
}
