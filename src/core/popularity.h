// Popularity: every user gets the best sellers. The baseline, and what
// unknown users get from every other model.
#pragma once

#include "model.h"

namespace recsys::popularity {

extern const Algorithm algorithm;

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

// Distinct buyers per item with the Laplace mechanism: each user counts for
// at most `bound` of their items (a seeded random choice), so the counts have
// sensitivity `bound`, and the noisy counts (clamped at 0) are epsilon-DP.
std::vector<double> private_counts(const CsrMatrix& x, double epsilon, int64_t bound, uint64_t seed);

}  // namespace recsys::popularity
