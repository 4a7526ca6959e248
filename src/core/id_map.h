// Maps external ids (bigint or text, chosen by the first id seen) to dense
// indexes 0..n-1, and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "byte_io.h"

namespace recsys {

enum class IdKind : uint8_t { None = 0, Int = 1, Text = 2 };

class IdMap {
public:
    IdKind kind() const { return kind_; }
    uint32_t size() const { return uint32_t(kind_ == IdKind::Text ? texts_.size() : ints_.size()); }

    // Index of the id, adding it if new. Throws if the kind differs from earlier ids.
    uint32_t intern(int64_t id);
    uint32_t intern(std::string_view id);

    // Look-ups accept either kind: a text id is matched against integer
    // ids by its decimal value and vice versa, so callers need not cast.
    std::optional<uint32_t> find(int64_t id) const;
    std::optional<uint32_t> find(std::string_view id) const;

    int64_t int_at(uint32_t i) const { return ints_[i]; }
    const std::string& text_at(uint32_t i) const { return texts_[i]; }
    std::string to_string(uint32_t i) const;

    // The ids at `keep` (old indexes, ascending), renumbered from 0.
    IdMap subset(const std::vector<uint32_t>& keep) const;

    // Reorders ids canonically (numeric or bytewise); returns old -> new index.
    std::vector<uint32_t> sort();

    // An estimate of the bytes held: the ids, and per id a hash-map node
    // and bucket (assumed 40 bytes).
    uint64_t memory_bytes() const;

    void write(ByteWriter& w) const;
    static IdMap read(ByteReader& r);

private:
    void set_kind(IdKind k);
    IdKind kind_ = IdKind::None;
    std::vector<int64_t> ints_;
    std::vector<std::string> texts_;
    std::unordered_map<int64_t, uint32_t> int_index_;
    std::unordered_map<std::string, uint32_t> text_index_;
};

}  // namespace recsys
