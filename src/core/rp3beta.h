// RP3beta (Paudel et al. 2017, "Updatable, accurate, diverse, and scalable
// recommendations for interactive applications"): a three-step random walk
// item -> user -> item on the bipartite purchase graph, each step's
// transition probability raised to the power alpha (P^3_alpha, Cooper et al.
// 2014), the arrival item's probability divided by its popularity^beta.
//
// On the binary graph (every stored pair is an edge, whatever its weight),
// with U_i the buyers of item i and I_u the items of user u:
//   P(i -> u) = 1 / |U_i|,  P(u -> j) = 1 / |I_u|
//   W[i, j] = |U_j|^-beta * sum over u in U_i n U_j of P(i -> u)^alpha P(u -> j)^alpha
//           = |U_i|^-alpha |U_j|^-beta * sum over u in U_i n U_j of |I_u|^-alpha,   W[i, i] = 0
// Each row i then keeps its `neighbours` largest weights (ties: the smaller
// item index) and, with "normalise" (the default, as in the reference
// implementation of Dacrema et al. 2019), is divided by its sum, so every
// basket item spreads the same total weight.
// A user's (or basket's) score for item j is the sum over their items i of
// W[i, j], each item counting 1: item-kNN's scorer, shared (itemknn.h).
// Training is deterministic: the same model bytes for any thread count.
#pragma once

#include "model.h"

namespace recsys::rp3beta {

extern const Algorithm algorithm;

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::rp3beta
