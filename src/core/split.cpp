#include "split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "errors.h"

namespace recsys {

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// SplitMix64's finaliser: a bijection with full avalanche.
uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// The constant keeps a zero state from mapping to itself.
uint64_t absorb_word(uint64_t state, uint64_t word) { return mix64((state ^ word) + kGolden); }

// Up to 8 bytes as a little-endian word, whatever the host byte order.
uint64_t read_le(const char* bytes, size_t n) {
    uint64_t word = 0;
    for (size_t i = 0; i < n; ++i) word |= uint64_t(uint8_t(bytes[i])) << (8 * i);
    return word;
}

// The length goes first so that ("ab", "c") and ("a", "bc") differ.
uint64_t absorb_bytes(uint64_t state, std::string_view bytes) {
    state = absorb_word(state, bytes.size());
    for (size_t i = 0; i < bytes.size(); i += 8)
        state = absorb_word(state, read_le(bytes.data() + i, std::min<size_t>(8, bytes.size() - i)));
    return state;
}

// Top 53 bits as a double uniform in [0, 1).
double to_unit(uint64_t hash) { return double(hash >> 11) * 0x1p-53; }

void check_fraction(double fraction) {
    if (fraction >= 0.0 && fraction <= 1.0) return;  // also rejects NaN
    char text[32];
    auto end = std::to_chars(text, text + sizeof text, fraction).ptr;
    throw invalid_input("test fraction must be between 0 and 1, got " + std::string(text, end),
                        "Pass the share of interactions to hold out for testing, e.g. 0.2.");
}

// Orders equal hashes (distinct items colliding, or repeated items) by the
// item's bytes, so even then the outcome does not depend on input order.
struct HashedItem {
    uint64_t hash;
    std::string_view item;
    auto operator<=>(const HashedItem&) const = default;
};

}  // namespace

uint64_t interaction_hash(IdText user, IdText item, uint64_t seed) {
    uint64_t state = mix64(seed + kGolden);
    state = absorb_bytes(state, user.view());
    return absorb_bytes(state, item.view());
}

bool in_test_split(IdText user, IdText item, double fraction, uint64_t seed) {
    check_fraction(fraction);
    return to_unit(interaction_hash(user, item, seed)) < fraction;
}

std::vector<bool> hold_out_per_user(IdText user, std::span<const IdText> items, double fraction,
                                    uint64_t seed) {
    check_fraction(fraction);
    const size_t n = items.size();
    std::vector<bool> is_test(n, false);
    if (n == 0) return is_test;
    const size_t held_out = std::min(size_t(std::llround(fraction * double(n))), n - 1);

    std::vector<HashedItem> keys(n);
    for (size_t i = 0; i < n; ++i) keys[i] = {interaction_hash(user, items[i], seed), items[i].view()};
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    for (size_t r = 0; r < held_out; ++r) is_test[order[r]] = true;
    return is_test;
}

std::vector<bool> leave_last_n(IdText user, std::span<const TimedItem> items, int64_t n_test,
                               uint64_t seed) {
    if (n_test < 0)
        throw invalid_input("number of test items per user must not be negative, got " + std::to_string(n_test),
                            "Pass how many of each user's latest items to hold out, e.g. 1.");
    const size_t n = items.size();
    std::vector<bool> is_test(n, false);
    if (n == 0) return is_test;
    const size_t held_out = size_t(std::min<uint64_t>(uint64_t(n_test), n - 1));

    struct Key {
        int64_t time;
        HashedItem hashed;
        auto operator<=>(const Key&) const = default;
    };
    std::vector<Key> keys(n);
    for (size_t i = 0; i < n; ++i)
        keys[i] = {items[i].time, {interaction_hash(user, items[i].item, seed), items[i].item.view()}};
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    for (size_t r = n - held_out; r < n; ++r) is_test[order[r]] = true;
    return is_test;
}

}  // namespace recsys
