// The second-stage ranker (ranker.h): it learns re-buy timing that neither
// popularity nor the re-buy rule knows, its rows leak nothing from the label
// window, it survives serialisation, it stops on cancel, and it rejects bad
// parameters with a clear message.
#include "ranker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "best_sellers_reference.h"
#include "expect_error.h"
#include "recommend.h"
#include "rng.h"

using namespace recsys;
using features::Purchase;
using features::UserItem;

namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1'600'000'000 - 1'600'000'000 % kDay;

struct Data {
    uint32_t n_users = 0, n_items = 0;
    std::vector<Purchase> purchases;
};

IdMap ids(uint32_t n) {
    IdMap m;
    for (uint32_t i = 0; i < n; ++i) m.intern(int64_t(i));
    return m;
}

double uniform(SplitMix64& r) { return double(r.next() >> 11) * 0x1.0p-53; }

// Each user re-buys three "staple" items (of 0..29) every 7 days, each on its
// own weekday; besides, one random item of 30..59 (skewed to the low ones) a
// week. A 2-day label window holds the staples whose weekday falls in it: the
// most recently bought staple is the least due, so the re-buy rule (most days,
// then latest first) puts the wrong staple first.
Data periodic(uint32_t n_users, int weeks, uint64_t seed) {
    Data d;
    d.n_users = n_users;
    d.n_items = 60;
    SplitMix64 rng(seed);
    for (uint32_t u = 0; u < n_users; ++u) {
        std::vector<uint32_t> days = {0, 1, 2, 3, 4, 5, 6};
        for (int k = 0; k < 3; ++k) std::swap(days[k], days[k + rng.next() % (7 - k)]);
        std::set<uint32_t> staples;
        while (staples.size() < 3) staples.insert(uint32_t(rng.next() % 30));
        int k = 0;
        for (uint32_t item : staples) {
            for (int w = 0; w < weeks; ++w) {
                const int64_t ts = kStart + (int64_t(w) * 7 + days[k]) * kDay + int64_t(rng.next() % 36000);
                d.purchases.push_back({u, item, ts, 1.0, 2.0});
            }
            ++k;
        }
        for (int w = 0; w < weeks; ++w) {
            const double x = uniform(rng);
            const uint32_t item = 30 + uint32_t(30 * x * x);
            const int64_t ts = kStart + int64_t(w) * 7 * kDay + int64_t(rng.next() % (7 * kDay));
            d.purchases.push_back({u, item, ts, 1.0, 5.0});
        }
    }
    return d;
}

std::vector<Purchase> before(const std::vector<Purchase>& p, int64_t t) {
    std::vector<Purchase> out;
    for (const Purchase& x : p)
        if (x.ts < t) out.push_back(x);
    return out;
}

std::map<uint32_t, std::set<uint32_t>> window_pairs(const std::vector<Purchase>& p, int64_t from, int64_t to) {
    std::map<uint32_t, std::set<uint32_t>> out;
    for (const Purchase& x : p)
        if (x.ts >= from && x.ts < to) out[x.user].insert(x.item);
    return out;
}

// Binary nDCG@10, ideal DCG over min(10, relevant).
double ndcg10(const std::vector<uint32_t>& list, const std::set<uint32_t>& relevant) {
    double dcg = 0, ideal = 0;
    for (size_t r = 0; r < std::min<size_t>(10, list.size()); ++r)
        if (relevant.count(list[r])) dcg += 1 / std::log2(double(r) + 2);
    for (size_t r = 0; r < std::min<size_t>(10, relevant.size()); ++r) ideal += 1 / std::log2(double(r) + 2);
    return dcg / ideal;
}

// AUC by brute force over all (positive, negative) pairs; ties count half.
double auc(const std::vector<float>& score, const std::vector<float>& y) {
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < y.size(); ++i)
        if (y[i] > 0.5f)
            for (size_t j = 0; j < y.size(); ++j)
                if (y[j] < 0.5f) {
                    wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
                    pairs += 1;
                }
    return wins / pairs;
}

// Held-out AUC of a learner fitted on the even groups' rows (with `train_y`)
// and scored on the odd groups' rows against the true labels: over all
// held-out rows, or (within_users) the mean of each held-out group's own AUC
// over the groups with both labels.
double held_out_auc(const ranker::TrainingRows& rows, const std::vector<float>& train_y, const char* kind,
                    bool within_users = false) {
    std::vector<float> xt, yt, xh, yh;
    std::vector<uint32_t> held_groups;
    size_t row = 0;
    const size_t d = rows.x.cols;
    for (size_t g = 0; g < rows.groups.size(); ++g) {
        for (size_t k = row; k < row + rows.groups[g]; ++k) {
            auto& x = g % 2 ? xh : xt;
            x.insert(x.end(), rows.x.values.begin() + k * d, rows.x.values.begin() + (k + 1) * d);
            (g % 2 ? yh : yt).push_back(g % 2 ? rows.y[k] : train_y[k]);
        }
        if (g % 2) held_groups.push_back(rows.groups[g]);
        row += rows.groups[g];
    }
    learn::TrainingSet t{xt.data(), yt.size(), uint32_t(d), yt.data(), {}};
    auto l = learn::fit_learner(kind, t, nullptr, Params::parse_json("{}"), Context{});
    std::vector<float> s(yh.size());
    l->predict(xh.data(), yh.size(), s.data());
    if (!within_users) return auc(s, yh);
    double sum = 0;
    size_t n = 0, at = 0;
    for (uint32_t g : held_groups) {
        const std::vector<float> gs(s.begin() + int64_t(at), s.begin() + int64_t(at + g));
        const std::vector<float> gy(yh.begin() + int64_t(at), yh.begin() + int64_t(at + g));
        at += g;
        const size_t pos = size_t(std::count_if(gy.begin(), gy.end(), [](float v) { return v > 0.5f; }));
        if (pos == 0 || pos == g) continue;
        sum += auc(gs, gy);
        ++n;
    }
    return sum / double(n);
}

}  // namespace

TEST(Ranker, ParseTime) {
    EXPECT_EQ(ranker::parse_time("1970-01-01"), 0);
    EXPECT_EQ(ranker::parse_time("2011-11-09"), 1320796800);
    EXPECT_EQ(ranker::parse_time("2000-03-01 12:30:15"), 951913815);
    EXPECT_EQ(ranker::parse_time("2000-02-29T00:00Z"), 951782400);
    EXPECT_EQ(ranker::parse_time("1969-12-31 23:59:59"), -1);
    expect_error([] { ranker::parse_time("2011-13-01"); });
    expect_error([] { ranker::parse_time("yesterday"); });
}

// The ranker served at the test time beats popularity and the re-buy rule on
// the next window: it learnt which staple is due.
TEST(Ranker, LearnsRebuyTiming) {
    const Data d = periodic(150, 16, 7);
    const int64_t test_from = kStart + 14 * 7 * kDay + 2 * kDay, test_to = test_from + 2 * kDay;
    const auto train = before(d.purchases, test_from);
    const auto truth = window_pairs(d.purchases, test_from, test_to);
    ranker::Report rep;
    Context ctx;
    ctx.threads = 2;
    const Model m = ranker::train_ranker(train, ids(d.n_users), ids(d.n_items), {},
                                         R"({"label_window_days": 2, "now": )" + std::to_string(test_from) + "}",
                                         ctx, &rep);
    EXPECT_EQ(m.algorithm, "ranker");
    EXPECT_EQ(rep.now, test_from);
    EXPECT_GT(rep.positives, 0u);
    EXPECT_GT(rep.recall.recall(), 0.9);  // staples are re-buy candidates
    EXPECT_EQ(rep.feature_names.back(), "popularity_last_score");

    // Popularity (distinct buyers) and the re-buy rule, from the same history.
    features::FeatureBuilder fb(train, d.n_users, d.n_items, test_from, {}, {}, ctx);
    const auto rebuy = features::rebuy_candidates(fb, 0, ctx);
    double ranker_sum = 0, pop_sum = 0, rebuy_sum = 0;
    RecommendOptions opt;
    opt.k = 10;
    opt.exclude_seen = false;
    for (const auto& [u, items] : truth) {
        std::vector<uint32_t> list;
        for (const Recommendation& r : recommend_user(m, u, opt)) list.push_back(r.item);
        ranker_sum += ndcg10(list, items);
        pop_sum += ndcg10(std::vector<uint32_t>(m.popularity_order.begin(), m.popularity_order.end()), items);
        rebuy_sum += ndcg10(rebuy[u], items);
    }
    const double n = double(truth.size());
    std::printf("nDCG@10 on the next window: ranker %.3f, re-buy rule %.3f, popularity %.3f (%zu users)\n",
                ranker_sum / n, rebuy_sum / n, pop_sum / n, truth.size());
    EXPECT_GT(ranker_sum / n, rebuy_sum / n + 0.15) << ranker_sum / n << " vs re-buy " << rebuy_sum / n;
    EXPECT_GT(ranker_sum / n, pop_sum / n + 0.15) << ranker_sum / n << " vs popularity " << pop_sum / n;
    EXPECT_GT(ranker_sum / n, 0.8);
}

// Labels that are noise (window purchases independent of the history): the
// rows carry no information about them, so a learner's held-out AUC is ~0.5.
// Features or base models reading the window would make it far higher.
TEST(Ranker, NoLeakageFromTheLabelWindow) {
    Data d = periodic(200, 10, 3);
    const int64_t cutoff = kStart + 10 * 7 * kDay;
    SplitMix64 rng(11);
    for (uint32_t u = 0; u < d.n_users; ++u)
        for (int k = 0; k < 6; ++k)
            d.purchases.push_back({u, uint32_t(rng.next() % d.n_items), cutoff + int64_t(rng.next() % (7 * kDay)),
                                   1.0, 3.0});
    const std::string params = R"({"label_window_days": 7, "training_windows": 1, "cutoff": )" + std::to_string(cutoff) + "}";
    const auto rows = ranker::training_rows(d.purchases, d.n_users, d.n_items, {}, params, Context{});
    EXPECT_EQ(rows.cutoff, cutoff);
    const double a = held_out_auc(rows, rows.y, "boosted");
    EXPECT_NEAR(a, 0.5, 0.06);

    // The same check has power: when the window is the staples' next buys,
    // the held-out AUC is high.
    const Data p = periodic(200, 12, 3);
    const auto real = ranker::training_rows(p.purchases, p.n_users, p.n_items, {},
                                            R"({"label_window_days": 2, "training_windows": 1, "cutoff": )" +
                                                std::to_string(kStart + 10 * 7 * kDay + 3 * kDay) + "}",
                                            Context{});
    EXPECT_GT(held_out_auc(real, real.y, "boosted"), 0.9);
    // Labels shuffled within each user: nothing left to learn about the order
    // of a user's candidates (which the ranker serves), so the AUC within
    // users is about 0.5. Across users the shuffled labels keep each user's
    // share of positives, which user features may legitimately predict, and
    // a feature that stands in for that share within users too (here
    // ease_last_score: .557, .499 without it) lifts it a little. One shuffle
    // of these 100 held-out users moves by about +-.05: the mean of 4.
    double shuffled_auc = 0;
    for (uint64_t seed = 5; seed < 9; ++seed) {
        std::vector<float> shuffled = real.y;
        SplitMix64 srng(seed);
        size_t row = 0;
        for (uint32_t g : real.groups) {
            for (uint32_t k = g; k > 1; --k) std::swap(shuffled[row + k - 1], shuffled[row + srng.next() % k]);
            row += g;
        }
        shuffled_auc += held_out_auc(real, shuffled, "boosted", true) / 4;
    }
    EXPECT_NEAR(shuffled_auc, 0.5, 0.06);
    EXPECT_GT(held_out_auc(real, real.y, "boosted", true), 0.9);
}

TEST(Ranker, TrainingRowsAreGroupedCandidates) {
    const Data d = periodic(40, 8, 9);
    const auto rows = ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                            R"({"label_window_days": 2, "candidates_per_model": 5})", Context{});
    ASSERT_EQ(rows.groups.size(), rows.group_users.size());
    size_t row = 0;
    const size_t base_cols = rows.x.cols - 6;
    EXPECT_EQ(rows.x.names[base_cols], "ease_score");
    EXPECT_EQ(rows.x.names[base_cols + 2], "ease_last_score");
    EXPECT_EQ(rows.x.names[base_cols + 4], "popularity_rank");
    const size_t bought_before = size_t(std::find(rows.x.names.begin(), rows.x.names.end(), "ui_bought_before") -
                                        rows.x.names.begin());
    ASSERT_LT(bought_before, base_cols);
    for (size_t g = 0; g < rows.groups.size(); ++g) {
        std::set<uint32_t> items;
        for (size_t k = row; k < row + rows.groups[g]; ++k) {
            EXPECT_EQ(rows.pairs[k].user, rows.group_users[g]);
            EXPECT_TRUE(items.insert(rows.pairs[k].item).second);  // each item once
            const float rank = rows.x.at(k, base_cols + 4);
            if (!std::isnan(rank)) EXPECT_LE(rank, 5.0f);
        }
        // At most 5 per base model besides the re-buys.
        size_t rebuys = 0;
        for (size_t k = row; k < row + rows.groups[g]; ++k) rebuys += rows.x.at(k, bought_before) > 0;
        EXPECT_LE(rows.groups[g], rebuys + 10);
        row += rows.groups[g];
    }
    EXPECT_EQ(row, rows.y.size());
}

// <base>_last_score is the base model's score on the user's recent basket:
// with a window longer than any history it is the whole history, so it
// equals <base>_score; with the last basket only it differs for some
// candidates (EASE depends on the basket), never for popularity.
TEST(Ranker, LastScoreIsTheBaseScoreOfTheRecentBasket) {
    const Data d = periodic(40, 8, 9);
    auto rows_with = [&](const char* days) {
        return ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                     std::string(R"({"label_window_days": 2, "last_basket_days": )") + days + "}",
                                     Context{});
    };
    auto col = [](const ranker::TrainingRows& r, const char* name) {
        return size_t(std::find(r.x.names.begin(), r.x.names.end(), name) - r.x.names.begin());
    };
    const auto all = rows_with("36500"), last = rows_with("0");
    ASSERT_EQ(all.x.rows, last.x.rows);
    size_t differ = 0;
    for (size_t k = 0; k < all.x.rows; ++k) {
        EXPECT_EQ(all.x.at(k, col(all, "ease_last_score")), all.x.at(k, col(all, "ease_score")));
        EXPECT_EQ(last.x.at(k, col(last, "popularity_last_score")), last.x.at(k, col(last, "popularity_score")));
        EXPECT_EQ(last.x.at(k, col(last, "ease_score")), all.x.at(k, col(all, "ease_score")));
        differ += last.x.at(k, col(last, "ease_last_score")) != last.x.at(k, col(last, "ease_score"));
    }
    EXPECT_GT(differ, 0u);
}

TEST(Ranker, SerializeRoundTripGivesIdenticalScores) {
    const Data d = periodic(60, 8, 4);
    // Parameters that the read must restore: boosted with a 30-day recent
    // basket, logistic with the recent best sellers as candidates.
    for (const char* learner : {"boosted", "logistic"}) {
        SCOPED_TRACE(learner);
        const std::string sellers = std::string(learner) == "logistic" ?
            R"(, "candidates_per_model": 3, "best_seller_candidates": 5, "best_seller_days": 3)" :
            R"(, "last_basket_days": 30)";
        const Model m = ranker::train_ranker(
            d.purchases, ids(d.n_users), ids(d.n_items), {},
            std::string(R"({"label_window_days": 2, "learner": ")") + learner + "\"" + sellers + "}", Context{});
        const auto bytes = m.serialize();
        const Model r = Model::deserialize(bytes.data(), bytes.size());
        EXPECT_EQ(r.algorithm, "ranker");
        EXPECT_EQ(r.params_json, m.params_json);
        for (uint32_t u = 0; u < d.n_users; u += 7) {
            std::vector<float> a(d.n_items, 0.0f), b(d.n_items, 0.0f);
            m.scorer->score(m.history_of(u), u, a);
            r.scorer->score(r.history_of(u), u, b);
            EXPECT_EQ(a, b);
            EXPECT_GT(std::count_if(a.begin(), a.end(), [](float s) { return s > 0; }), 3);
        }
        // Per-feature explanation adds up to the margin.
        const auto& rs = dynamic_cast<const ranker::RankerScorer&>(*r.scorer);
        std::vector<uint32_t> items;
        std::vector<float> margins;
        rs.candidates(r.history_of(3), 3, items, margins);
        ASSERT_FALSE(items.empty());
        const auto parts = rs.explain_features(r.history_of(3), 3, items[0]);
        double sum = 0;
        for (const auto& p : parts) sum += p.contribution;
        EXPECT_NEAR(sum, margins[0], 1e-3);
        EXPECT_EQ(parts.size(), rs.feature_names().size() + 1);
        // A damaged payload is refused by the checksum, not misread.
        auto broken = bytes;
        broken[broken.size() / 2] ^= 1;
        expect_error([&] { Model::deserialize(broken.data(), broken.size()); }, ErrorKind::Corrupted);
    }
}

// A block of users scored at once (one feature matrix, one prediction)
// gives each row exactly what scoring its user alone gives; an unknown user's
// row stays zero.
TEST(Ranker, ScoreBlockEqualsScorePerUser) {
    const Data d = periodic(40, 8, 6);
    for (const char* learner : {"boosted", "logistic", "mlp", "forest"}) {
        SCOPED_TRACE(learner);
        const Model m = ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {},
                                             std::string(R"({"label_window_days": 2, "learner": ")") + learner + "\"}",
                                             Context{});
        const std::vector<uint32_t> users = {5, 0, 39, d.n_users + 3, 17, 5};
        std::vector<Basket> baskets;
        for (uint32_t u : users) baskets.push_back(u < d.n_users ? m.history_of(u) : Basket{});
        std::vector<float> block(users.size() * d.n_items, 0.0f);
        m.scorer->score_block(baskets, users, d.n_items, block);
        for (size_t r = 0; r < users.size(); ++r) {
            std::vector<float> one(d.n_items, 0.0f);
            m.scorer->score(baskets[r], users[r], one);
            EXPECT_EQ(std::vector<float>(block.begin() + long(r * d.n_items), block.begin() + long((r + 1) * d.n_items)),
                      one) << "row " << r;
            if (users[r] >= d.n_users) EXPECT_EQ(std::count(one.begin(), one.end(), 0.0f), long(d.n_items));
        }
    }
}

TEST(Ranker, UnknownUserGetsPopularity) {
    const Data d = periodic(30, 6, 2);
    const Model m = ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {},
                                         R"({"label_window_days": 2, "learner": "logistic"})", Context{});
    RecommendOptions opt;
    opt.k = 5;
    auto recs = recommend_user(m, std::nullopt, opt);
    ASSERT_EQ(recs.size(), 5u);
    for (size_t k = 0; k < 5; ++k) EXPECT_EQ(recs[k].item, m.popularity_order[k]);
}

// Cancelled at the first poll, half-way and at the last poll of a full run.
TEST(Ranker, Cancel) {
    const Data d = periodic(60, 8, 4);
    int total = 0;
    Context counting;
    counting.check_cancel = [&] { ++total; };
    ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {}, R"({"label_window_days": 2})", counting);
    ASSERT_GT(total, 10);
    for (int after : {1, total / 2, total}) {
        int calls = 0;
        Context ctx;
        ctx.check_cancel = [&] {
            if (++calls >= after) throw Cancelled();
        };
        EXPECT_THROW(ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {},
                                          R"({"label_window_days": 2})", ctx),
                     Cancelled);
        EXPECT_EQ(calls, after);
    }
}

TEST(Ranker, BadParameters) {
    const Data d = periodic(20, 4, 1);
    auto train = [&](const std::string& params) {
        return ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {}, params, Context{});
    };
    Error e = expect_error([&] { train(R"({"learner": "svm"})"); });
    EXPECT_STREQ(e.what(), "unknown learner \"svm\"");
    EXPECT_EQ(e.hint(), "Known learners: logistic, tree, forest, boosted, boosted_rank, mlp, ensemble, linear, or auto.");
    e = expect_error([&] { train(R"({"learner": "auto", "learner.max_depth": 4})"); });
    EXPECT_STREQ(e.what(), "parameter \"learner.max_depth\" needs a named learner: \"auto\" trains each with its defaults");
    e = expect_error([&] { train(R"({"auto_learners": "tree"})"); });
    EXPECT_STREQ(e.what(), "parameter \"auto_learners\" is only for learner \"auto\"");
    e = expect_error([&] { train(R"({"learner": "auto", "auto_learners": "tree,svm"})"); });
    EXPECT_STREQ(e.what(), "unknown learner \"svm\"");
    e = expect_error([&] { train(R"({"learner": "auto", "auto_learners": "tree, tree"})"); });
    EXPECT_STREQ(e.what(), "learner \"tree\" is listed twice in auto_learners");
    e = expect_error([&] { train(R"({"learner": "auto", "validation_fraction": 0, "label_window_days": 2})"); });
    EXPECT_EQ(std::string(e.what()).rfind("learner \"auto\" chooses by the nDCG@10 of held-out customers", 0), 0u) << e.what();
    e = expect_error([&] { train(R"({"base_models": "ease,ranker"})"); });
    EXPECT_STREQ(e.what(), "a ranker cannot be a base model of a ranker");
    e = expect_error([&] { train(R"({"base_models": "knn"})"); });
    EXPECT_STREQ(e.what(), "unknown algorithm \"knn\"");
    e = expect_error([&] { train(R"({"als.factors": 4})"); });
    EXPECT_STREQ(e.what(), "unknown parameter \"als.factors\" for ranker");
    expect_error([&] { train(R"({"learner.depth": 4})"); });
    expect_error([&] { train(R"({"candidates": 4})"); });
    expect_error([&] { train(R"({"cutoff": "1999-01-01"})"); });  // no history before it
    expect_error([&] { train(R"({"cutoff": "2030-01-01"})"); });  // no labels after it
    expect_error([&] { train(R"({"ease.lambda": -1})"); });
    // Training from plain interactions is refused with a pointer to train_ranker.
    e = expect_error([&] { ranker::algorithm.train(Interactions{}, Params::parse_json("{}"), Context{}); });
    EXPECT_NE(std::string(e.hint()).find("train_ranker"), std::string::npos);
}

// best_seller_candidates adds, per user, the first N items of the recent
// best sellers (brute force: distinct buyers in the last best_seller_days
// before the cutoff) the user has not bought, to the candidates without them.
TEST(Ranker, BestSellerCandidates) {
    const Data d = periodic(40, 8, 9);
    const std::string base = R"({"label_window_days": 2, "candidates_per_model": 2, "training_windows": 1)";
    const auto without = ranker::training_rows(d.purchases, d.n_users, d.n_items, {}, base + "}", Context{});
    const auto with = ranker::training_rows(
        d.purchases, d.n_users, d.n_items, {}, base + R"(, "best_seller_candidates": 4, "best_seller_days": 10})",
        Context{});
    const auto best_sellers = naive_best_sellers(d.purchases, d.n_items, without.cutoff - 10 * kDay, without.cutoff);
    auto sets = [](const ranker::TrainingRows& r) {
        std::map<uint32_t, std::set<uint32_t>> out;
        for (const UserItem& p : r.pairs) out[p.user].insert(p.item);
        return out;
    };
    auto expected = sets(without);
    for (auto& [user, items] : expected) {
        size_t added = 0;
        for (uint32_t item : best_sellers) {
            if (added == 4) break;
            bool bought = false;
            for (const Purchase& p : d.purchases) bought |= p.user == user && p.item == item && p.ts < without.cutoff;
            if (bought) continue;
            items.insert(item);
            ++added;
        }
    }
    EXPECT_EQ(sets(with), expected);
    EXPECT_GT(with.y.size(), without.y.size());
    EXPECT_GE(with.recall.found, without.recall.found);
}

// training_negatives keeps every bought candidate of a training customer and
// that many unbought ones (all when fewer), the rows unchanged otherwise;
// held-out customers keep all their candidates; the reported recall is that
// of all candidates.
TEST(Ranker, TrainingNegativesAreSampled) {
    const Data d = periodic(60, 8, 9);
    const std::string base = R"({"label_window_days": 2, "validation_fraction": 0.3)";
    const auto all = ranker::training_rows(d.purchases, d.n_users, d.n_items, {}, base + "}", Context{});
    const auto some = ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                            base + R"(, "training_negatives": 3})", Context{});
    EXPECT_EQ(some.recall.found, all.recall.found);
    EXPECT_EQ(some.recall.labels, all.recall.labels);
    ASSERT_EQ(some.groups.size(), all.groups.size());
    EXPECT_EQ(some.validation, all.validation);
    size_t ra = 0, rs = 0, sampled = 0, held_out = 0;
    for (size_t g = 0; g < all.groups.size(); ++g) {
        std::map<UserItem, size_t> at;  // the unsampled row of each pair
        size_t positives = 0, negatives = 0;
        for (size_t k = ra; k < ra + all.groups[g]; ++k) {
            at[all.pairs[k]] = k;
            (all.y[k] > 0.5f ? positives : negatives) += 1;
        }
        size_t kept_pos = 0, last = 0;
        for (size_t k = rs; k < rs + some.groups[g]; ++k) {
            ASSERT_TRUE(at.count(some.pairs[k]));
            const size_t j = at[some.pairs[k]];
            EXPECT_TRUE(k == rs || j > last);  // candidate order kept
            last = j;
            EXPECT_EQ(some.y[k], all.y[j]);
            kept_pos += some.y[k] > 0.5f;
            for (size_t c = 0; c < all.x.cols; ++c) {
                const float a = all.x.at(j, c), b = some.x.at(k, c);
                EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)));
            }
        }
        EXPECT_EQ(kept_pos, positives);
        const size_t want = all.validation[g] ? negatives : std::min<size_t>(3, negatives);
        EXPECT_EQ(some.groups[g], positives + want);
        sampled += some.groups[g] < all.groups[g];
        held_out += all.validation[g] != 0;
        ra += all.groups[g];
        rs += some.groups[g];
    }
    EXPECT_GT(sampled, 0u);
    EXPECT_GT(held_out, 0u);
}

// Stacked windows: the latest window's rows come first, unchanged; earlier
// windows add groups; windows before the data are left out.
TEST(Ranker, StackedTrainingWindows) {
    const Data d = periodic(40, 8, 9);
    const auto one = ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                           R"({"label_window_days": 2, "training_windows": 1})", Context{});
    const auto three = ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                             R"({"label_window_days": 2, "training_windows": 3})", Context{});
    ASSERT_GT(three.y.size(), one.y.size());
    EXPECT_EQ(three.x.rows, three.y.size());
    EXPECT_EQ(three.x.values.size(), three.x.rows * three.x.cols);
    EXPECT_EQ(std::vector<float>(three.y.begin(), three.y.begin() + one.y.size()), one.y);
    for (size_t k = 0; k < one.x.values.size(); ++k) {
        const float a = one.x.values[k], b = three.x.values[k];
        EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)));
    }
    uint64_t sum = 0;
    for (uint32_t g : three.groups) sum += g;
    EXPECT_EQ(sum, three.y.size());
    EXPECT_EQ(one.recall.labels, three.recall.labels);
    // 52 windows of 2 days reach before the data: those are left out.
    const auto many = ranker::training_rows(d.purchases, d.n_users, d.n_items, {},
                                            R"({"label_window_days": 2, "training_windows": 52})", Context{});
    EXPECT_GT(many.y.size(), three.y.size());
}

// group_ndcg10 against the per-list nDCG@10 of the test (a brute-force sort):
// random groups, margins with ties, groups without a positive left out.
TEST(Ranker, GroupNdcgMatchesBruteForce) {
    SplitMix64 rng(5);
    std::vector<float> m, y;
    std::vector<uint32_t> groups;
    double sum = 0;
    size_t n = 0;
    for (int g = 0; g < 200; ++g) {
        const uint32_t size = 1 + uint32_t(rng.next() % 30);
        std::vector<std::pair<float, uint32_t>> rows;  // (-margin, position): sorted = ranked, ties by row
        std::set<uint32_t> relevant;
        for (uint32_t k = 0; k < size; ++k) {
            const float margin = float(rng.next() % 8);  // ties
            const bool pos = rng.next() % 5 == 0;
            m.push_back(margin);
            y.push_back(pos ? 1.0f : 0.0f);
            rows.push_back({-margin, k});
            if (pos) relevant.insert(k);
        }
        groups.push_back(size);
        if (relevant.empty()) continue;
        std::sort(rows.begin(), rows.end());
        std::vector<uint32_t> list;
        for (const auto& r : rows) list.push_back(r.second);
        sum += ndcg10(list, relevant);
        ++n;
    }
    ASSERT_GT(n, 0u);
    EXPECT_NEAR(ranker::group_ndcg10(m, y, groups), sum / double(n), 1e-12);
    EXPECT_TRUE(std::isnan(ranker::group_ndcg10(std::vector<float>{1, 2}, std::vector<float>{0, 0},
                                                std::vector<uint32_t>{2})));
}

// learner "auto" keeps the kind with the best validation nDCG@10, reports
// every kind's score, and names the chosen kind in the model's parameters.
TEST(Ranker, AutoLearnerChoosesByValidation) {
    const Data d = periodic(150, 12, 11);
    ranker::Report rep;
    const Model m = ranker::train_ranker(
        d.purchases, ids(d.n_users), ids(d.n_items), {},
        R"({"label_window_days": 2, "learner": "auto", "auto_learners": "tree,logistic", "validation_fraction": 0.3})",
        Context{}, &rep);
    ASSERT_EQ(rep.learner_validation.size(), 2u);
    EXPECT_EQ(rep.learner_validation[0].first, "tree");
    EXPECT_EQ(rep.learner_validation[1].first, "logistic");
    const auto best = std::max_element(rep.learner_validation.begin(), rep.learner_validation.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    EXPECT_EQ(rep.learner, best->first);
    ASSERT_TRUE(rep.validation_ndcg);
    EXPECT_EQ(*rep.validation_ndcg, best->second);
    for (const auto& [kind, v] : rep.learner_validation) EXPECT_TRUE(v > 0 && v <= 1) << kind << " " << v;
    EXPECT_NE(m.params_json.find("\"learner\": \"" + best->first + "\""), std::string::npos) << m.params_json;
    EXPECT_NE(rep.to_json().find("learner_validation_ndcg@10"), std::string::npos);
    // The stored parameters read back (the model names its learner, not "auto").
    ByteWriter w;
    m.scorer->write(w);
    ByteReader r(w.bytes().data(), w.bytes().size());
    EXPECT_NO_THROW(ranker::read(r, d.n_users, d.n_items));
}

// The ranker's own learner defaults (boosted trees of depth 4, boosted_rank
// pairwise) apply to a named learner and to auto's, and a given parameter
// overrides them.
TEST(Ranker, LearnerDefaultsOfTheRanker) {
    const Data d = periodic(60, 8, 13);
    auto params_of = [&](const std::string& params) {
        return ranker::train_ranker(d.purchases, ids(d.n_users), ids(d.n_items), {}, params, Context{}).params_json;
    };
    const std::string boosted = params_of(R"({"label_window_days": 2, "learner": "boosted", "learner.rounds": 5})");
    EXPECT_NE(boosted.find("\"learner.max_depth\": 4"), std::string::npos) << boosted;
    const std::string deep =
        params_of(R"({"label_window_days": 2, "learner": "boosted", "learner.rounds": 5, "learner.max_depth": 6})");
    EXPECT_NE(deep.find("\"learner.max_depth\": 6"), std::string::npos) << deep;
    const std::string chosen = params_of(
        R"({"label_window_days": 2, "learner": "auto", "auto_learners": "boosted", "validation_fraction": 0.3})");
    EXPECT_NE(chosen.find("\"learner.max_depth\": 4"), std::string::npos) << chosen;
    const std::string rank = params_of(R"({"label_window_days": 2, "learner": "boosted_rank", "learner.rounds": 5})");
    EXPECT_NE(rank.find("\"learner.objective\": \"pairwise\""), std::string::npos) << rank;
    EXPECT_NE(rank.find("\"learner.max_depth\": 6"), std::string::npos) << rank;
    const std::string ensemble = params_of(R"({"label_window_days": 2, "learner": "ensemble",
                                              "learner.boosted.rounds": 5, "learner.mlp.epochs": 2})");
    EXPECT_NE(ensemble.find("\"learner.members\": \"boosted,mlp,logistic\""), std::string::npos) << ensemble;
    EXPECT_NE(ensemble.find("\"learner.boosted.max_depth\": 4"), std::string::npos) << ensemble;
}
