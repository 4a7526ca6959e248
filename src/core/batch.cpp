#include "batch.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "errors.h"
#include "parallel.h"
#include "topk.h"

namespace recsys {

namespace {

// Scores kept per worker: enough rows to let score_block amortise its work
// (a factor model's matrix product), few enough to stay in the L2 cache
// while they are ranked (bench/batch_core: 4 MB blocks were slower than
// scoring user by user with item-kNN; 256 KB-1 MB about even or faster).
constexpr size_t kScoreBufferBytes = size_t(512) << 10;
constexpr size_t kMaxRowsPerChunk = 64;

// One worker's reusable buffers (and, for evaluation, its accumulators).
struct Scratch {
    std::vector<float> scores;     // rows x n_items
    std::vector<uint8_t> allowed;  // n_items
    std::vector<Basket> baskets;
    std::vector<uint32_t> users;
    std::vector<uint32_t> ranked;
    std::optional<RankingMetrics> known, unknown;
};

// Hands each running chunk a Scratch of its own; at most one per thread is
// ever created, and they are kept for the whole call.
class ScratchPool {
public:
    std::unique_ptr<Scratch> acquire() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.empty()) return std::make_unique<Scratch>();
        auto s = std::move(free_.back());
        free_.pop_back();
        return s;
    }
    void release(std::unique_ptr<Scratch> s) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(s));
    }
    std::vector<std::unique_ptr<Scratch>>& all() { return free_; }  // once no chunk runs

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<Scratch>> free_;
};

// Scores users a chunk at a time (one score_block call) and ranks them
// with the shared Ranker.
class BatchRanker {
public:
    BatchRanker(const Model& model, const RecommendOptions& options) : model_(model), ranker_(model, options) {
        const size_t n = std::max<size_t>(model.n_items(), 1);
        rows_ = std::clamp<size_t>(kScoreBufferBytes / (sizeof(float) * n), 1, kMaxRowsPerChunk);
    }

    // Users scored together in one score_block call.
    size_t rows_per_chunk() const { return rows_; }

    // Bytes one Scratch takes (for the memory limit).
    uint64_t scratch_bytes(bool with_metrics) const {
        const uint64_t n = model_.n_items();
        return rows_ * n * sizeof(float) + n + (with_metrics ? 2 * ((n + 63) / 64) * 8 : 0);
    }

    // What recommend_user(model, nullopt, options) returns.
    std::vector<Recommendation> rank_unknown() const {
        std::vector<uint8_t> allowed;
        std::vector<Recommendation> out;
        ranker_.rank({}, {}, allowed, out);
        return out;
    }

    // out[r] = recommend_user(model, users[r], options); users.size() <= rows_per_chunk().
    void rank_known(std::span<const uint32_t> users, std::span<std::vector<Recommendation>> out, Scratch& s) const {
        const uint32_t n = model_.n_items();
        const size_t rows = users.size();
        s.baskets.resize(rows);
        for (size_t r = 0; r < rows; ++r) s.baskets[r] = model_.history_of(users[r]);
        s.scores.assign(rows * size_t(n), 0.0f);
        model_.scorer->score_block(std::span<const Basket>(s.baskets.data(), rows), users, n, s.scores);
        for (size_t r = 0; r < rows; ++r)
            ranker_.rank(std::span<const float>(s.scores.data() + r * size_t(n), n), s.baskets[r].items, s.allowed,
                         out[r]);
    }

private:
    const Model& model_;
    Ranker ranker_;
    size_t rows_ = 1;
};

void check_user(const Model& model, uint32_t user) {
    if (user >= model.n_users())
        throw invalid_input("user index " + std::to_string(user) + " is outside the model's " +
                            std::to_string(model.n_users()) + " users");
}

void reserve_scratch(const Context& ctx, const BatchRanker& ranker, bool with_metrics) {
    ctx.reserve(uint64_t(std::max(1, ctx.threads)) * ranker.scratch_bytes(with_metrics), "batch scoring buffers",
                "Raise recsys.memory_limit, or use fewer threads.");
}

}  // namespace

void recommend_all(const Model& model, std::span<const uint32_t> users, const RecommendOptions& options,
                   const Context& ctx, const RecommendationSink& sink, size_t block_size) {
    for (uint32_t u : users) check_user(model, u);
    BatchRanker ranker(model, options);
    reserve_scratch(ctx, ranker, false);
    block_size = std::max<size_t>(block_size, 1);
    ScratchPool pool;
    std::vector<std::vector<Recommendation>> results;
    for (size_t begin = 0; begin < users.size(); begin += block_size) {
        ctx.check_cancel();
        auto block = users.subspan(begin, std::min(block_size, users.size() - begin));
        results.resize(block.size());
        parallel_for(
            block.size(), ctx,
            [&](uint64_t b, uint64_t e) {
                auto scratch = pool.acquire();
                ranker.rank_known(block.subspan(b, e - b), std::span(results).subspan(b, e - b), *scratch);
                pool.release(std::move(scratch));
            },
            ranker.rows_per_chunk());
        for (size_t r = 0; r < block.size(); ++r) sink(block[r], results[r]);
    }
}

void TestSet::add(std::optional<uint32_t> user, std::span<const uint32_t> items) {
    users_.push_back(user);
    items_.insert(items_.end(), items.begin(), items.end());
    offsets_.push_back(items_.size());
}

EvaluationResult evaluate(const Model& model, const TestSet& test, size_t k, const Context& ctx,
                          size_t block_size, bool exclude_seen) {
    if (k < 1 || k > (size_t(1) << 31))
        throw invalid_input("k must be between 1 and 2147483648, got " + std::to_string(k),
                            "Pass the number of recommendations per user to evaluate, e.g. 10.");
    for (size_t t = 0; t < test.size(); ++t)
        if (auto u = test.user(t)) check_user(model, *u);
    RecommendOptions options;
    options.k = k;
    options.exclude_seen = exclude_seen;
    BatchRanker ranker(model, options);
    reserve_scratch(ctx, ranker, true);
    const uint32_t n_items = model.n_items();

    // Every unknown user gets the same ranking.
    std::vector<uint32_t> unknown_ranking;
    for (const auto& r : ranker.rank_unknown()) unknown_ranking.push_back(r.item);

    // Each worker accumulates into its own Scratch's metrics; the sums are
    // exact, so merging them gives the same result whoever scored whom.
    ScratchPool pool;
    block_size = std::max<size_t>(block_size, 1);
    for (size_t begin = 0; begin < test.size(); begin += block_size) {
        ctx.check_cancel();
        const size_t end = std::min(test.size(), begin + block_size);
        parallel_for(
            end - begin, ctx,
            [&](uint64_t b, uint64_t e) {
                auto s = pool.acquire();
                if (!s->known) {
                    s->known.emplace(int64_t(k), n_items);
                    s->unknown.emplace(int64_t(k), n_items);
                }
                s->users.clear();
                std::vector<size_t> known_entries;
                for (size_t t = begin + b; t < begin + e; ++t) {
                    auto items = test.items(t);
                    auto user = test.user(t);
                    if (!user) {
                        s->unknown->add_user(unknown_ranking, items);
                    } else if (items.empty()) {
                        s->known->add_user({}, items);  // counted as skipped; no need to score
                    } else {
                        s->users.push_back(*user);
                        known_entries.push_back(t);
                    }
                }
                std::vector<std::vector<Recommendation>> recs(s->users.size());
                // rank_known takes at most rows_per_chunk users, which is the chunk size.
                ranker.rank_known(s->users, recs, *s);
                for (size_t r = 0; r < recs.size(); ++r) {
                    s->ranked.clear();
                    for (const auto& rec : recs[r]) s->ranked.push_back(rec.item);
                    s->known->add_user(s->ranked, test.items(known_entries[r]));
                }
                pool.release(std::move(s));
            },
            ranker.rows_per_chunk());
    }

    RankingMetrics known(int64_t(k), n_items), unknown(int64_t(k), n_items);
    for (auto& s : pool.all()) {
        if (!s->known) continue;
        known.merge(*s->known);
        unknown.merge(*s->unknown);
    }
    RankingMetrics all = known;
    all.merge(unknown);

    EvaluationResult result;
    result.all = all.result();
    result.known = known.result();
    result.unknown = unknown.result();
    result.users = result.all.users;
    result.unknown_users = result.unknown.users;
    result.skipped_users = result.all.skipped_users;
    return result;
}

}  // namespace recsys
