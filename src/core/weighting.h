// Interaction weighting: turning raw quantities, ages and counts into the
// confidence weights that training uses. Each function also stands alone.
//
// Every function throws invalid_input for a NaN or infinite argument and
// for a parameter outside its documented range. Matrix functions change
// the values of a users x items CsrMatrix in place (never its structure);
// they check everything first, so on error the matrix is unchanged.
// Matrix values must be finite and >= 0.
#pragma once

#include "csr.h"

namespace recsys {

// Log scaling of a quantity (e.g. units bought), Hu, Koren & Volinsky 2008:
//   w = 1 + alpha * ln(1 + quantity / eps)
// quantity >= 0, alpha >= 0, eps > 0.
double log_scale(double quantity, double alpha, double eps);
void log_scale(CsrMatrix& m, double alpha, double eps);

// Exponential time decay: the weight halves every half_life seconds.
//   w' = w * 2^(-age / half_life),   age = reference_time - event_time
// Times are in seconds (e.g. extract(epoch from ...)); half_life > 0,
// weight >= 0. An event after the reference time (age < 0, e.g. clock skew)
// is treated as age 0: it keeps its weight and is never boosted.
double time_decay(double weight, double event_time, double reference_time, double half_life);

// Outlier clipping: min(weight, cap), cap >= 0.
double clip_weight(double weight, double cap);
void clip_weights(CsrMatrix& m, double cap);
// A cap taken from the data: percentile_cont(fraction) (see scaling.h) of
// the matrix's stored values, e.g. 0.99 to clip the top 1%. Throws
// invalid_input for an empty matrix.
double quantile_cap(const CsrMatrix& m, double fraction);

// Rows are documents (users) and columns are terms (items); pass a
// transposed matrix to weight the other way. With N = m.rows,
// df_j = number of stored entries in column j and
//   idf_j = ln(N / df_j)
// (an item every user has gets idf 0; the `implicit` library uses
// ln(N / (1 + df_j)) instead, which can go negative.)

// TF-IDF as in `implicit`'s tfidf_weight (square-root damped counts):
//   w'_uj = sqrt(w_uj) * idf_j
void tfidf_weight(CsrMatrix& m);

// BM25 as in `implicit`'s bm25_weight, with len_u = sum of row u's values
// and avg_len = mean of len_u over all N rows (empty rows included):
//   w'_uj = w_uj * (k1 + 1) / (w_uj + k1 * (1 - b + b * len_u / avg_len)) * idf_j
// k1 >= 0 (saturation), 0 <= b <= 1 (length normalisation). A stored 0
// stays 0.
void bm25_weight(CsrMatrix& m, double k1 = 1.2, double b = 0.75);

}  // namespace recsys
