// update_model (update.h): exact updates equal a full retrain on the union
// (byte for byte, and against brute-force counts); the factor models' updates
// rank within 0.005 nDCG@10 of a full retrain; models that cannot be updated
// say why.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "als.h"
#include "batch.h"
#include "errors.h"
#include "expect_error.h"
#include "model.h"
#include "update.h"

using namespace recsys;

namespace {

struct Row {
    int64_t user;
    int64_t item;
    double weight;
};

InteractionBuilder builder(const std::vector<Row>& rows, double old_factor = 1.0, size_t old_count = 0) {
    InteractionBuilder b;
    for (size_t k = 0; k < rows.size(); ++k)
        b.add(rows[k].user, rows[k].item, rows[k].weight * (k < old_count ? old_factor : 1.0));
    return b;
}

// Small integer-weighted rows: users 1..40 over items 100..129, some
// duplicates; `extra` more rows, with new users (41..45), new items
// (130..132), new pairs of old users and repeats of old pairs.
std::vector<Row> rows(uint32_t seed, size_t n) {
    std::mt19937 gen(seed);
    std::vector<Row> out;
    for (size_t k = 0; k < n; ++k)
        out.push_back({int64_t(1 + gen() % 40), int64_t(100 + gen() % 30), double(1 + gen() % 3)});
    return out;
}
std::vector<Row> extra_rows(uint32_t seed, const std::vector<Row>& old) {
    std::mt19937 gen(seed);
    std::vector<Row> out;
    for (int k = 0; k < 12; ++k) out.push_back({int64_t(41 + gen() % 5), int64_t(100 + gen() % 33), 1.0});
    for (int k = 0; k < 12; ++k) out.push_back({int64_t(1 + gen() % 40), int64_t(100 + gen() % 33), 2.0});
    for (int k = 0; k < 6; ++k) out.push_back(old[gen() % old.size()]);
    return out;
}

Model reload(const Model& m) {
    auto bytes = m.serialize();
    return Model::deserialize(bytes.data(), bytes.size());
}

std::vector<Row> concat(std::vector<Row> a, const std::vector<Row>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

struct Case {
    const char* algorithm;
    const char* params;
};

const Case kExact[] = {
    {"popularity", "{}"},
    {"popularity", "{\"by\": \"weight\"}"},
    {"itemknn", "{}"},
    {"itemknn", "{\"similarity\": \"cooccurrence\", \"neighbours\": 5}"},
    {"itemknn", "{\"similarity\": \"jaccard\", \"shrinkage\": 2}"},
    {"itemknn", "{\"weighting\": \"tfidf\", \"binary\": false}"},
    {"rp3beta", "{}"},
    {"ease", "{\"lambda\": 20}"},
};

}  // namespace

TEST(Update, ExactAlgorithmsEqualAFullRetrainOnTheUnion) {
    for (const Case& c : kExact) {
        SCOPED_TRACE(std::string(c.algorithm) + " " + c.params);
        const auto old_rows = rows(7, 300);
        const auto fresh = extra_rows(8, old_rows);
        const Model active = reload(train_model(c.algorithm, builder(old_rows), c.params, Context{}));
        // Given the parameters as the trainer gave them (the recipe's), derived
        // ones (ease's max_items: all items) are derived again on the union.
        const UpdateResult up = update_model(active, "m", builder(fresh), "{}", Context{}, c.params);
        const Model full = train_model(c.algorithm, builder(concat(old_rows, fresh)), c.params, Context{});
        EXPECT_EQ(up.model.serialize(), full.serialize());  // ids, history, popularity, parameters, payload
        EXPECT_NE(up.summary_json.find("\"exact\": true"), std::string::npos) << up.summary_json;
        std::set<int64_t> seen, added;
        for (const Row& r : old_rows) seen.insert(r.user);
        for (const Row& r : fresh)
            if (!seen.count(r.user)) added.insert(r.user);
        EXPECT_NE(up.summary_json.find("\"new_users\": " + std::to_string(added.size()) + ","), std::string::npos)
            << up.summary_json;
    }
}

TEST(Update, WithoutTheGivenParametersDerivedOnesKeepTheirValue) {
    const auto old_rows = rows(7, 300);
    const auto fresh = extra_rows(8, old_rows);  // 3 new items
    const Model active = train_model("ease", builder(old_rows), "{}", Context{});
    const Model up = update_model(active, "m", builder(fresh), "{}", Context{}).model;
    EXPECT_EQ(up.params_json, active.params_json);  // max_items: the 30 items of the active model
    EXPECT_EQ(up.serialize(), train_model("ease", builder(concat(old_rows, fresh)), active.params_json, Context{}).serialize());
    EXPECT_NE(up.serialize(), train_model("ease", builder(concat(old_rows, fresh)), "{}", Context{}).serialize());
}

TEST(Update, DecayEqualsARetrainWithTheOldWeightsScaled) {
    for (const Case& c : {Case{"popularity", "{\"by\": \"weight\"}"}, Case{"itemknn", "{\"binary\": false}"},
                          Case{"ease", "{}"}}) {
        SCOPED_TRACE(c.algorithm);
        const auto old_rows = rows(11, 250);
        const auto fresh = extra_rows(12, old_rows);
        const Model active = train_model(c.algorithm, builder(old_rows), c.params, Context{});
        const UpdateResult up = update_model(active, "m", builder(fresh), "{\"decay\": 0.5}", Context{});
        const Model full =
            train_model(c.algorithm, builder(concat(old_rows, fresh), 0.5, old_rows.size()), active.params_json, Context{});
        EXPECT_EQ(up.model.serialize(), full.serialize());
    }
}

TEST(Update, ForgetBelowDropsDecayedPairs) {
    // Weights 1 decayed by 0.5 fall below 0.75: the model forgets every seen
    // pair and equals one trained on the new rows alone.
    std::vector<Row> old_rows;
    std::set<std::pair<int64_t, int64_t>> pairs;
    for (const Row& r : rows(13, 200))
        if (pairs.insert({r.user, r.item}).second) old_rows.push_back({r.user, r.item, 1.0});
    const auto fresh = extra_rows(14, old_rows);
    const Model active = train_model("itemknn", builder(old_rows), "{}", Context{});
    const UpdateResult up = update_model(active, "m", builder(fresh), "{\"decay\": 0.5, \"forget_below\": 0.75}", Context{});
    Model alone = train_model("itemknn", builder(fresh), "{}", Context{});
    alone.rows_added += active.rows_added;  // the only difference: the count of rows the model has seen
    EXPECT_EQ(up.model.serialize(), alone.serialize());
    EXPECT_NE(up.summary_json.find("\"forgotten_pairs\": " + std::to_string(active.history.nnz())), std::string::npos)
        << up.summary_json;
}

TEST(Update, ForgettingSomePairsDropsTheUsersAndItemsLeftWithout) {
    // Text ids; pairs of weight 1 are forgotten (0.5 < 0.75), those of 3 kept:
    // users and items with only weight-1 pairs go, unless a new row brings
    // them back. Against a training on the kept pairs (weights halved) and the
    // new rows.
    std::mt19937 gen(21);
    auto id = [](const char* prefix, uint32_t n) { return std::string(prefix) + std::to_string(n); };
    InteractionBuilder old_b, fresh_b, kept_b;
    std::set<std::pair<std::string, std::string>> pairs;
    for (int k = 0; k < 200; ++k) {
        const std::string u = id("u", gen() % 30), i = id("i", gen() % 25);
        if (!pairs.insert({u, i}).second) continue;
        const double w = (u < "u2" || i < "i2") ? 1.0 : (gen() % 2 ? 1.0 : 3.0);
        old_b.add(std::string_view(u), std::string_view(i), w);
        if (w == 3.0) kept_b.add(std::string_view(u), std::string_view(i), 1.5);
    }
    for (int k = 0; k < 20; ++k) {
        const std::string u = id("u", gen() % 35), i = id("i", gen() % 28);
        fresh_b.add(std::string_view(u), std::string_view(i), 1.0);
        kept_b.add(std::string_view(u), std::string_view(i), 1.0);
    }
    for (const char* alg : {"popularity", "itemknn", "rp3beta"}) {
        SCOPED_TRACE(alg);
        const Model active = reload(train_model(alg, old_b, "{}", Context{}));
        const UpdateResult up =
            update_model(active, "m", fresh_b, "{\"decay\": 0.5, \"forget_below\": 0.75}", Context{}, "{}");
        Model full = train_model(alg, kept_b, "{}", Context{});
        uint32_t gone = 0;
        for (uint32_t u = 0; u < active.n_users(); ++u) gone += !up.model.users.find(std::string_view(active.users.text_at(u)));
        EXPECT_GT(gone, 0u);
        full.rows_added = active.rows_added + fresh_b.rows();
        EXPECT_EQ(up.model.serialize(), full.serialize());
    }
}

// Brute force: buyers per item and co-occurrence counts of the union,
// against the updated popularity and co-occurrence item-kNN models.
TEST(Update, CountsMatchABruteForceCountOfTheUnion) {
    const auto old_rows = rows(21, 200);
    const auto fresh = extra_rows(22, old_rows);
    std::map<int64_t, std::set<int64_t>> baskets;
    for (const Row& r : concat(old_rows, fresh)) baskets[r.user].insert(r.item);
    std::map<int64_t, int> buyers;
    std::map<std::pair<int64_t, int64_t>, int> together;
    for (const auto& [u, items] : baskets)
        for (int64_t a : items) {
            ++buyers[a];
            for (int64_t b : items)
                if (a != b) ++together[{a, b}];
        }
    const Model pop = update_model(train_model("popularity", builder(old_rows), "{}", Context{}), "m", builder(fresh),
                                   "{}", Context{}).model;
    std::vector<float> scores(pop.n_items());
    pop.scorer->score({}, std::nullopt, scores);
    ASSERT_EQ(pop.n_items(), buyers.size());
    for (uint32_t i = 0; i < pop.n_items(); ++i) EXPECT_EQ(scores[i], float(buyers[pop.items.int_at(i)]));

    const Model knn = update_model(train_model("itemknn", builder(old_rows), "{\"similarity\": \"cooccurrence\", \"neighbours\": 1000}",
                                               Context{}),
                                   "m", builder(fresh), "{}", Context{}).model;
    for (uint32_t a = 0; a < knn.n_items(); ++a) {
        std::vector<float> sim(knn.n_items(), 0.0f);
        ASSERT_TRUE(knn.scorer->similar(a, sim));
        for (uint32_t b = 0; b < knn.n_items(); ++b) {
            if (a == b) continue;
            auto it = together.find({knn.items.int_at(a), knn.items.int_at(b)});
            EXPECT_EQ(sim[b], float(it == together.end() ? 0 : it->second)) << a << " " << b;
        }
    }
}

TEST(Update, TextIdsAndRowsOfAnUpdateOfAnUpdate) {
    InteractionBuilder a, b, c, all;
    a.add(std::string_view("ann"), std::string_view("tea"), 1.0);
    a.add(std::string_view("bob"), std::string_view("tea"), 1.0);
    a.add(std::string_view("bob"), std::string_view("cup"), 1.0);
    const Model active = train_model("itemknn", a, "{}", Context{});
    add_update_row(active, b, "cat", "cup", nullptr, false);
    add_update_row(active, b, "cat", "pot", "2", true);
    add_update_row(active, b, nullptr, "pot", "2", true);  // skipped
    add_update_row(active, b, "ann", "pot", nullptr, true);  // skipped
    const Model once = update_model(active, "m", b, "{}", Context{}).model;
    add_update_row(once, c, "ann", "cup", "1", true);
    const Model twice = update_model(reload(once), "m", c, "{}", Context{}).model;
    all.merge(a);
    all.add(std::string_view("cat"), std::string_view("cup"), 1.0);
    all.add(std::string_view("cat"), std::string_view("pot"), 2.0);
    all.skip();
    all.skip();
    all.add(std::string_view("ann"), std::string_view("cup"), 1.0);
    EXPECT_EQ(twice.serialize(), train_model("itemknn", all, "{}", Context{}).serialize());
}

TEST(Update, RefusesWhatItCannotUpdate) {
    const auto old_rows = rows(31, 200);
    const auto fresh = extra_rows(32, old_rows);
    auto refused = [&](const char* algorithm, const char* params, const char* update_params = "{}") {
        const Model active = train_model(algorithm, builder(old_rows), params, Context{});
        return expect_error([&] { update_model(active, "shop", builder(fresh), update_params, Context{}); });
    };
    Error e = refused("itemknn", "{\"store_history\": false}");
    EXPECT_STREQ(e.what(), "model \"shop\" was trained with \"store_history\": false, so it keeps no per-user history to update from");
    EXPECT_EQ(e.hint(), "Retrain it on all the rows with retrain('shop').");
    e = refused("itemknn", "{\"min_users_per_item\": 2}");
    EXPECT_NE(std::string(e.what()).find("\"min_users_per_item\" > 1"), std::string::npos) << e.what();
    e = refused("popularity", "{\"epsilon\": 1}");
    EXPECT_NE(std::string(e.what()).find("differentially private"), std::string::npos) << e.what();
    e = refused("itemknn", "{}", "{\"decay\": 2}");
    e = refused("itemknn", "{}", "{\"decay\": 0}");
    EXPECT_STREQ(e.what(), "\"decay\" must be above 0 and at most 1, got 0");
    e = refused("itemknn", "{}", "{\"decai\": 0.5}");
    EXPECT_NE(std::string(e.what()).find("unknown parameter \"decai\""), std::string::npos) << e.what();

    const Model active = train_model("itemknn", builder(old_rows), "{}", Context{});
    InteractionBuilder text;
    e = expect_error([&] { add_update_row(active, text, "ann", "100", nullptr, false); });
    EXPECT_STREQ(e.what(), "the new rows' user_id \"ann\" is not an integer, but the model's user_ids are integers");
    e = expect_error([&] { add_update_row(active, text, "1", "100", "x", true); });
    e = expect_error([&] { update_model(active, "shop", InteractionBuilder{}, "{}", Context{}); });
    EXPECT_STREQ(e.what(), "the query of new rows returned no rows with a user_id and an item_id");
    text.add(std::string_view("ann"), int64_t(100), 1.0);  // not through add_update_row: text user ids
    e = expect_error([&] { update_model(active, "shop", text, "{}", Context{}); });
    EXPECT_STREQ(e.what(), "the new rows' ids are not of the types of the model's ids");
}

// The ALS update's solver path by brute force: with the exact solver and one
// pass, each touched user's factors are the dense solve of the normal
// equations over the union against the active model's item factors, each
// touched item's the dense solve against the users so updated, and every
// other row keeps its factors; per-row lambdas are the union's.
TEST(Update, AlsPassSolvesTheTouchedRowsExactly) {
    const auto old_rows = rows(21, 300);
    std::mt19937 gen(22);
    std::vector<Row> fresh;  // seen items only: no random start is solved against
    for (int k = 0; k < 14; ++k) fresh.push_back({int64_t(1 + gen() % 40), int64_t(100 + gen() % 30), double(1 + gen() % 2)});
    for (int64_t user : {41, 43}) fresh.push_back({user, int64_t(100 + gen() % 30), 2.0});
    struct AlsCase {
        double lambda, alpha, nu;
        bool binary;
    };
    for (const AlsCase k : {AlsCase{0.5, 2, 1, false}, AlsCase{2, 1, 0, true}}) {
        const std::string params = "{\"factors\": 4, \"solver\": \"cholesky\", \"regularization\": " +
                                   std::to_string(k.lambda) + ", \"alpha\": " + std::to_string(k.alpha) +
                                   ", \"regularization_exponent\": " + std::to_string(k.nu) +
                                   ", \"binary\": " + (k.binary ? "true" : "false") + "}";
        SCOPED_TRACE(params);
        const Model active = reload(train_model("als", builder(old_rows), params, Context{}));
        const UpdateResult up = update_model(active, "m", builder(fresh), R"({"iterations": 1})", Context{});
        const als::FactorPair* before = als::factors_of(*active.scorer);
        const als::FactorPair* after = als::factors_of(*up.model.scorer);
        ASSERT_TRUE(before && after);
        // The union's weights, and which of its rows the new rows touch.
        const uint32_t n_users = up.model.n_users(), n_items = up.model.n_items();
        ASSERT_EQ(n_items, active.n_items());
        Eigen::MatrixXd w = Eigen::MatrixXd::Zero(n_users, n_items);
        std::set<uint32_t> touched_users, touched_items;
        for (const std::vector<Row>* part : {&old_rows, const_cast<const std::vector<Row>*>(&fresh)})
            for (const Row& r : *part) {
                const uint32_t u = *up.model.users.find(r.user), i = *up.model.items.find(r.item);
                w(u, i) += r.weight;
                if (part == &fresh) touched_users.insert(u), touched_items.insert(i);
            }
        if (k.binary) w = (w.array() > 0).cast<double>();
        const Eigen::MatrixXd conf = 1.0 + k.alpha * w.array();
        // lambda_r = scale n_r^nu, n_r = (other side's size) + alpha (row's weight sum).
        const Eigen::ArrayXd n_user = double(n_items) + (conf.array() - 1.0).rowwise().sum();
        const Eigen::ArrayXd n_item = double(n_users) + (conf.array() - 1.0).colwise().sum().transpose();
        const double scale =
            k.lambda * (n_users + n_items) / (n_user.pow(k.nu).sum() + n_item.pow(k.nu).sum());
        // Dense solve of one row: (F^T C_r F + lambda_r I) v = F^T C_r p_r.
        auto solve = [&](const Eigen::MatrixXd& fixed, const Eigen::VectorXd& conf, double n_r) {
            const Eigen::VectorXd p = (conf.array() > 1.0).cast<double>();
            const Eigen::MatrixXd a = fixed.transpose() * conf.asDiagonal() * fixed +
                                      scale * std::pow(n_r, k.nu) * Eigen::MatrixXd::Identity(4, 4);
            return Eigen::VectorXd(a.ldlt().solve(fixed.transpose() * conf.asDiagonal() * p));
        };
        Eigen::MatrixXd users(n_users, 4), items = before->items.cast<double>();
        for (uint32_t u = 0; u < n_users; ++u) {
            if (touched_users.count(u)) users.row(u) = solve(items, conf.row(u).transpose(), n_user[u]).transpose();
            else users.row(u) = before->users.row(*active.users.find(up.model.users.int_at(u))).cast<double>();
        }
        for (uint32_t i : touched_items) items.row(i) = solve(users, conf.col(i), n_item[i]).transpose();
        EXPECT_LT((after->users.cast<double>() - users).cwiseAbs().maxCoeff(), 1e-4);
        EXPECT_LT((after->items.cast<double>() - items).cwiseAbs().maxCoeff(), 1e-4);
        EXPECT_EQ(after->regularization.exponent, float(k.nu));
        EXPECT_NEAR(after->regularization.scale, scale, 1e-9 * scale);
    }
}

namespace {

// Users of 8 tastes buying from Zipf-like item popularity, mostly within
// their taste's items; one bought item per user held out for testing.
struct Data {
    std::vector<Row> train;
    std::map<int64_t, int64_t> held_out;  // user -> item
};

Data taste_data(uint32_t users, uint32_t items, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> pop(items);
    for (uint32_t i = 0; i < items; ++i) pop[i] = 1.0 / std::pow(1.0 + (i * 7919u) % items, 0.8);
    Data d;
    for (uint32_t user = 0; user < users; ++user) {
        const uint32_t taste = user % 8;
        std::discrete_distribution<uint32_t> pick(items, 0, items, [&](double x) {
            const uint32_t i = uint32_t(x);
            return pop[i] * (i % 8 == taste ? 12.0 : 1.0);
        });
        std::set<uint32_t> basket;
        const uint32_t n = 5 + gen() % 10;
        while (basket.size() < n) basket.insert(pick(gen));
        std::vector<uint32_t> v(basket.begin(), basket.end());
        const uint32_t h = v[gen() % v.size()];
        d.held_out[user] = h;
        for (uint32_t i : v)
            if (i != h) d.train.push_back({int64_t(user), int64_t(i), 1.0});
    }
    return d;
}

double ndcg10(const Model& m, const Data& d) {
    TestSet test;
    for (const auto& [user, item] : d.held_out) {
        std::vector<uint32_t> items;
        if (auto i = m.items.find(item)) items.push_back(*i);
        else items.push_back(m.n_items());
        test.add(m.users.find(user), items);
    }
    return *evaluate(m, test, 10, Context{}).all.ndcg;
}

}  // namespace

// The approximate updates: trained on the rows of all but the last 10% of
// users and of 10% of the others' rows, updated with those, against a full
// retrain on the union; nDCG@10 on one held-out item per user.
TEST(Update, FactorModelsRankWithinHalfAPointOfAFullRetrain) {
    const Data d = taste_data(2000, 300, 5);
    std::vector<Row> old_rows, fresh;
    std::mt19937 gen(6);
    for (const Row& r : d.train) {
        const bool is_new = r.user >= 1800 || gen() % 10 == 0;
        (is_new ? fresh : old_rows).push_back(r);
    }
    for (const Case& c : {Case{"als", "{\"factors\": 32, \"regularization\": 1}"},
                          Case{"bpr", "{\"factors\": 32, \"iterations\": 60, \"learning_rate\": 0.05}"}}) {
        SCOPED_TRACE(c.algorithm);
        const Model active = train_model(c.algorithm, builder(old_rows), c.params, Context{});
        const UpdateResult up = update_model(reload(active), "m", builder(fresh), "{}", Context{});
        const Model full = train_model(c.algorithm, builder(concat(old_rows, fresh)), active.params_json, Context{});
        EXPECT_NE(up.summary_json.find("\"exact\": false"), std::string::npos);
        ASSERT_EQ(up.model.n_users(), full.n_users());
        const double updated = ndcg10(up.model, d), retrained = ndcg10(full, d), before = ndcg10(active, d);
        std::printf("%s: nDCG@10 before the update %.4f, updated %.4f, full retrain %.4f\n", c.algorithm, before, updated,
                    retrained);
        EXPECT_GE(updated, retrained - 0.005);
        // Same ids and history as the full retrain: only the factors differ.
        EXPECT_EQ(up.model.history.indices, full.history.indices);
        EXPECT_EQ(up.model.popularity, full.popularity);
    }
}
