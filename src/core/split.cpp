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

void check_n_test(int64_t n_test) {
    if (n_test < 0)
        throw invalid_input("number of test items per user must not be negative, got " + std::to_string(n_test),
                            "Pass how many of each user's latest items to hold out, e.g. 1.");
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
    check_n_test(n_test);
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

void SplitRows::add(std::string_view user, std::string_view item, int64_t time) {
    rows_.push_back({users_.intern(user), items_.intern(item), time});
}

template <typename Decide>
std::vector<bool> SplitRows::split(const Context& ctx, Decide decide) const {
    // Row indexes grouped by user (a counting sort), then by item.
    std::vector<uint64_t> start(uint64_t(users_.size()) + 1, 0);
    for (const Row& r : rows_) ++start[r.user + 1];
    for (uint32_t u = 0; u < users_.size(); ++u) start[u + 1] += start[u];
    std::vector<uint64_t> order(rows_.size());
    {
        std::vector<uint64_t> next(start.begin(), start.end() - 1);
        for (uint64_t i = 0; i < rows_.size(); ++i) order[next[rows_[i].user]++] = i;
    }
    std::vector<bool> is_test(rows_.size(), false);
    std::vector<TimedItem> items;
    for (uint32_t u = 0; u < users_.size(); ++u) {
        if (u % 256 == 0) ctx.check_cancel();
        const auto first = order.begin() + int64_t(start[u]), last = order.begin() + int64_t(start[u + 1]);
        std::sort(first, last, [&](uint64_t a, uint64_t b) { return rows_[a].item < rows_[b].item; });
        auto pair_end = [&](auto it) {  // past the rows of its (user, item) pair
            const uint32_t item = rows_[*it].item;
            while (it != last && rows_[*it].item == item) ++it;
            return it;
        };
        items.clear();
        for (auto it = first; it != last;) {
            const auto end = pair_end(it);
            int64_t latest = rows_[*it].time;
            for (auto r = it; r != end; ++r) latest = std::max(latest, rows_[*r].time);
            items.push_back({IdText(items_.text_at(rows_[*it].item)), latest});
            it = end;
        }
        const std::vector<bool> test = decide(IdText(users_.text_at(u)), std::span<const TimedItem>(items));
        size_t k = 0;
        for (auto it = first; it != last; ++k) {
            const auto end = pair_end(it);
            for (; it != end; ++it) is_test[*it] = test[k];
        }
    }
    return is_test;
}

std::vector<bool> SplitRows::hold_out_per_user(double fraction, uint64_t seed, const Context& ctx) const {
    check_fraction(fraction);
    std::vector<IdText> ids;
    return split(ctx, [&](IdText user, std::span<const TimedItem> items) {
        ids.clear();
        for (const TimedItem& t : items) ids.push_back(t.item);
        return recsys::hold_out_per_user(user, ids, fraction, seed);
    });
}

std::vector<bool> SplitRows::leave_last_n(int64_t n_test, uint64_t seed, const Context& ctx) const {
    check_n_test(n_test);
    return split(ctx, [&](IdText user, std::span<const TimedItem> items) {
        return recsys::leave_last_n(user, items, n_test, seed);
    });
}

}  // namespace recsys
