// Compressed sparse row matrix: the one sparse layout the core uses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

struct CsrMatrix {
    uint32_t rows = 0;
    uint32_t cols = 0;
    std::vector<uint64_t> indptr{0};  // rows + 1 offsets into indices/values
    std::vector<uint32_t> indices;    // column of each entry, sorted within a row
    std::vector<float> values;

    uint64_t nnz() const { return indices.size(); }
    uint32_t row_size(uint32_t r) const { return uint32_t(indptr[r + 1] - indptr[r]); }
    std::span<const uint32_t> row_indices(uint32_t r) const {
        return {indices.data() + indptr[r], indices.data() + indptr[r + 1]};
    }
    std::span<const float> row_values(uint32_t r) const {
        return {values.data() + indptr[r], values.data() + indptr[r + 1]};
    }
    uint64_t bytes() const {
        return indptr.size() * sizeof(uint64_t) + indices.size() * sizeof(uint32_t) +
               values.size() * sizeof(float);
    }

    // Column-major view of the same matrix, as another CSR (cols x rows).
    CsrMatrix transpose() const;
};

}  // namespace recsys
