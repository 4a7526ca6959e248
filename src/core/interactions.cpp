#include "interactions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "errors.h"

namespace recsys {

namespace {
constexpr uint32_t kStateMagic = 0x52534931;  // "RSI1": partial aggregate state
}

void InteractionBuilder::check_weight(double w) {
    if (std::isfinite(w) && w >= 0) return;
    char buf[64];
    if (std::isnan(w)) std::snprintf(buf, sizeof buf, "NaN");
    else if (std::isinf(w)) std::snprintf(buf, sizeof buf, w > 0 ? "Infinity" : "-Infinity");
    else std::snprintf(buf, sizeof buf, "%g", w);
    throw invalid_input(std::string("invalid weight ") + buf + ": weights must be finite and not negative",
                        "Filter such rows out (e.g. WHERE quantity > 0), or clip them with greatest(weight, 0).");
}

uint64_t InteractionBuilder::bytes() const {
    return entries_.capacity() * sizeof(Entry) + (users_.size() + items_.size()) * 48;
}

void InteractionBuilder::merge(const InteractionBuilder& other) {
    std::vector<uint32_t> user_map(other.users_.size()), item_map(other.items_.size());
    auto remap = [](IdMap& into, const IdMap& from, std::vector<uint32_t>& map) {
        for (uint32_t i = 0; i < from.size(); ++i)
            map[i] = from.kind() == IdKind::Text ? into.intern(from.text_at(i)) : into.intern(from.int_at(i));
    };
    remap(users_, other.users_, user_map);
    remap(items_, other.items_, item_map);
    entries_.reserve(entries_.size() + other.entries_.size());
    for (const auto& e : other.entries_) entries_.push_back({user_map[e.user], item_map[e.item], e.weight});
    skipped_ += other.skipped_;
}

void InteractionBuilder::write(ByteWriter& w) const {
    w.put<uint32_t>(kStateMagic);
    users_.write(w);
    items_.write(w);
    w.put<uint64_t>(skipped_);
    w.put<uint64_t>(entries_.size());
    for (const auto& e : entries_) {
        w.put<uint32_t>(e.user);
        w.put<uint32_t>(e.item);
        w.put<double>(e.weight);
    }
}

InteractionBuilder InteractionBuilder::read(ByteReader& r) {
    if (r.get<uint32_t>() != kStateMagic) throw corrupted("not a recsys partial aggregate state");
    InteractionBuilder b;
    b.users_ = IdMap::read(r);
    b.items_ = IdMap::read(r);
    b.skipped_ = r.get<uint64_t>();
    uint64_t n = r.get<uint64_t>();
    if (n > r.remaining() / 16) throw corrupted("partial aggregate state is truncated");
    b.entries_.resize(n);
    for (auto& e : b.entries_) {
        e.user = r.get<uint32_t>();
        e.item = r.get<uint32_t>();
        e.weight = r.get<double>();
        if (!(std::isfinite(e.weight) && e.weight >= 0))
            throw corrupted("partial aggregate state is corrupted (invalid weight)");
        if (e.user >= b.users_.size() || e.item >= b.items_.size())
            throw corrupted("partial aggregate state is corrupted (index out of range)");
    }
    return b;
}

Interactions InteractionBuilder::build(const Context& ctx) const {
    ctx.reserve(entries_.size() * (sizeof(Entry) + 8), "collecting the interactions");
    Interactions out;
    out.users = users_;
    out.items = items_;
    auto user_map = out.users.sort();
    auto item_map = out.items.sort();

    std::vector<Entry> sorted(entries_.size());
    for (size_t k = 0; k < entries_.size(); ++k)
        sorted[k] = {user_map[entries_[k].user], item_map[entries_[k].item], entries_[k].weight};
    ctx.check_cancel();
    // Sorting by weight too fixes the order duplicates are summed in, so the
    // sum does not depend on row order.
    std::sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
        if (a.user != b.user) return a.user < b.user;
        if (a.item != b.item) return a.item < b.item;
        return a.weight < b.weight;
    });
    ctx.check_cancel();

    CsrMatrix& m = out.matrix;
    m.rows = out.users.size();
    m.cols = out.items.size();
    m.indptr.assign(uint64_t(m.rows) + 1, 0);
    for (size_t k = 0; k < sorted.size();) {
        const Entry& e = sorted[k];
        double sum = 0;
        for (; k < sorted.size() && sorted[k].user == e.user && sorted[k].item == e.item; ++k) sum += sorted[k].weight;
        m.indices.push_back(e.item);
        m.values.push_back(float(sum));
        ++m.indptr[e.user + 1];
    }
    for (uint32_t r = 0; r < m.rows; ++r) m.indptr[r + 1] += m.indptr[r];
    out.rows_added = entries_.size();
    out.rows_skipped = skipped_;
    return out;
}

}  // namespace recsys
