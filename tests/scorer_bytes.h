// For the tests of the factor models (ALS, BPR): a training row as a
// basket, and a scorer's payload written and read back.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "byte_io.h"
#include "csr.h"
#include "errors.h"
#include "model.h"

namespace scorer_bytes {

// Row u of x with its weights.
inline recsys::Basket history(const recsys::CsrMatrix& x, uint32_t u) {
    recsys::Basket b;
    for (uint64_t k = x.indptr[u]; k < x.indptr[u + 1]; ++k) {
        b.items.push_back(x.indices[k]);
        b.weights.push_back(x.values[k]);
    }
    return b;
}

inline std::vector<uint8_t> payload(const recsys::Scorer& s) {
    recsys::ByteWriter w;
    s.write(w);
    return w.bytes();
}

// Reads a payload with `read` (als::read, bpr::read); bytes left over are
// corruption, as Model::deserialize has it.
template <typename Read>
std::unique_ptr<recsys::Scorer> read_whole(Read read, const std::vector<uint8_t>& bytes, uint32_t n_users,
                                           uint32_t n_items) {
    recsys::ByteReader r(bytes.data(), bytes.size());
    auto s = read(r, n_users, n_items);
    if (r.remaining() != 0) throw recsys::corrupted("trailing bytes");
    return s;
}

}  // namespace scorer_bytes
