// Purchase timing (issue 19) on a cutoff: the model is trained on the
// purchases before the test day (its own training cutoff H days earlier,
// see timing.h), and evaluated on the purchases from the test day to the
// end of the data: days to each customer's next purchase (censored at the
// end) and "within H days", over the customers with purchases on two days or
// more before the test day. One JSON line per rule or learner pair: MAE and
// RMSE in days (observed customers), concordance (censored included), AUC
// and Brier of "within H days"; training and batch prediction seconds.
// Naive rules, from the features at the test day: the constant training
// median (its line also gives the test's median observed days, the upper
// middle of an even count: how far the level moved), "last purchase + mean
// gap" (days = max(0, gap_mean - days_since_last); the within score is minus
// that), purchase days in the last 90 days, and recency (minus days since the
// last purchase).
//   bench/timing_core purchases.csv test_day H [params JSON ...]
// purchases.csv: "user,item,ts,quantity,price" (bench/retail_purchases.py).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "bench_util.h"
#include "purchases_csv.h"
#include "ranker.h"
#include "timing.h"

using namespace recsys;
using features::Purchase;
using recsys::bench::seconds_since;

namespace {

void print(const char* data, const std::string& day, double h, const std::string& model, const timing::Metrics& m,
           const std::string& extra) {
    auto num = [](double v) { return std::isnan(v) ? std::string("null") : std::to_string(v); };
    std::printf("{\"bench\":\"timing_core\",\"data\":\"%s\",\"cutoff\":\"%s\",\"H\":%g,\"model\":\"%s\",\"customers\":%llu,"
                "\"observed\":%llu,\"within\":%llu,\"mae\":%s,\"rmse\":%s,\"concordance\":%s,\"auc\":%s,\"brier\":%s%s}\n",
                data, day.c_str(), h, model.c_str(), (unsigned long long)m.customers, (unsigned long long)m.observed,
                (unsigned long long)m.within, num(m.mae).c_str(), num(m.rmse).c_str(), num(m.concordance).c_str(),
                num(m.auc).c_str(), num(m.brier).c_str(), extra.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s purchases.csv test_day H [params JSON ...]\n", argv[0]);
        return 2;
    }
    const std::string day = argv[2];
    const int64_t test_from = ranker::parse_time(day);
    const double H = std::stod(argv[3]);
    std::vector<std::string> param_sets;
    for (int a = 4; a < argc; ++a) param_sets.emplace_back(argv[a]);

    const std::set<std::string> service = {"POST", "D", "M", "DOT", "BANK CHARGES", "C2", "CRUK", "PADS", "AMAZONFEE", "S", "B"};
    bench::PurchasesCsv csv = bench::read_purchases_csv(argv[1]);
    std::vector<Purchase> all;
    for (const Purchase& p : csv.purchases)
        if (!service.count(csv.items[p.item])) all.push_back(p);
    const uint32_t n_users = uint32_t(csv.users.size()), n_items = uint32_t(csv.items.size());
    std::vector<Purchase> train;
    std::vector<std::pair<uint32_t, int64_t>> test;
    int64_t end = 0;
    for (const Purchase& p : all) {
        if (p.ts < test_from) train.push_back(p);
        else test.push_back({p.user, p.ts});
        end = std::max(end, p.ts + 1);
    }
    const Context ctx = bench::context();
    const char* data = argv[1];

    // The rules, on the features at the test day.
    const timing::CustomerFeatures f = timing::customer_features(train, n_users, n_items, test_from, H, {}, {}, ctx);
    std::vector<Purchase> later;
    for (const auto& [u, ts] : test) later.push_back({u, 0, ts});
    const std::vector<timing::Target> all_targets = timing::targets(later, n_users, test_from, end, ctx);
    auto col = [&](const char* name) {
        return size_t(std::find(f.x.names.begin(), f.x.names.end(), name) - f.x.names.begin());
    };
    const size_t c_gap = col("gap_mean"), c_since = col("user_days_since_last"), c_d90 = col("days_90");
    std::vector<timing::Target> truth;
    std::vector<double> last_gap, d90, recency;
    for (uint32_t u = 0; u < n_users; ++u) {
        if (f.purchase_days[u] < 2) continue;
        truth.push_back(all_targets[u]);
        last_gap.push_back(std::max(0.0, double(f.x.at(u, c_gap)) - double(f.x.at(u, c_since))));
        d90.push_back(f.x.at(u, c_d90));
        recency.push_back(-double(f.x.at(u, c_since)));
    }
    std::vector<double> neg_gap(last_gap.size());
    for (size_t i = 0; i < last_gap.size(); ++i) neg_gap[i] = -last_gap[i];
    // AUC / Brier need a probability for Brier: the rules give scores only (Brier null).
    auto rule = [&](const char* name, std::vector<double> days, const std::vector<double>& score) {
        timing::Metrics m = timing::metrics(days, {}, truth, H, ctx);
        std::vector<uint8_t> within;
        for (const auto& t : truth) within.push_back(t.observed && t.days < H);
        if (!score.empty()) m.auc = timing::auc(score, within);
        print(data, day, H, name, m, "");
    };
    rule("rule_last_plus_mean_gap", last_gap, neg_gap);
    rule("rule_days_90", {}, d90);
    rule("rule_recency", {}, recency);

    bool median_done = false;
    for (const std::string& given : param_sets) {
        // Served at the test day, with the bench's horizon.
        nlohmann::json pj = nlohmann::json::parse(given);
        pj["now"] = test_from;
        if (!pj.contains("horizon_days")) pj["horizon_days"] = H;
        const std::string params = pj.dump();
        const auto t0 = std::chrono::steady_clock::now();
        timing::Report rep;
        IdMap users, items;
        for (uint32_t u = 0; u < n_users; ++u) users.intern(int64_t(u));
        for (uint32_t i = 0; i < n_items; ++i) items.intern(int64_t(i));
        Model m = timing::train_timing(train, std::move(users), std::move(items), {}, params, ctx, &rep);
        const double train_s = seconds_since(t0);
        const auto& ts = dynamic_cast<const timing::TimingScorer&>(*m.scorer);
        if (!median_done) {
            std::vector<double> med(truth.size(), rep.training_median_days);
            timing::Metrics mm = timing::metrics(med, {}, truth, H, ctx);
            std::vector<double> came_back;
            for (const auto& t : truth)
                if (t.observed) came_back.push_back(t.days);
            std::sort(came_back.begin(), came_back.end());
            const double test_median = came_back.empty() ? NAN : came_back[came_back.size() / 2];
            print(data, day, H, "constant_training_median", mm,
                  ",\"median_days\":" + std::to_string(rep.training_median_days) +
                      ",\"test_median_days\":" + std::to_string(test_median));
            median_done = true;
        }
        const auto t1 = std::chrono::steady_clock::now();
        const auto pred = ts.predict_all(ctx);
        const double predict_s = seconds_since(t1);
        uint64_t skipped = 0;
        const timing::Metrics mt = ts.evaluate(test, end, &skipped, ctx);
        print(data, day, H, rep.time_learner + "/" + rep.within_learner, mt,
              ",\"train_s\":" + std::to_string(train_s) + ",\"batch_predict_s\":" + std::to_string(predict_s) +
                  ",\"predicted_customers\":" + std::to_string(pred.size()) + ",\"training_rows\":" +
                  std::to_string(rep.rows) + ",\"params\":" + given);
    }
    return 0;
}
