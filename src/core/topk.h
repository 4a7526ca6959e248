// Top-k selection by partial selection (no full sort of the catalogue).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

struct Scored {
    uint32_t item;
    float score;
};

// Best first; ties broken by the smaller index so results are stable.
inline bool better(const Scored& a, const Scored& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// The k best of `scores`, restricted to indexes for which keep(i) is true.
// One pass over the scores: once k are held, a score is looked at further
// only if it beats the worst held one (items come in increasing index, so a
// tie never does), and runs of 16 scores none of which does are skipped with
// one vectorisable comparison.
template <typename Keep>
std::vector<Scored> top_k(std::span<const float> scores, size_t k, Keep&& keep) {
    std::vector<Scored> heap;  // min-heap of the best k so far (worst on top)
    if (k == 0) return heap;
    heap.reserve(std::min(k, scores.size()) + 1);
    auto worse = [](const Scored& a, const Scored& b) { return better(a, b); };
    const uint32_t n = uint32_t(scores.size());
    const float* s = scores.data();
    uint32_t i = 0;
    for (; i < n && heap.size() < k; ++i)
        if (keep(i)) {
            heap.push_back({i, s[i]});
            std::push_heap(heap.begin(), heap.end(), worse);
        }
    if (heap.size() < k) {
        std::sort(heap.begin(), heap.end(), better);
        return heap;
    }
    float threshold = heap.front().score;
    auto offer = [&](uint32_t j) {
        if (!(s[j] > threshold) || !keep(j)) return;
        std::pop_heap(heap.begin(), heap.end(), worse);
        heap.back() = {j, s[j]};
        std::push_heap(heap.begin(), heap.end(), worse);
        threshold = heap.front().score;
    };
    constexpr uint32_t kRun = 16;
    for (; i < n && i % kRun != 0; ++i) offer(i);
    for (; i + kRun <= n; i += kRun) {
        int any = 0;
        for (uint32_t j = 0; j < kRun; ++j) any |= s[i + j] > threshold;
        if (any)
            for (uint32_t j = i; j < i + kRun; ++j) offer(j);
    }
    for (; i < n; ++i) offer(i);
    std::sort(heap.begin(), heap.end(), better);
    return heap;
}

inline std::vector<Scored> top_k(std::span<const float> scores, size_t k) {
    return top_k(scores, k, [](uint32_t) { return true; });
}

}  // namespace recsys
