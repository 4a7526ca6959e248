// Collecting (user, item, weight) rows into a user x item matrix.
//
// Three separate steps, so that partial aggregation (parallel workers, or a
// distributed engine) can reuse them: add rows to a builder, merge builders
// (through a compact byte encoding), and build the final matrix.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "byte_io.h"
#include "context.h"
#include "csr.h"
#include "id_map.h"

namespace recsys {

// The training data: ids in canonical order and X (users x items) with
// duplicate pairs summed.
struct Interactions {
    IdMap users;
    IdMap items;
    CsrMatrix matrix;
    uint64_t rows_added = 0;    // input rows that were kept
    uint64_t rows_skipped = 0;  // input rows skipped for a NULL id or weight
};

class InteractionBuilder {
public:
    // Throws invalid_input for a negative or non-finite weight.
    template <typename U, typename I>
    void add(U user, I item, double weight) {
        check_weight(weight);
        entries_.push_back({users_.intern(user), items_.intern(item), weight});
    }
    void skip() { ++skipped_; }

    void merge(const InteractionBuilder& other);
    void write(ByteWriter& w) const;
    static InteractionBuilder read(ByteReader& r);

    // Sorts ids canonically and sums duplicates, so the result does not
    // depend on row order or on how the rows were split among workers.
    Interactions build(const Context& ctx) const;

    uint64_t rows() const { return entries_.size(); }
    uint64_t bytes() const;

private:
    struct Entry {
        uint32_t user;
        uint32_t item;
        double weight;
    };
    static void check_weight(double w);
    IdMap users_;
    IdMap items_;
    std::vector<Entry> entries_;
    uint64_t skipped_ = 0;
};

}  // namespace recsys
