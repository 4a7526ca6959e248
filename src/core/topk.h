// Top-k selection by partial selection (no full sort of the catalogue).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace recsys {

struct Scored {
    uint32_t item;
    float score;
};

// Best first; ties broken by the smaller index so results are stable.
inline bool better(const Scored& a, const Scored& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// Which of the 16 scores from s beat t, as bits (bit j: s[j]; a NaN never
// does): four vector comparisons (the compiler left the scalar loop
// unvectorised).
inline uint32_t above16(const float* s, float t) {
#if defined(__SSE2__)
    const __m128 v = _mm_set1_ps(t);
    return uint32_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(s), v))) |
           uint32_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(s + 4), v))) << 4 |
           uint32_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(s + 8), v))) << 8 |
           uint32_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(s + 12), v))) << 12;
#else
    uint32_t bits = 0;
    for (int j = 0; j < 16; ++j) bits |= uint32_t(s[j] > t) << j;
    return bits;
#endif
}

// The k best of `scores`, restricted to indexes for which keep(i) is true.
// One pass over the scores: once k are held, a score is looked at further
// only if it beats the worst held one (items come in increasing index, so a
// tie never does): runs of 16 scores are compared with it at once, and only
// those that beat it are offered (the user's own items, which keep() drops,
// are often among them).
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
    for (; i + kRun <= n; i += kRun)
        // The threshold only rises while the run is offered: a score at or
        // below it before is below it after.
        for (uint32_t bits = above16(s + i, threshold); bits; bits &= bits - 1)
            offer(i + uint32_t(__builtin_ctz(bits)));
    for (; i < n; ++i) offer(i);
    std::sort(heap.begin(), heap.end(), better);
    return heap;
}

inline std::vector<Scored> top_k(std::span<const float> scores, size_t k) {
    return top_k(scores, k, [](uint32_t) { return true; });
}

}  // namespace recsys
