// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW
// 2019): a closed-form item-item model. With the Gram matrix G = XᵀX and
// P = (G + λI)⁻¹, the weights are B = I − P·diag(1/diag(P)), i.e.
// B[j,k] = −P[j,k] / P[k,k] off the diagonal and 0 on it. A user's (or a
// basket's) score for item k is Σ_j x_j·B[j,k].
//
// Parameters: kParams in ease.cpp (README, algorithm_parameters()).
//
// Training needs two dense items × items float64 matrices at once; it is
// refused, before allocating, when they exceed the memory limit. B is kept
// as float32 (items² × 4 bytes in the model), or compressed ("compression":
// float16 or int8, "top_m": each row's m weights of largest magnitude;
// compression.h), and scored as kept.
//
// Scores may be negative. zero_means_unknown() is true: only items with a
// positive score count as recommended by the model, the rest of the top k
// (items outside max_items, or ones the basket argues against) is filled by
// popularity.
//
// similar(i): B[i, :], the scores a basket holding only i gives every item.
// explain(basket, k): the terms x_j·B[j,k] of k's score, one per basket item.
#pragma once

#include "model.h"

namespace recsys::ease {

extern const Algorithm algorithm;

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::ease
