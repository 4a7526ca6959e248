// Ranking metrics at a cutoff k with binary relevance, accumulated user by
// user: precision, recall, NDCG, MAP, hit rate and catalogue coverage.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace recsys {

// Every field is empty when no user was evaluated (SQL: NULL).
struct RankingMetricsResult {
    uint64_t users = 0;          // users with at least one test item
    uint64_t skipped_users = 0;  // users with no test items, not evaluated
    std::optional<double> precision;
    std::optional<double> recall;
    std::optional<double> ndcg;
    std::optional<double> map;
    std::optional<double> hit_rate;
    std::optional<double> coverage;  // distinct items recommended to evaluated users / catalogue
};

// Per-user sums are kept exactly (integers and fixed point), so the result
// is bit-identical whatever order users are added in and blocks merged in.
class RankingMetrics {
public:
    // k >= 1; catalogue_size is the number of items the model can recommend.
    RankingMetrics(int64_t k, uint32_t catalogue_size);

    // `ranked`: the user's recommended item indexes, best first, distinct,
    // each < catalogue_size; entries past k are ignored and fewer than k is
    // fine. `test_items`: the user's relevant items in any order; duplicates
    // count once; indexes >= catalogue_size (items the model never saw) are
    // allowed: they count towards |test| but can never be hit.
    void add_user(std::span<const uint32_t> ranked, std::span<const uint32_t> test_items);

    // Adds another accumulator's users; both must have the same k and catalogue.
    void merge(const RankingMetrics& other);

    RankingMetricsResult result() const;

    int64_t k() const { return k_; }
    uint32_t catalogue_size() const { return catalogue_size_; }

private:
    // Sum of values in [0, 1] in 2^-62 fixed point over 128 bits: exact, so
    // addition is associative and the total independent of order.
    class ExactUnitSum {
    public:
        void add(double value);
        void add(const ExactUnitSum& other);
        double value() const;

    private:
        void add_units(uint64_t high, uint64_t low);
        uint64_t high_ = 0, low_ = 0;
    };

    double discount(size_t rank);          // 1 / log2(rank + 2)
    double ideal_dcg(size_t relevant);     // sum of the first `relevant` discounts

    int64_t k_;
    uint32_t catalogue_size_;
    uint64_t users_ = 0, skipped_users_ = 0, users_with_hit_ = 0, hits_ = 0;
    ExactUnitSum recall_, ndcg_, map_;
    std::vector<uint64_t> recommended_;  // bitset over the catalogue

    // Reused between users to avoid allocating per user.
    std::vector<uint32_t> test_sorted_, ranked_sorted_;
    std::vector<double> discounts_, ideal_dcg_;
};

}  // namespace recsys
