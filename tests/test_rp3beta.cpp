// RP3beta against a brute-force dense reference computed here: the walk's
// weights by naive loops over every (item, user, item), then each row's
// top-N and normalisation.
#include "rp3beta.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "errors.h"
#include "expect_error.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;

namespace {

struct Data {
    uint32_t users = 0, items = 0;
    std::vector<std::vector<bool>> x;  // users x items by external id: bought
    InteractionBuilder rows;
};

// Each pair present with probability `density`, weight 1..5 (ignored by
// the walk), some split over two rows.
Data make_data(uint32_t users, uint32_t items, double density, uint32_t seed) {
    Data d;
    d.users = users;
    d.items = items;
    d.x.assign(users, std::vector<bool>(items, false));
    std::mt19937 rng(seed);
    std::bernoulli_distribution present(density);
    for (uint32_t u = 0; u < users; ++u)
        for (uint32_t i = 0; i < items; ++i) {
            if (!present(rng)) continue;
            d.x[u][i] = true;
            const int w = 1 + int(rng() % 5);
            d.rows.add(int64_t(u), int64_t(i), double(w));
            if (rng() % 4 == 0) d.rows.add(int64_t(u), int64_t(i), 1.0);
        }
    return d;
}

struct Settings {
    double alpha = 1.0, beta = 0.5;
    size_t neighbours = 100;
    bool normalise = true;
    std::string json() const {
        return "{\"alpha\": " + std::to_string(alpha) + ", \"beta\": " + std::to_string(beta) +
               ", \"neighbours\": " + std::to_string(neighbours) + ", \"normalise\": " +
               (normalise ? "true" : "false") + "}";
    }
};

// W in the model's item index space, rows cut to their top-N and normalised.
std::vector<std::vector<double>> brute_force(const Data& d, const Model& m, const Settings& s) {
    const uint32_t n = m.n_items();
    std::vector<uint32_t> col(n);
    for (uint32_t i = 0; i < n; ++i) col[i] = uint32_t(m.items.int_at(i));
    auto bought = [&](uint32_t u, uint32_t i) { return bool(d.x[u][col[i]]); };
    std::vector<double> user_deg(d.users, 0.0), item_deg(n, 0.0);
    for (uint32_t u = 0; u < d.users; ++u)
        for (uint32_t i = 0; i < n; ++i)
            if (bought(u, i)) {
                ++user_deg[u];
                ++item_deg[i];
            }
    std::vector<std::vector<double>> w(n, std::vector<double>(n, 0.0));
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t j = 0; j < n; ++j) {
            if (j == i) continue;
            double walk = 0.0;  // P(i -> u)^alpha P(u -> j)^alpha over the users
            for (uint32_t u = 0; u < d.users; ++u)
                if (bought(u, i) && bought(u, j))
                    walk += std::pow(1.0 / item_deg[i], s.alpha) * std::pow(1.0 / user_deg[u], s.alpha);
            if (walk > 0) w[i][j] = walk / std::pow(item_deg[j], s.beta);
        }
        std::vector<uint32_t> order;
        for (uint32_t j = 0; j < n; ++j)
            if (w[i][j] > 0) order.push_back(j);
        std::sort(order.begin(), order.end(),
                  [&](uint32_t a, uint32_t b) { return w[i][a] > w[i][b] || (w[i][a] == w[i][b] && a < b); });
        for (size_t r = s.neighbours; r < order.size(); ++r) w[i][order[r]] = 0.0;
        double sum = 0.0;
        for (double v : w[i]) sum += v;
        if (s.normalise && sum > 0)
            for (double& v : w[i]) v /= sum;
    }
    return w;
}

Model train(const Data& d, const std::string& params, const Context& ctx = Context{}) {
    return train_model("rp3beta", d.rows, params, ctx);
}

void check_against(const Model& m, const std::vector<std::vector<double>>& w) {
    const uint32_t n = m.n_items();
    // similar_items: row i of W, largest first, nothing else.
    for (uint32_t i = 0; i < n; ++i) {
        const auto got = similar_items(m, i, n);
        size_t nonzero = 0;
        for (double v : w[i]) nonzero += v > 0;
        ASSERT_EQ(got.size(), nonzero) << "item " << i;
        for (size_t r = 0; r < got.size(); ++r) {
            EXPECT_NEAR(got[r].score, w[i][got[r].item], 1e-6 * w[i][got[r].item] + 1e-12) << "item " << i;
            if (r > 0) EXPECT_GE(got[r - 1].score, got[r].score);
        }
    }
    // Each user's scores (every bought item counts 1) and explanations.
    for (uint32_t u = 0; u < m.n_users(); u += 3) {
        const Basket h = m.history_of(u);
        std::vector<double> want(n, 0.0);
        for (uint32_t i : h.items)
            for (uint32_t j = 0; j < n; ++j) want[j] += w[i][j];
        std::vector<float> got(n, 0.0f);
        m.scorer->score(h, u, got);
        for (uint32_t j = 0; j < n; ++j) EXPECT_NEAR(got[j], want[j], 1e-5 * want[j] + 1e-12) << "user " << u;
        RecommendOptions o;
        o.k = 5;
        for (const auto& rec : recommend_user(m, u, o)) {
            EXPECT_EQ(std::count(h.items.begin(), h.items.end(), rec.item), 0);
            if (rec.source != Source::Model) continue;
            double sum = 0.0;
            for (const auto& part : explain(m, h, u, rec.item)) {
                EXPECT_NEAR(part.score, w[part.item][rec.item], 1e-6 * w[part.item][rec.item] + 1e-12);
                sum += part.score;
            }
            EXPECT_NEAR(sum, rec.score, 1e-5 * rec.score) << "user " << u << " item " << rec.item;
        }
    }
}

}  // namespace

TEST(Rp3beta, MatchesBruteForce) {
    const std::vector<Settings> variants = {
        {1.0, 0.5, 100, true},  {1.0, 0.5, 100, false}, {0.5, 0.0, 100, true}, {1.5, 1.0, 100, false},
        {0.0, 0.3, 100, false}, {1.0, 0.7, 5, true},    {0.8, 0.2, 3, false},  {2.0, 0.5, 1, true},
    };
    for (uint32_t seed : {1u, 2u, 3u}) {
        const Data d = make_data(50, 30, 0.15, seed);
        for (const Settings& s : variants) {
            SCOPED_TRACE("seed " + std::to_string(seed) + " " + s.json());
            const Model m = train(d, s.json());
            ASSERT_EQ(m.n_items(), 30u);
            check_against(m, brute_force(d, m, s));
        }
    }
}

// Three users, three items:  u1: A, B   u2: A, B, C   u3: C
// alpha 1, beta 0: W[A, B] = 1/2 (1/2 + 1/3), W[A, C] = 1/2 * 1/3,
// W[C, A] = W[C, B] = 1/2 * 1/3; beta 1 divides by the buyers of B (2), C (2).
TEST(Rp3beta, HandComputed) {
    InteractionBuilder b;
    for (auto [u, i] : {std::pair{1, "A"}, {1, "B"}, {2, "A"}, {2, "B"}, {2, "C"}, {3, "C"}})
        b.add(int64_t(u), std::string_view(i), 7.0);
    const Model m = train_model("rp3beta", b, R"({"alpha": 1, "beta": 0, "normalise": false})", Context{});
    const uint32_t A = *m.items.find("A"), B = *m.items.find("B"), C = *m.items.find("C");
    auto sa = similar_items(m, A, 10);
    ASSERT_EQ(sa.size(), 2u);
    EXPECT_EQ(sa[0].item, B);
    EXPECT_NEAR(sa[0].score, 0.5 * (0.5 + 1.0 / 3), 1e-7);
    EXPECT_EQ(sa[1].item, C);
    EXPECT_NEAR(sa[1].score, 0.5 / 3, 1e-7);
    // u3 has C only: A and B score W[C, A] = W[C, B], the tie broken by index.
    const auto recs = recommend_user(m, *m.users.find(int64_t(3)), RecommendOptions{});
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_NEAR(recs[0].score, 0.5 / 3, 1e-7);
    EXPECT_NEAR(recs[1].score, 0.5 / 3, 1e-7);
    EXPECT_EQ(recs[0].item, std::min(A, B));
    // Normalised (the default), beta 1: row A = (B: 5/12 / 2, C: 1/6 / 2) / sum.
    const Model n = train_model("rp3beta", b, R"({"alpha": 1, "beta": 1})", Context{});
    auto na = similar_items(n, A, 10);
    ASSERT_EQ(na.size(), 2u);
    EXPECT_NEAR(na[0].score, (5.0 / 24) / (5.0 / 24 + 1.0 / 12), 1e-6);
    EXPECT_NEAR(na[0].score + na[1].score, 1.0, 1e-6);
    // A basket of A and C: W[A, B] + W[C, B] for B.
    const auto folded = recommend_basket(n, Basket{{A, C}, {1.0f, 3.0f}}, RecommendOptions{});
    ASSERT_FALSE(folded.empty());
    EXPECT_EQ(folded[0].item, B);
    const double cb = (1.0 / 12) / (1.0 / 12 + 1.0 / 12);  // row C: A and B tie at 1/6 / 2
    EXPECT_NEAR(folded[0].score, na[0].score + cb, 1e-6);
}

// The graph is binary: the weights trained on do not change the model.
TEST(Rp3beta, WeightsAreIgnored) {
    const Data d = make_data(40, 25, 0.2, 9);
    InteractionBuilder ones;
    for (uint32_t u = 0; u < d.users; ++u)
        for (uint32_t i = 0; i < d.items; ++i)
            if (d.x[u][i]) ones.add(int64_t(u), int64_t(i), 1.0);
    const Model a = train(d, "{}");
    const Model b = train_model("rp3beta", ones, "{}", Context{});
    for (uint32_t i = 0; i < a.n_items(); ++i) {
        std::vector<float> ra(a.n_items()), rb(b.n_items());
        a.scorer->similar(i, ra);
        b.scorer->similar(i, rb);
        EXPECT_EQ(ra, rb);
    }
}

TEST(Rp3beta, ThreadsGiveIdenticalModels) {
    const Data d = make_data(120, 300, 0.05, 4);
    for (const char* params : {"{}", R"({"alpha": 0.6, "beta": 0.2, "neighbours": 7, "normalise": false})"}) {
        std::vector<std::vector<uint8_t>> bytes;
        for (int threads : {1, 2, 3}) {
            Context ctx;
            ctx.threads = threads;
            bytes.push_back(train(d, params, ctx).serialize());
        }
        EXPECT_TRUE(bytes[0] == bytes[1]) << params;
        EXPECT_TRUE(bytes[0] == bytes[2]) << params;
    }
}

TEST(Rp3beta, RoundTripsThroughTheModelBytes) {
    const Data d = make_data(50, 30, 0.15, 5);
    const Model m = train(d, R"({"neighbours": 4})");
    const std::vector<uint8_t> bytes = m.serialize();
    const Model back = Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.algorithm, "rp3beta");
    EXPECT_TRUE(back.serialize() == bytes);
    for (uint32_t u = 0; u < m.n_users(); u += 5) {
        std::vector<float> a(m.n_items()), b(m.n_items());
        m.scorer->score(m.history_of(u), u, a);
        back.scorer->score(back.history_of(u), u, b);
        EXPECT_EQ(a, b);
    }
}

TEST(Rp3beta, CancelAbortsTraining) {
    const Data d = make_data(60, 400, 0.05, 6);
    for (int threads : {1, 2}) {
        for (int after : {0, 1, 2, 3, 5}) {
            if (threads == 2 && after > 2) continue;  // the worker may take every remaining chunk
            Context ctx;
            ctx.threads = threads;
            int calls = 0;
            ctx.check_cancel = [&] {
                if (++calls > after) throw Cancelled();
            };
            EXPECT_THROW(train(d, "{}", ctx), Cancelled) << "threads " << threads << " after " << after;
        }
    }
    // Straight into the algorithm, past the data collection.
    const Interactions data = d.rows.build(Context{});
    const Params params = Params::parse_json("{}");
    Context ctx;
    ctx.check_cancel = [] { throw Cancelled(); };
    EXPECT_THROW(rp3beta::train(data, params, ctx), Cancelled);
}

TEST(Rp3beta, MemoryLimit) {
    const Data d = make_data(60, 40, 0.2, 7);
    Context ctx;
    ctx.memory_limit_bytes = 1000;
    expect_error([&] { train(d, "{}", ctx); }, ErrorKind::ResourceLimit);
}

TEST(Rp3beta, ParameterErrors) {
    const Data d = make_data(10, 10, 0.5, 8);
    Error e = expect_error([&] { train(d, R"({"beta": 1.5})"); });
    EXPECT_STREQ(e.what(), "parameter \"beta\" is 1.5, but must be between 0 and 1");
    e = expect_error([&] { train(d, R"({"beta": -0.1})"); });
    EXPECT_STREQ(e.what(), "parameter \"beta\" is -0.1, but must be between 0 and 1");
    for (const char* params : {R"({"alpha": -1})", R"({"neighbours": 0})", R"({"neighbours": 2.5})",
                               R"({"normalise": 1})", R"({"shrinkage": 1})"})
        expect_error([&] { train(d, params); });
}
