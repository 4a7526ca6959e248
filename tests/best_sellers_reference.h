// What both candidate test files check the recent best sellers against: the
// items bought in [from, to), most distinct buyers first, ties by item index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "purchase_features.h"

inline std::vector<uint32_t> naive_best_sellers(const std::vector<recsys::features::Purchase>& purchases,
                                                uint32_t n_items, int64_t from, int64_t to) {
    std::vector<std::pair<int64_t, uint32_t>> keys;  // (-buyers, item)
    for (uint32_t i = 0; i < n_items; ++i) {
        std::set<uint32_t> buyers;
        for (const auto& p : purchases)
            if (p.item == i && p.ts >= from && p.ts < to) buyers.insert(p.user);
        if (!buyers.empty()) keys.push_back({-int64_t(buyers.size()), i});
    }
    std::sort(keys.begin(), keys.end());
    std::vector<uint32_t> items;
    for (const auto& k : keys) items.push_back(k.second);
    return items;
}
