// Deterministic train/test splits. Every decision comes from a portable
// 64-bit hash of (user id, item id, seed), so a split is the same on every
// machine and does not depend on the order rows arrive in.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "context.h"
#include "id_map.h"

namespace recsys {

// An id as the bytes the split hash reads. Integer ids are written in
// decimal, so 42 and '42' split alike; text ids are hashed byte for byte
// ('042' is not 42). Holds a view of text ids: the text must outlive it.
class IdText {
public:
    template <std::integral T>
        requires(sizeof(T) <= 8 && !std::same_as<T, bool> && !std::same_as<T, char>)
    IdText(T id) {
        length_ = size_t(std::to_chars(decimal_, decimal_ + sizeof decimal_, id).ptr - decimal_);
    }
    IdText(std::string_view id) : text_(id.data()), length_(id.size()) {}
    IdText(const char* id) : IdText(std::string_view(id)) {}
    IdText(const std::string& id) : IdText(std::string_view(id)) {}

    std::string_view view() const { return {text_ ? text_ : decimal_, length_}; }

private:
    const char* text_ = nullptr;
    size_t length_ = 0;
    char decimal_[20] = {};  // fits any 64-bit integer
};

// Stable hash of one (user, item) pair under a seed.
uint64_t interaction_hash(IdText user, IdText item, uint64_t seed);

// Per interaction: true when the pair falls in the test share. fraction is
// the expected share held out, in [0, 1]; 0 holds out nothing, 1 everything.
bool in_test_split(IdText user, IdText item, double fraction, uint64_t seed);

// Per user: given one user's distinct items, marks round(fraction * n) of
// them as test, those with the smallest hashes. The user always keeps at
// least one training item, so at most n - 1 are held out (with n = 1, the
// item stays in training). Returns is_test aligned with `items`.
std::vector<bool> hold_out_per_user(IdText user, std::span<const IdText> items, double fraction,
                                    uint64_t seed);

struct TimedItem {
    IdText item;
    int64_t time;  // larger is later, e.g. microseconds since the epoch
};

// Per user: marks the user's last `n_test` items by time as test (n_test >= 0).
// Equal times are ordered by item hash, the larger counting as later, so the
// result is deterministic. As above, at most n - 1 items are held out.
// Returns is_test aligned with `items`.
std::vector<bool> leave_last_n(IdText user, std::span<const TimedItem> items, int64_t n_test,
                               uint64_t seed);

// The rows of a query to split per user (split_per_user, split_last_n),
// added one by one; each id is kept once. Every row of a (user, item) pair
// lands on the same side, so a repeated purchase is never both in training
// and in test.
class SplitRows {
public:
    // `time`: when the row happened, larger is later (leave_last_n uses the
    // latest row of each pair).
    void add(std::string_view user, std::string_view item, int64_t time = 0);

    size_t size() const { return rows_.size(); }
    const std::string& user(size_t row) const { return users_.text_at(rows_[row].user); }
    const std::string& item(size_t row) const { return items_.text_at(rows_[row].item); }

    // is_test of every row, in the order added: hold_out_per_user or
    // leave_last_n of each user's distinct items. Polls ctx.check_cancel()
    // every few hundred users.
    std::vector<bool> hold_out_per_user(double fraction, uint64_t seed, const Context& ctx) const;
    std::vector<bool> leave_last_n(int64_t n_test, uint64_t seed, const Context& ctx) const;

private:
    struct Row {
        uint32_t user, item;
        int64_t time;
    };
    // decide(user, items) marks one user's distinct items (ascending by index).
    template <typename Decide>
    std::vector<bool> split(const Context& ctx, Decide decide) const;

    IdMap users_, items_;
    std::vector<Row> rows_;
};

}  // namespace recsys
