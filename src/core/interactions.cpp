#include "interactions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "errors.h"

namespace recsys {

namespace {
constexpr uint32_t kStateMagic = 0x52534931;  // "RSI1": partial aggregate state
// Weights are kept as 32-bit floats in the model.
constexpr double kMaxWeight = std::numeric_limits<float>::max();
constexpr const char* kScaleDown = "Scale the weights down, e.g. with log_weight(weight) or clip_weight(weight, cap).";
}  // namespace

void InteractionBuilder::check_weight(double w) {
    if (std::isfinite(w) && w >= 0 && w <= kMaxWeight) return;
    char buf[64];
    if (std::isnan(w)) std::snprintf(buf, sizeof buf, "NaN");
    else if (std::isinf(w)) std::snprintf(buf, sizeof buf, w > 0 ? "Infinity" : "-Infinity");
    else std::snprintf(buf, sizeof buf, "%g", w);
    if (w > kMaxWeight && std::isfinite(w))
        throw invalid_input(std::string("invalid weight ") + buf + ": weights must be at most 3.40282e+38 (a float)",
                            kScaleDown);
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

    // The entries in (user, item, weight) order: bucketed by user (a counting
    // sort), then each user's sorted. Sorting by weight too fixes the order
    // duplicates are summed in, so the sum does not depend on row order.
    CsrMatrix& m = out.matrix;
    m.rows = out.users.size();
    m.cols = out.items.size();
    std::vector<uint64_t> start(uint64_t(m.rows) + 1, 0);
    for (const Entry& e : entries_) ++start[user_map[e.user] + 1];
    for (uint32_t u = 0; u < m.rows; ++u) start[u + 1] += start[u];
    // Not a vector, which would be zeroed first, with no check for cancel.
    std::unique_ptr<Entry[]> sorted(new Entry[entries_.size()]);
    {
        std::vector<uint64_t> next(start.begin(), start.end() - 1);
        for (size_t k = 0; k < entries_.size(); ++k) {
            if (k % 65536 == 0) ctx.check_cancel();
            const uint32_t u = user_map[entries_[k].user];
            sorted[next[u]++] = {u, item_map[entries_[k].item], entries_[k].weight};
        }
    }
    m.indptr.assign(uint64_t(m.rows) + 1, 0);
    for (uint32_t u = 0; u < m.rows; ++u) {
        if (u % 4096 == 0) ctx.check_cancel();
        Entry* const first = sorted.get() + start[u];
        Entry* const last = sorted.get() + start[u + 1];
        std::sort(first, last, [](const Entry& a, const Entry& b) {
            return a.item != b.item ? a.item < b.item : a.weight < b.weight;
        });
        for (auto e = first; e != last;) {
            const uint32_t item = e->item;
            double sum = 0;
            for (; e != last && e->item == item; ++e) sum += e->weight;
            if (sum > kMaxWeight) {
                char text[32];
                std::snprintf(text, sizeof text, "%g", sum);
                throw invalid_input("the summed weight of user " + out.users.to_string(u) + " and item " +
                                        out.items.to_string(item) + ", " + text +
                                        ", is more than 3.40282e+38, the largest a float holds",
                                    kScaleDown);
            }
            m.indices.push_back(item);
            m.values.push_back(float(sum));
        }
        m.indptr[u + 1] = m.indices.size();
    }
    out.rows_added = entries_.size();
    out.rows_skipped = skipped_;
    return out;
}

}  // namespace recsys
