// The shape of the training data, for the defaults that depend on it: the
// tests of "sparse data" and "dense data" every algorithm uses (README,
// "Defaults on every data set").
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

// Dense data: at least 3% of all (user, item) pairs bought, and at least 50
// buyers per item on average. There a user's history covers a large share
// of the catalogue and popularity is hard to beat: on six synthetic dense
// sets (bench/synthetic_pairs.py, the 20-item one included: 3.6-19% of
// pairs, 75-386 buyers per item; bench/accuracy.sh dense) ALS's λ 10 and
// BPR's regularisation 0.001 fit noise, EASE's λ 100 is too small where
// popularity is steep, and BM25's discount of popular basket items ranks
// niche items first: each ranks below popularity on some of them. The shared
// data sets (1.3-2.4% of pairs) are not dense. Nor is data with fewer buyers
// per item, whatever its density: there λ 30 is too strong (the als
// regression test's 200 customers in two groups of 12 items, at most 42
// buyers per item: 3 of 5 recommended items from the customer's own group
// where λ 10 gives 5 of 5). x: users x items.
inline bool is_dense(const CsrMatrix& x) {
    const double pairs = double(x.nnz());
    return pairs > 0 && pairs >= 50.0 * double(x.cols) && pairs >= 0.03 * double(x.rows) * double(x.cols);
}

// The three shapes, for algorithms with defaults for both ends.
enum class Shape { Sparse, Normal, Dense };

inline Shape shape_of(const CsrMatrix& x) {
    return is_sparse(x) ? Shape::Sparse : is_dense(x) ? Shape::Dense : Shape::Normal;
}

}  // namespace recsys
