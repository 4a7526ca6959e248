// Recommendations and offline evaluation for many users at once.
//
// Users are scored in blocks on ctx.threads threads (through
// Scorer::score_block, so a factor model can score a block with one matrix
// product); each user's ranking is exactly what recommend_user gives. Only
// one block of results is held in memory at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "context.h"
#include "metrics.h"
#include "model.h"
#include "recommend.h"

namespace recsys {

// Receives one user's recommendations (best first). Called on the thread
// that called recommend_all only, never concurrently; the span is valid
// during the call only.
using RecommendationSink = std::function<void(uint32_t user, std::span<const Recommendation> recs)>;

// Recommends for every user in `users` (model user indexes, each <
// model.n_users(); repeats allowed) and hands each result to `sink`, in
// the order of `users`. Each result equals recommend_user(model, user,
// options). Users are scored `block_size` at a time (0 is taken as 1): a
// block is scored on ctx.threads threads, then passed to the sink, then the
// next block is scored. ctx.check_cancel() is polled on the calling thread
// between chunks of work. Throws invalid_input for a user, candidate or
// excluded item index out of range (before calling the sink at all).
void recommend_all(const Model& model, std::span<const uint32_t> users, const RecommendOptions& options,
                   const Context& ctx, const RecommendationSink& sink, size_t block_size = 1024);

// Held-out interactions, already mapped to the model's indexes by the
// caller, one entry per test user.
class TestSet {
public:
    // `user`: the model's index of the user, or empty for a user the model
    // has never seen. `items`: the user's test items as model item indexes;
    // an item the model has never seen gets an index >= model.n_items()
    // (one distinct index per distinct unknown item, e.g. n_items + j): it
    // counts towards |test_u| but can never be hit. Duplicates count once;
    // a user with no items is counted as skipped.
    void add(std::optional<uint32_t> user, std::span<const uint32_t> items);

    size_t size() const { return users_.size(); }
    std::optional<uint32_t> user(size_t i) const { return users_[i]; }
    std::span<const uint32_t> items(size_t i) const {
        return std::span<const uint32_t>(items_).subspan(offsets_[i], offsets_[i + 1] - offsets_[i]);
    }

private:
    std::vector<std::optional<uint32_t>> users_;
    std::vector<uint64_t> offsets_{0};
    std::vector<uint32_t> items_;
};

struct EvaluationResult {
    RankingMetricsResult all;      // every evaluated user
    RankingMetricsResult known;    // users the model knows, ranked by the model
    RankingMetricsResult unknown;  // users unknown to the model, ranked by popularity
    uint64_t users = 0;            // users evaluated (all.users)
    uint64_t unknown_users = 0;    // of which unknown to the model (unknown.users)
    uint64_t skipped_users = 0;    // test users with no test items, not evaluated (all.skipped_users)
};

// Ranks every test user's top k as recommend_user(model, user, {k,
// exclude_seen}) would (known users: their training items excluded unless
// exclude_seen is false, as for a ranker serving re-buys; unknown users: the
// popularity ranking) and scores the rankings against the test items. The
// result does not depend on ctx.threads or block_size. Throws invalid_input
// for k < 1 or a user index out of range.
EvaluationResult evaluate(const Model& model, const TestSet& test, size_t k, const Context& ctx,
                          size_t block_size = 1024, bool exclude_seen = true);

}  // namespace recsys
