#include "metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "errors.h"

namespace recsys {

namespace {
constexpr double kUnitsPerOne = 0x1p62;
}

void RankingMetrics::ExactUnitSum::add(double value) {
    add_units(0, uint64_t(std::llround(value * kUnitsPerOne)));
}

void RankingMetrics::ExactUnitSum::add(const ExactUnitSum& other) {
    add_units(other.high_, other.low_);
}

void RankingMetrics::ExactUnitSum::add_units(uint64_t high, uint64_t low) {
    low_ += low;
    high_ += high + (low_ < low);  // carry
}

double RankingMetrics::ExactUnitSum::value() const {
    return double(high_) * (0x1p64 / kUnitsPerOne) + double(low_) / kUnitsPerOne;
}

RankingMetrics::RankingMetrics(int64_t k, uint32_t catalogue_size)
    : k_(k), catalogue_size_(catalogue_size), recommended_((uint64_t(catalogue_size) + 63) / 64) {
    if (k < 1)
        throw invalid_input("k must be at least 1, got " + std::to_string(k),
                            "Pass the number of recommendations per user to evaluate, e.g. 10.");
}

double RankingMetrics::discount(size_t rank) {
    while (discounts_.size() <= rank) discounts_.push_back(1.0 / std::log2(double(discounts_.size()) + 2.0));
    return discounts_[rank];
}

double RankingMetrics::ideal_dcg(size_t relevant) {
    // Summed in rank order, like the DCG, so a perfect ranking scores exactly 1.
    if (ideal_dcg_.empty()) ideal_dcg_.push_back(0.0);
    while (ideal_dcg_.size() <= relevant) {
        size_t n = ideal_dcg_.size();
        ideal_dcg_.push_back(ideal_dcg_[n - 1] + discount(n - 1));
    }
    return ideal_dcg_[relevant];
}

void RankingMetrics::add_user(std::span<const uint32_t> ranked, std::span<const uint32_t> test_items) {
    const size_t depth = size_t(std::min<uint64_t>(uint64_t(k_), ranked.size()));
    ranked = ranked.first(depth);

    ranked_sorted_.assign(ranked.begin(), ranked.end());
    std::sort(ranked_sorted_.begin(), ranked_sorted_.end());
    if (auto dup = std::adjacent_find(ranked_sorted_.begin(), ranked_sorted_.end()); dup != ranked_sorted_.end())
        throw invalid_input("item " + std::to_string(*dup) + " appears more than once in a user's recommendations",
                            "Each item may appear at most once in one user's ranking.");
    if (!ranked_sorted_.empty() && ranked_sorted_.back() >= catalogue_size_)
        throw invalid_input("recommended item " + std::to_string(ranked_sorted_.back()) +
                                " is outside the catalogue of " + std::to_string(catalogue_size_) + " items",
                            "Pass the catalogue size of the model that produced the recommendations.");

    test_sorted_.assign(test_items.begin(), test_items.end());
    std::sort(test_sorted_.begin(), test_sorted_.end());
    test_sorted_.erase(std::unique(test_sorted_.begin(), test_sorted_.end()), test_sorted_.end());
    if (test_sorted_.empty()) {
        ++skipped_users_;
        return;
    }

    uint64_t hits = 0;
    double dcg = 0.0, precision_sum = 0.0;
    for (size_t i = 0; i < depth; ++i) {
        recommended_[ranked[i] / 64] |= uint64_t(1) << (ranked[i] % 64);
        if (!std::binary_search(test_sorted_.begin(), test_sorted_.end(), ranked[i])) continue;
        ++hits;
        dcg += discount(i);
        precision_sum += double(hits) / double(i + 1);
    }

    const size_t relevant = size_t(std::min<uint64_t>(uint64_t(k_), test_sorted_.size()));
    ++users_;
    hits_ += hits;
    users_with_hit_ += hits > 0;
    recall_.add(double(hits) / double(test_sorted_.size()));
    ndcg_.add(dcg / ideal_dcg(relevant));
    map_.add(precision_sum / double(relevant));
}

void RankingMetrics::merge(const RankingMetrics& other) {
    if (other.k_ != k_ || other.catalogue_size_ != catalogue_size_)
        throw Error(ErrorKind::Internal, "cannot merge ranking metrics with different k or catalogue size");
    users_ += other.users_;
    skipped_users_ += other.skipped_users_;
    users_with_hit_ += other.users_with_hit_;
    hits_ += other.hits_;
    recall_.add(other.recall_);
    ndcg_.add(other.ndcg_);
    map_.add(other.map_);
    for (size_t w = 0; w < recommended_.size(); ++w) recommended_[w] |= other.recommended_[w];
}

RankingMetricsResult RankingMetrics::result() const {
    RankingMetricsResult r;
    r.users = users_;
    r.skipped_users = skipped_users_;
    if (users_ == 0) return r;

    const double users = double(users_);
    r.precision = double(hits_) / (users * double(k_));
    r.recall = recall_.value() / users;
    r.ndcg = ndcg_.value() / users;
    r.map = map_.value() / users;
    r.hit_rate = double(users_with_hit_) / users;
    if (catalogue_size_ > 0) {
        uint64_t covered = 0;
        for (uint64_t word : recommended_) covered += uint64_t(std::popcount(word));
        r.coverage = double(covered) / double(catalogue_size_);
    }
    return r;
}

}  // namespace recsys
