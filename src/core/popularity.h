// Popularity: every user gets the best sellers. The baseline, and what
// unknown users get from every other model.
#pragma once

#include "model.h"

namespace recsys::popularity {

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

}  // namespace recsys::popularity
