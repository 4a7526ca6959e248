// Training over a table sharded by user (Citus, README "Scaling out with
// Citus"): each shard's rows are collected where the shard is, into that
// shard's part of the training matrix (its users' histories, duplicates
// summed as InteractionBuilder::build sums them), which is what crosses the
// network in a compact encoding; the coordinator merges the parts into the
// Interactions that building all the rows in one place gives, so the model
// trained from them is the single-node model, byte for byte, for every
// algorithm. Why histories rather than item statistics: DESIGN.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "context.h"
#include "interactions.h"

namespace recsys {

// One shard's built rows, encoded: ids (users and items, each shard's own),
// then per user its item count and items as gaps (varints), with weights as
// varints when every weight is a whole number up to 2^24 (counts; exact in a
// float), else as float32.
std::vector<uint8_t> encode_shard(const Interactions& shard, const Context& ctx = Context{});
// Throws corrupted for bytes encode_shard did not write.
Interactions decode_shard(std::span<const uint8_t> bytes, const Context& ctx = Context{});

// The union of shards whose users are disjoint (a table distributed by its
// user column): what InteractionBuilder::build gives for all their rows.
// Throws invalid_input if a user is in two shards (the summed weights of
// such a pair would depend on the split).
Interactions merge_shards(std::span<const Interactions> shards, const Context& ctx = Context{});

}  // namespace recsys
