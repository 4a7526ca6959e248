// update_model's core cost against a full retrain, outside PostgreSQL:
// trains ALGORITHM on old.csv ("user,item" lines, integer users), then, `repeat`
// times, decodes it, updates it with new.csv and encodes the result; and
// trains once on old + new. Prints one JSON line with the median seconds of
// each part and nDCG@10 of both models on test.csv (users the models do not
// know get popularity). NO_RETRAIN=1 skips the retrain (profiling the
// update alone) and reports the active model's nDCG@10 in its place.
//   bench_update_core ALGORITHM old.csv new.csv test.csv [params_json] [update_params_json] [repeat]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "batch.h"
#include "model.h"
#include "update.h"

using namespace recsys;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::pair<int64_t, std::string>> read_pairs(const char* path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    std::vector<std::pair<int64_t, std::string>> out;
    std::string line;
    while (std::getline(in, line)) {
        const auto comma = line.find(',');
        if (comma == std::string::npos) continue;
        out.emplace_back(std::stoll(line.substr(0, comma)), line.substr(comma + 1));
    }
    return out;
}

void add(InteractionBuilder& b, const std::vector<std::pair<int64_t, std::string>>& rows) {
    for (const auto& [u, i] : rows) b.add(u, std::string_view(i), 1.0);
}

double ndcg10(const Model& m, const std::vector<std::pair<int64_t, std::string>>& test) {
    std::map<int64_t, std::vector<std::string>> by_user;
    for (const auto& [u, i] : test) by_user[u].push_back(i);
    TestSet t;
    for (const auto& [u, items] : by_user) {
        std::vector<uint32_t> idx;
        std::map<std::string, uint32_t> unknown;
        for (const auto& i : items) {
            if (auto k = m.items.find(std::string_view(i))) idx.push_back(*k);
            else idx.push_back(m.n_items() + unknown.emplace(i, uint32_t(unknown.size())).first->second);
        }
        t.add(m.users.find(u), idx);
    }
    return *evaluate(m, t, 10, Context{}).all.ndcg;
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " algorithm old.csv new.csv test.csv [params] [update_params] [repeat]\n";
        return 2;
    }
    const std::string alg = argv[1];
    const std::string params = argc > 5 ? argv[5] : "{}";
    const std::string up_params = argc > 6 ? argv[6] : "{}";
    const int repeat = argc > 7 ? std::stoi(argv[7]) : 5;
    const auto old_rows = read_pairs(argv[2]), new_rows = read_pairs(argv[3]), test = read_pairs(argv[4]);
    Context ctx;
    ctx.memory_limit_bytes = uint64_t(8) << 30;
    InteractionBuilder old_b, new_b, all_b;
    add(old_b, old_rows);
    add(new_b, new_rows);
    add(all_b, old_rows);
    add(all_b, new_rows);

    const std::vector<uint8_t> active_bytes = train_model(alg, old_b, params, ctx).serialize(ctx);
    std::vector<double> load, merge, train, encode, total;
    Model updated;
    std::string summary;
    for (int r = 0; r < repeat; ++r) {
        auto t = Clock::now();
        const Model active = Model::deserialize(active_bytes.data(), active_bytes.size(), ctx);
        load.push_back(since(t));
        UpdateResult up = update_model(active, "bench", new_b, up_params, ctx);
        merge.push_back(up.merge_seconds);
        train.push_back(up.train_seconds);
        const auto e = Clock::now();
        const auto bytes = up.model.serialize(ctx);
        encode.push_back(since(e));
        total.push_back(since(t));
        updated = std::move(up.model);
        summary = up.summary_json;
    }
    // NO_RETRAIN=1: the update alone (for profiling), compared with the active model
    const bool retraining = !std::getenv("NO_RETRAIN");
    auto t = Clock::now();
    const Model full = retraining ? train_model(alg, all_b, params, ctx)
                                  : Model::deserialize(active_bytes.data(), active_bytes.size(), ctx);
    const double retrain = retraining ? since(t) : 0.0;
    std::printf("{\"algorithm\": \"%s\", \"new_rows\": %zu, \"load\": %.4f, \"merge\": %.4f, \"train\": %.4f, "
                "\"encode\": %.4f, \"update\": %.4f, \"retrain_train\": %.4f, \"ndcg10_updated\": %.4f, "
                "\"ndcg10_trained\": %.4f, \"summary\": %s}\n",
                alg.c_str(), new_rows.size(), median(load), median(merge), median(train), median(encode),
                median(total), retrain, ndcg10(updated, test), ndcg10(full, test), summary.c_str());
}
