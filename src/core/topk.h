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
template <typename Keep>
std::vector<Scored> top_k(std::span<const float> scores, size_t k, Keep&& keep) {
    std::vector<Scored> heap;  // min-heap of the best k so far (worst on top)
    heap.reserve(std::min(k, scores.size()) + 1);
    auto worse = [](const Scored& a, const Scored& b) { return better(a, b); };
    for (uint32_t i = 0; i < scores.size(); ++i) {
        if (!keep(i)) continue;
        Scored s{i, scores[i]};
        if (heap.size() < k) {
            heap.push_back(s);
            std::push_heap(heap.begin(), heap.end(), worse);
        } else if (k > 0 && better(s, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), worse);
            heap.back() = s;
            std::push_heap(heap.begin(), heap.end(), worse);
        }
    }
    std::sort(heap.begin(), heap.end(), better);
    return heap;
}

inline std::vector<Scored> top_k(std::span<const float> scores, size_t k) {
    return top_k(scores, k, [](uint32_t) { return true; });
}

}  // namespace recsys
