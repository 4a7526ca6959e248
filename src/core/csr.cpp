#include "csr.h"

namespace recsys {

CsrMatrix CsrMatrix::transpose() const {
    CsrMatrix t;
    t.rows = cols;
    t.cols = rows;
    t.indptr.assign(uint64_t(cols) + 1, 0);
    for (uint32_t c : indices) ++t.indptr[c + 1];
    for (uint32_t c = 0; c < cols; ++c) t.indptr[c + 1] += t.indptr[c];
    t.indices.resize(nnz());
    t.values.resize(nnz());
    std::vector<uint64_t> next(t.indptr.begin(), t.indptr.end() - 1);
    // Rows are visited in order, so each transposed row comes out sorted.
    for (uint32_t r = 0; r < rows; ++r) {
        for (uint64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
            uint64_t q = next[indices[p]]++;
            t.indices[q] = r;
            t.values[q] = values[p];
        }
    }
    return t;
}

}  // namespace recsys
