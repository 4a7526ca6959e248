#include "id_map.h"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "errors.h"

namespace recsys {

namespace {

const char* kind_name(IdKind k) { return k == IdKind::Int ? "integer" : "text"; }

std::optional<int64_t> parse_int(std::string_view s) {
    int64_t v;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    // "007" and "+7" are different text ids from 7.
    if (std::to_string(v) != s) return std::nullopt;
    return v;
}

}  // namespace

void IdMap::set_kind(IdKind k) {
    if (kind_ == k) return;
    if (kind_ != IdKind::None)
        throw invalid_input(std::string("cannot mix ") + kind_name(kind_) + " and " + kind_name(k) +
                            " ids in one column", "Cast the id column to one type.");
    kind_ = k;
}

uint32_t IdMap::intern(int64_t id) {
    set_kind(IdKind::Int);
    auto [it, added] = int_index_.try_emplace(id, uint32_t(ints_.size()));
    if (added) {
        if (ints_.size() >= UINT32_MAX) throw invalid_input("more than 4294967294 distinct ids");
        ints_.push_back(id);
    }
    return it->second;
}

uint32_t IdMap::intern(std::string_view id) {
    set_kind(IdKind::Text);
    auto it = text_index_.find(std::string(id));
    if (it != text_index_.end()) return it->second;
    if (texts_.size() >= UINT32_MAX) throw invalid_input("more than 4294967294 distinct ids");
    uint32_t i = uint32_t(texts_.size());
    texts_.emplace_back(id);
    text_index_.emplace(texts_.back(), i);
    return i;
}

std::optional<uint32_t> IdMap::find(int64_t id) const {
    if (kind_ == IdKind::Text) return find(std::to_string(id));
    auto it = int_index_.find(id);
    if (it == int_index_.end()) return std::nullopt;
    return it->second;
}

std::optional<uint32_t> IdMap::find(std::string_view id) const {
    if (kind_ == IdKind::Int) {
        auto v = parse_int(id);
        return v ? find(*v) : std::nullopt;
    }
    auto it = text_index_.find(std::string(id));
    if (it == text_index_.end()) return std::nullopt;
    return it->second;
}

std::string IdMap::to_string(uint32_t i) const {
    return kind_ == IdKind::Text ? texts_[i] : std::to_string(ints_[i]);
}

IdMap IdMap::subset(const std::vector<uint32_t>& keep) const {
    IdMap out;
    out.kind_ = kind_;
    for (uint32_t i : keep) {
        if (kind_ == IdKind::Text) out.intern(texts_[i]);
        else out.intern(ints_[i]);
    }
    return out;
}

std::vector<uint32_t> IdMap::sort() {
    const uint32_t n = size();
    std::vector<uint32_t> order(n);  // order[new] = old
    std::iota(order.begin(), order.end(), 0u);
    if (kind_ == IdKind::Int)
        std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ints_[a] < ints_[b]; });
    else
        std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return texts_[a] < texts_[b]; });
    std::vector<uint32_t> old_to_new(n);
    for (uint32_t i = 0; i < n; ++i) old_to_new[order[i]] = i;
    if (kind_ == IdKind::Int) {
        std::vector<int64_t> sorted(n);
        for (uint32_t i = 0; i < n; ++i) sorted[i] = ints_[order[i]];
        ints_ = std::move(sorted);
        for (auto& [id, idx] : int_index_) idx = old_to_new[idx];
    } else {
        std::vector<std::string> sorted(n);
        for (uint32_t i = 0; i < n; ++i) sorted[i] = std::move(texts_[order[i]]);
        texts_ = std::move(sorted);
        for (auto& [id, idx] : text_index_) idx = old_to_new[idx];
    }
    return old_to_new;
}

void IdMap::write(ByteWriter& w) const {
    w.put<uint8_t>(uint8_t(kind_));
    if (kind_ == IdKind::Text) {
        w.put<uint64_t>(texts_.size());
        for (const auto& s : texts_) w.put_string(s);
    } else {
        w.put_array(ints_);
    }
}

IdMap IdMap::read(ByteReader& r) {
    IdMap m;
    auto kind = r.get<uint8_t>();
    if (kind > uint8_t(IdKind::Text)) throw corrupted("model is corrupted (unknown id type)");
    m.kind_ = IdKind(kind);
    if (m.kind_ == IdKind::Text) {
        uint64_t n = r.get<uint64_t>();
        if (n > r.remaining() / 4) throw corrupted("model is truncated or corrupted (id count out of range)");
        m.texts_.reserve(n);
        m.text_index_.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
            m.texts_.push_back(r.get_string());
            if (!m.text_index_.emplace(m.texts_.back(), uint32_t(i)).second)
                throw corrupted("model is corrupted (duplicate id)");
        }
    } else {
        m.ints_ = r.get_array<int64_t>(UINT32_MAX);
        m.int_index_.reserve(m.ints_.size());
        for (uint64_t i = 0; i < m.ints_.size(); ++i)
            if (!m.int_index_.emplace(m.ints_[i], uint32_t(i)).second)
                throw corrupted("model is corrupted (duplicate id)");
        if (m.kind_ == IdKind::None && !m.ints_.empty()) throw corrupted("model is corrupted (ids without a type)");
    }
    return m;
}

uint64_t IdMap::memory_bytes() const {
    uint64_t bytes = ints_.size() * sizeof(int64_t) + texts_.size() * sizeof(std::string);
    for (const std::string& t : texts_)  // strings past the in-place buffer hold them twice (ids and index)
        if (t.size() > 15) bytes += 2 * (t.size() + 1);
    return bytes + uint64_t(size()) * (40 + (kind_ == IdKind::Text ? sizeof(std::string) : sizeof(int64_t)));
}

}  // namespace recsys
