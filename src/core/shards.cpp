#include "shards.h"

#include <algorithm>
#include <cmath>

#include "errors.h"

namespace recsys {

namespace {

constexpr uint32_t kShardMagic = 0x31535352;  // "RSS1": one shard's rows, built
constexpr float kMaxWholeWeight = 16777216.0f;  // 2^24: every whole float up to it is exact

void put_varint(ByteWriter& w, uint64_t v) {
    uint8_t buf[10];
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) buf[n++] = uint8_t(v | 0x80);
    buf[n++] = uint8_t(v);
    w.append(buf, n);
}

uint64_t get_varint(ByteReader& r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        const auto b = r.get<uint8_t>();
        v |= uint64_t(b & 0x7F) << shift;
        if (!(b & 0x80)) return v;
    }
    throw corrupted("shard state is corrupted (varint too long)");
}

bool is_whole(float v) { return v >= 0 && v <= kMaxWholeWeight && v == std::floor(v); }

}  // namespace

std::vector<uint8_t> encode_shard(const Interactions& shard, const Context& ctx) {
    const CsrMatrix& m = shard.matrix;
    ByteWriter w(&ctx);
    w.put<uint32_t>(kShardMagic);
    shard.users.write(w);
    shard.items.write(w);
    w.put<uint64_t>(shard.rows_added);
    w.put<uint64_t>(shard.rows_skipped);
    const bool whole = std::all_of(m.values.begin(), m.values.end(), is_whole);
    w.put<uint8_t>(whole);
    for (uint32_t u = 0; u < m.rows; ++u) {
        if (u % 4096 == 0) ctx.check_cancel();
        auto items = m.row_indices(u);
        auto values = m.row_values(u);
        put_varint(w, items.size());
        for (size_t k = 0; k < items.size(); ++k) {
            put_varint(w, k == 0 ? items[0] : items[k] - items[k - 1] - 1);
            if (whole) put_varint(w, uint64_t(values[k]));
            else w.put<float>(values[k]);
        }
    }
    return std::move(w.bytes());
}

namespace {

Interactions read_shard(std::span<const uint8_t> bytes, const Context& ctx) {
    ByteReader r(bytes.data(), bytes.size(), &ctx);
    if (bytes.size() < 4 || r.get<uint32_t>() != kShardMagic) throw corrupted("not a recsys shard state");
    Interactions out;
    out.users = IdMap::read(r);
    out.items = IdMap::read(r);
    out.rows_added = r.get<uint64_t>();
    out.rows_skipped = r.get<uint64_t>();
    const bool whole = r.get<uint8_t>() != 0;
    CsrMatrix& m = out.matrix;
    m.rows = out.users.size();
    m.cols = out.items.size();
    m.indptr.assign(uint64_t(m.rows) + 1, 0);
    for (uint32_t u = 0; u < m.rows; ++u) {
        if (u % 4096 == 0) ctx.check_cancel();
        const uint64_t count = get_varint(r);
        if (count > m.cols || count > r.remaining()) throw corrupted("shard state is corrupted (row length)");
        uint64_t item = 0;
        for (uint64_t k = 0; k < count; ++k) {
            item = k == 0 ? get_varint(r) : item + 1 + get_varint(r);
            if (item >= m.cols) throw corrupted("shard state is corrupted (item index out of range)");
            const float value = whole ? float(get_varint(r)) : r.get<float>();
            if (!(std::isfinite(value) && value >= 0) || (whole && value > kMaxWholeWeight))
                throw corrupted("shard state is corrupted (invalid weight)");
            m.indices.push_back(uint32_t(item));
            m.values.push_back(value);
        }
        m.indptr[u + 1] = m.indices.size();
    }
    if (r.remaining() != 0) throw corrupted("shard state is corrupted (trailing bytes)");
    return out;
}

}  // namespace

Interactions decode_shard(std::span<const uint8_t> bytes, const Context& ctx) {
    try {
        return read_shard(bytes, ctx);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Corrupted) throw;
        throw Error(ErrorKind::Corrupted, e.what(),
                    "Pass what recsys_train_shard returned on each shard, unchanged (train_distributed() does).");
    }
}

Interactions merge_shards(std::span<const Interactions> shards, const Context& ctx) {
    uint64_t nnz = 0;
    for (const Interactions& s : shards) nnz += s.matrix.nnz();
    ctx.reserve(nnz * 8, "merging the shards' training rows");
    Interactions out;
    // Every id into one map, each user remembered with the shard row it
    // came from, then both maps sorted canonically (as build() sorts them).
    struct Origin {
        uint32_t shard;
        uint32_t row;
    };
    std::vector<Origin> origin;  // interned user index -> where its row is
    std::vector<std::vector<uint32_t>> item_maps(shards.size());
    auto intern = [](IdMap& into, const IdMap& from, uint32_t i) {
        return from.kind() == IdKind::Text ? into.intern(from.text_at(i)) : into.intern(from.int_at(i));
    };
    for (uint32_t s = 0; s < shards.size(); ++s) {
        ctx.check_cancel();
        const Interactions& shard = shards[s];
        for (uint32_t u = 0; u < shard.users.size(); ++u) {
            if (intern(out.users, shard.users, u) < origin.size())
                throw invalid_input("user " + shard.users.to_string(u) + " has rows in two shards",
                                    "Distribute the table by its user column (create_distributed_table(table, "
                                    "user column)), so that each user's rows are in one shard.");
            origin.push_back({s, u});
        }
        item_maps[s].resize(shard.items.size());
        for (uint32_t i = 0; i < shard.items.size(); ++i) item_maps[s][i] = intern(out.items, shard.items, i);
        out.rows_added += shard.rows_added;
        out.rows_skipped += shard.rows_skipped;
    }
    const std::vector<uint32_t> user_to_sorted = out.users.sort();
    const std::vector<uint32_t> item_to_sorted = out.items.sort();
    std::vector<Origin> by_sorted_user(origin.size());
    for (uint32_t u = 0; u < origin.size(); ++u) by_sorted_user[user_to_sorted[u]] = origin[u];
    for (auto& map : item_maps)
        for (uint32_t& i : map) i = item_to_sorted[i];

    CsrMatrix& m = out.matrix;
    m.rows = out.users.size();
    m.cols = out.items.size();
    m.indptr.assign(uint64_t(m.rows) + 1, 0);
    m.indices.reserve(nnz);
    m.values.reserve(nnz);
    for (uint32_t u = 0; u < m.rows; ++u) {
        if (u % 4096 == 0) ctx.check_cancel();
        const auto [s, row] = by_sorted_user[u];
        auto items = shards[s].matrix.row_indices(row);
        auto values = shards[s].matrix.row_values(row);
        for (size_t k = 0; k < items.size(); ++k) {
            const uint32_t item = item_maps[s][items[k]];
            // A shard's items are in canonical order, so its rows stay sorted.
            if (k > 0 && item <= m.indices.back())
                throw corrupted("shard state is corrupted (items not in canonical order)");
            m.indices.push_back(item);
            m.values.push_back(values[k]);
        }
        m.indptr[u + 1] = m.indices.size();
    }
    return out;
}

}  // namespace recsys
