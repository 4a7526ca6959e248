// Reading the purchases file of bench/retail_purchases.py for the core
// benchmarks: "user,item,ts,quantity,price" lines after a header; ids
// interned in order of appearance.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "purchase_features.h"

namespace recsys::bench {

struct PurchasesCsv {
    std::vector<features::Purchase> purchases;
    std::vector<std::string> users, items;  // id of each index
};

inline PurchasesCsv read_purchases_csv(const char* path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    PurchasesCsv out;
    std::unordered_map<std::string, uint32_t> users, items;
    auto intern = [](std::unordered_map<std::string, uint32_t>& m, std::vector<std::string>& ids, std::string id) {
        auto [it, added] = m.try_emplace(id, uint32_t(ids.size()));
        if (added) ids.push_back(std::move(id));
        return it->second;
    };
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        size_t c[4], from = 0;
        for (size_t& k : c) from = (k = line.find(',', from)) + 1;
        if (c[3] == std::string::npos) continue;
        features::Purchase p;
        p.user = intern(users, out.users, line.substr(0, c[0]));
        p.item = intern(items, out.items, line.substr(c[0] + 1, c[1] - c[0] - 1));
        p.ts = std::stoll(line.substr(c[1] + 1, c[2] - c[1] - 1));
        p.quantity = std::stod(line.substr(c[2] + 1, c[3] - c[2] - 1));
        p.price = std::stod(line.substr(c[3] + 1));
        out.purchases.push_back(p);
    }
    return out;
}

}  // namespace recsys::bench
