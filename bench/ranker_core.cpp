// The ranker on issue 13's protocol: purchases before the test day are the
// history (service codes dropped), the test is the distinct (customer, item)
// pairs on or after it of customers with history. nDCG@10 (binary, ideal over
// min(10, relevant)) and recall@20 averaged over customers: "all" scores the
// list served with re-buys allowed against all test pairs, "new" scores the
// list with seen items excluded against the test items not bought before.
// Also the re-buy baseline (the customer's items by distinct days, then
// latest; filled by popularity) and popularity (distinct buyers in the last
// 30 days), and the served candidates' recall of the test pairs.
// One JSON line per model.
//   bench/ranker_core purchases.csv [test day, default 2011-11-09] [params JSON ...]
// purchases.csv: "user,item,ts,quantity,price" (bench/retail_purchases.py).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "ranker.h"
#include "recommend.h"

using namespace recsys;
using features::Purchase;

namespace {

double dcg_ndcg(const std::vector<uint32_t>& list, const std::set<uint32_t>& rel) {
    double dcg = 0, ideal = 0;
    for (size_t r = 0; r < std::min<size_t>(10, list.size()); ++r)
        if (rel.count(list[r])) dcg += 1 / std::log2(double(r) + 2);
    for (size_t r = 0; r < std::min<size_t>(10, rel.size()); ++r) ideal += 1 / std::log2(double(r) + 2);
    return dcg / ideal;
}
double recall20(const std::vector<uint32_t>& list, const std::set<uint32_t>& rel) {
    size_t hit = 0;
    for (size_t r = 0; r < std::min<size_t>(20, list.size()); ++r) hit += rel.count(list[r]);
    return double(hit) / double(rel.size());
}

struct Scores {
    double ndcg = 0, recall = 0, ndcg_new = 0, recall_new = 0;
    size_t users = 0, users_new = 0;
    std::string json() const {
        char b[256];
        std::snprintf(b, sizeof b,
                      "\"ndcg@10\":%.4f,\"recall@20\":%.4f,\"users\":%zu,\"ndcg@10_new\":%.4f,\"recall@20_new\":%.4f,"
                      "\"users_new\":%zu",
                      ndcg / double(users), recall / double(users), users, ndcg_new / double(users_new),
                      recall_new / double(users_new), users_new);
        return b;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s purchases.csv [test day] [params JSON ...]\n", argv[0]);
        return 2;
    }
    const int64_t test_from = ranker::parse_time(argc > 2 ? argv[2] : "2011-11-09");
    std::vector<std::string> param_sets;
    for (int a = 3; a < argc; ++a) param_sets.emplace_back(argv[a]);
    if (param_sets.empty()) param_sets = {R"({"learner": "boosted"})"};

    const std::set<std::string> service = {"POST", "D", "M", "DOT", "BANK CHARGES", "C2", "CRUK", "PADS", "AMAZONFEE", "S", "B"};
    std::ifstream in(argv[1]);
    std::string line;
    std::getline(in, line);
    std::unordered_map<std::string, uint32_t> uix, iix;
    std::vector<Purchase> all;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string u, i, ts, q, p;
        std::getline(ss, u, ',');
        std::getline(ss, i, ',');
        std::getline(ss, ts, ',');
        std::getline(ss, q, ',');
        std::getline(ss, p, ',');
        if (service.count(i)) continue;
        const uint32_t user = uix.try_emplace(u, uint32_t(uix.size())).first->second;
        const uint32_t item = iix.try_emplace(i, uint32_t(iix.size())).first->second;
        all.push_back({user, item, std::stoll(ts), std::stod(q), std::stod(p)});
    }
    const uint32_t n_users = uint32_t(uix.size()), n_items = uint32_t(iix.size());
    std::vector<Purchase> hist;
    std::vector<uint8_t> has_hist(n_users, 0);
    for (const Purchase& p : all)
        if (p.ts < test_from) {
            hist.push_back(p);
            has_hist[p.user] = 1;
        }
    std::map<uint32_t, std::set<uint32_t>> test;
    for (const Purchase& p : all)
        if (p.ts >= test_from && has_hist[p.user]) test[p.user].insert(p.item);
    Context ctx;
    ctx.threads = 2;
    ctx.memory_limit_bytes = uint64_t(4) << 30;
    features::FeatureBuilder fb(hist, n_users, n_items, test_from, {}, {}, ctx);
    std::map<uint32_t, std::set<uint32_t>> test_new;
    size_t pairs = 0, new_pairs = 0;
    for (const auto& [u, items] : test) {
        pairs += items.size();
        for (uint32_t i : items)
            if (!fb.bought_before(u, i)) test_new[u].insert(i);
        new_pairs += test_new[u].size();
        if (test_new[u].empty()) test_new.erase(u);
    }
    std::printf("{\"bench\":\"ranker_core\",\"step\":\"data\",\"test_from\":\"%s\",\"purchases\":%zu,\"history\":%zu,\"users\":%u,\"items\":%u,"
                "\"test_users\":%zu,\"test_pairs\":%zu,\"new_pairs\":%zu}\n",
                argc > 2 ? argv[2] : "2011-11-09", all.size(), hist.size(), n_users, n_items, test.size(), pairs,
                new_pairs);
    std::fflush(stdout);

    // Baselines.
    std::vector<float> recent(n_items, 0.0f);
    {
        std::set<std::pair<uint32_t, uint32_t>> seen;
        for (const Purchase& p : hist)
            if (p.ts >= test_from - 30 * features::kSecondsPerDay && seen.insert({p.item, p.user}).second)
                recent[p.item] += 1;
    }
    std::vector<uint32_t> pop_order(n_items);
    for (uint32_t i = 0; i < n_items; ++i) pop_order[i] = i;
    std::stable_sort(pop_order.begin(), pop_order.end(), [&](uint32_t a, uint32_t b) { return recent[a] > recent[b]; });
    const auto rebuys = features::rebuy_candidates(fb, 0, ctx);
    auto fill = [&](std::vector<uint32_t> list, const std::set<uint32_t>* exclude) {
        std::set<uint32_t> in(list.begin(), list.end());
        for (uint32_t i : pop_order) {
            if (list.size() >= 20) break;
            if (!in.count(i) && !(exclude && exclude->count(i))) list.push_back(i);
        }
        list.resize(std::min<size_t>(list.size(), 20));
        return list;
    };
    Scores pop, reb;
    for (const auto& [u, items] : test) {
        std::set<uint32_t> own;
        for (const auto& s : fb.user_items(u)) own.insert(s.item);
        const auto p_all = fill({}, nullptr), r_all = fill(rebuys[u], nullptr);
        pop.ndcg += dcg_ndcg(p_all, items), pop.recall += recall20(p_all, items), ++pop.users;
        reb.ndcg += dcg_ndcg(r_all, items), reb.recall += recall20(r_all, items), ++reb.users;
        auto it = test_new.find(u);
        if (it == test_new.end()) continue;
        const auto p_new = fill({}, &own);
        pop.ndcg_new += dcg_ndcg(p_new, it->second), pop.recall_new += recall20(p_new, it->second), ++pop.users_new;
        reb.ndcg_new += dcg_ndcg(p_new, it->second), reb.recall_new += recall20(p_new, it->second), ++reb.users_new;
    }
    std::printf("{\"bench\":\"ranker_core\",\"step\":\"popularity_30d\",%s}\n", pop.json().c_str());
    std::printf("{\"bench\":\"ranker_core\",\"step\":\"rebuy\",%s}\n", reb.json().c_str());
    std::fflush(stdout);

    IdMap users, items;
    for (uint32_t u = 0; u < n_users; ++u) users.intern(int64_t(u));
    for (uint32_t i = 0; i < n_items; ++i) items.intern(int64_t(i));
    for (std::string params : param_sets) {
        params.insert(params.size() - 1, std::string(params.size() > 2 ? "," : "") + "\"now\":" + std::to_string(test_from));
        const auto t0 = std::chrono::steady_clock::now();
        ranker::Report rep;
        Model m;
        try {
            m = ranker::train_ranker(hist, users, items, {}, params, ctx, &rep);
        } catch (const std::exception& e) {
            std::string msg;  // a JSON string: the message's quotes and backslashes escaped
            for (const char* c = e.what(); *c; ++c) msg += (*c == '"' || *c == '\\') ? std::string("\\") + *c : std::string(1, *c);
            std::printf("{\"bench\":\"ranker_core\",\"params\":%s,\"error\":\"%s\"}\n", params.c_str(), msg.c_str());
            continue;
        }
        const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto& rs = dynamic_cast<const ranker::RankerScorer&>(*m.scorer);
        Scores s;
        size_t found = 0, found_new = 0;
        const auto t1 = std::chrono::steady_clock::now();
        RecommendOptions all_opt, new_opt;
        all_opt.k = new_opt.k = 20;
        all_opt.exclude_seen = false;
        for (const auto& [u, rel] : test) {
            std::vector<uint32_t> list;
            for (const auto& r : recommend_user(m, u, all_opt)) list.push_back(r.item);
            s.ndcg += dcg_ndcg(list, rel), s.recall += recall20(list, rel), ++s.users;
            std::vector<uint32_t> cand;
            std::vector<float> margins;
            rs.candidates(m.history_of(u), u, cand, margins);
            std::set<uint32_t> cs(cand.begin(), cand.end());
            for (uint32_t i : rel) found += cs.count(i);
            auto it = test_new.find(u);
            if (it == test_new.end()) continue;
            for (uint32_t i : it->second) found_new += cs.count(i);
            list.clear();
            for (const auto& r : recommend_user(m, u, new_opt)) list.push_back(r.item);
            s.ndcg_new += dcg_ndcg(list, it->second), s.recall_new += recall20(list, it->second), ++s.users_new;
        }
        const double serve_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        std::printf("{\"bench\":\"ranker_core\",\"step\":\"ranker\",\"params\":%s,%s,\"candidate_recall\":%.4f,"
                    "\"candidate_recall_new\":%.4f,\"train_seconds\":%.2f,\"serve_users_per_second\":%.1f,"
                    "\"training\":%s}\n",
                    params.c_str(), s.json().c_str(), double(found) / double(pairs), double(found_new) / double(new_pairs),
                    train_s, double(s.users + s.users_new) / serve_s, rep.to_json().c_str());
        std::fflush(stdout);
    }
}
