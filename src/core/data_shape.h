// The shape of the training data, for the defaults that depend on it: the
// one test of "sparse data" every algorithm uses (README, "Defaults").
#pragma once

#include "csr.h"

namespace recsys {

// Sparse data: fewer than 10 buyers per item on average, and fewer than 0.4%
// of all (user, item) pairs bought. There most pairs of items share one
// buyer, so whatever one common buyer means weighs too much: on the grocery
// panel sample (complete-journey: 3 buyers per item, density 0.13%;
// bench/accuracy.sh defaults) item-kNN's BM25 cosine, RP3beta's normalised
// walk, EASE's λ 100 and ALS's λ 10 all rank below popularity. The shop and
// click data sets (55-575 buyers per item, density 1.3-2.4%) are not
// sparse. Small dense data (a handful of users) is not sparse either: one
// common buyer among few means something. x: users x items.
inline bool is_sparse(const CsrMatrix& x) {
    const double pairs = double(x.nnz());
    return pairs < 10.0 * double(x.cols) && pairs < 0.004 * double(x.rows) * double(x.cols);
}

}  // namespace recsys
