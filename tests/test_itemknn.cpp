// Item-kNN with plain cosine ("weighting": "none") against the brute-force
// dense cosine of itemknn_reference.h, ties in the neighbour lists broken
// by the lower item index.
#include "itemknn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "errors.h"
#include "itemknn_reference.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;
using namespace itemknn_reference;

namespace {

// Brute-force neighbour lists in the model's item index space.
struct TopN {
    Dense sim;                             // full similarity
    std::vector<std::vector<Scored>> top;  // top-N per item, best first
    Dense sim_top;                         // sim restricted to each row's top-N
};

TopN top_n(const Data& d, const Model& m, bool binary, double shrinkage, size_t n_neighbours) {
    Variant plain_cosine;
    plain_cosine.binary = binary;
    plain_cosine.shrinkage = shrinkage;
    TopN r;
    r.sim = brute_force(d, m, plain_cosine).sim;
    const uint32_t n = m.n_items();
    r.sim_top.assign(n, std::vector<double>(n, 0.0));
    r.top.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
        std::vector<Scored> cand;
        for (uint32_t j = 0; j < n; ++j)
            if (j != i && r.sim[i][j] > 0) cand.push_back({j, float(r.sim[i][j])});
        std::sort(cand.begin(), cand.end(), [](const Scored& a, const Scored& b) {
            return a.score > b.score || (a.score == b.score && a.item < b.item);
        });
        if (cand.size() > n_neighbours) cand.resize(n_neighbours);
        for (const auto& s : cand) r.sim_top[i][s.item] = r.sim[i][s.item];
        r.top[i] = std::move(cand);
    }
    return r;
}

Model train(const Data& d, const std::string& params, Context ctx = Context{}) {
    return train_model("itemknn", d.rows, params, ctx);
}

void check_similar_items(const Model& m, const TopN& ref, size_t n_neighbours) {
    for (uint32_t i = 0; i < m.n_items(); ++i) {
        auto got = similar_items(m, i, n_neighbours + 5);
        const auto& want = ref.top[i];
        ASSERT_EQ(got.size(), want.size()) << "item " << i;
        for (size_t p = 0; p < got.size(); ++p) {
            EXPECT_EQ(got[p].item, want[p].item) << "item " << i << " rank " << p;
            EXPECT_NEAR(got[p].score, ref.sim[i][want[p].item], 1e-5) << "item " << i << " rank " << p;
        }
        // A smaller k gives a prefix.
        auto few = similar_items(m, i, 2);
        ASSERT_EQ(few.size(), std::min<size_t>(2, want.size()));
        for (size_t p = 0; p < few.size(); ++p) EXPECT_EQ(few[p].item, want[p].item);
    }
}

// recommend_user and explain against sum_j w_j * sim_top(j, i).
void check_recommendations(const Model& m, const TopN& ref, bool binary) {
    for (uint32_t u = 0; u < m.n_users(); u += 7) {
        Basket h = m.history_of(u);
        std::vector<double> want(m.n_items(), 0.0);
        std::vector<bool> own(m.n_items(), false);
        for (size_t k = 0; k < h.items.size(); ++k) {
            own[h.items[k]] = true;
            double w = binary ? 1.0 : h.weights[k];
            for (uint32_t i = 0; i < m.n_items(); ++i) want[i] += w * ref.sim_top[h.items[k]][i];
        }
        const std::vector<double> ranked = model_ranking(want, own);

        RecommendOptions o;
        o.k = 10;
        auto recs = recommend_user(m, u, o);
        ASSERT_EQ(recs.size(), std::min<size_t>(10, m.n_items() - h.items.size())) << "user " << u;
        size_t model_count = 0;
        for (size_t r = 0; r < recs.size(); ++r) {
            const auto& rec = recs[r];
            EXPECT_FALSE(own[rec.item]) << "user " << u << " was recommended their own item " << rec.item;
            if (rec.source != Source::Model) continue;
            ++model_count;
            ASSERT_LT(r, ranked.size());
            double tol = 1e-5 * std::max(1.0, want[rec.item]);
            EXPECT_NEAR(rec.score, want[rec.item], tol) << "user " << u << " item " << rec.item;
            EXPECT_NEAR(rec.score, ranked[r], tol) << "user " << u << " rank " << r;  // in the right place
            // explain: contributions are w_j * sim(j, i) and sum to the score.
            auto parts = explain(m, h, u, rec.item);
            double sum = 0;
            for (size_t p = 0; p < parts.size(); ++p) {
                sum += parts[p].score;
                auto it = std::find(h.items.begin(), h.items.end(), parts[p].item);
                ASSERT_NE(it, h.items.end());
                double w = binary ? 1.0 : h.weights[it - h.items.begin()];
                EXPECT_NEAR(parts[p].score, w * ref.sim_top[parts[p].item][rec.item], 1e-5);
                if (p > 0) {
                    EXPECT_GE(parts[p - 1].score, parts[p].score);
                }
            }
            EXPECT_NEAR(sum, rec.score, tol) << "user " << u << " item " << rec.item;
        }
        EXPECT_EQ(model_count, std::min<size_t>(10, ranked.size())) << "user " << u;
    }
}

}  // namespace

TEST(ItemKnn, BinaryMatchesBruteForce) {
    Data d = make_data(60, 40, 0.2, 1, Weights::Small);
    for (size_t n : {5, 10, 50}) {
        SCOPED_TRACE("neighbours " + std::to_string(n));
        Model m = train(d, R"({"weighting": "none", "neighbours": )" + std::to_string(n) + "}");
        ASSERT_EQ(m.n_items(), 40u);
        ASSERT_EQ(m.n_users(), 60u);
        TopN ref = top_n(d, m, true, 0.0, n);
        check_similar_items(m, ref, n);
        check_recommendations(m, ref, true);
    }
}

TEST(ItemKnn, WeightedMatchesBruteForce) {
    Data d = make_data(60, 40, 0.2, 2, Weights::Small);
    for (size_t n : {4, 12, 100}) {
        SCOPED_TRACE("neighbours " + std::to_string(n));
        Model m = train(d, R"({"weighting": "none", "binary": false, "neighbours": )" + std::to_string(n) + "}");
        TopN ref = top_n(d, m, false, 0.0, n);
        check_similar_items(m, ref, n);
        check_recommendations(m, ref, false);
    }
}

TEST(ItemKnn, ShrinkageMatchesBruteForce) {
    Data d = make_data(60, 40, 0.2, 3, Weights::Small);
    for (bool binary : {true, false}) {
        SCOPED_TRACE(binary ? "binary" : "weighted");
        Model m = train(d, std::string(R"({"weighting": "none", "neighbours": 8, "shrinkage": 10, "binary": )") +
                               (binary ? "true" : "false") + "}");
        TopN ref = top_n(d, m, binary, 10.0, 8);
        check_similar_items(m, ref, 8);
        check_recommendations(m, ref, binary);
        // Shrinkage lowers every similarity: dot / (|a||b| + 10) < dot / (|a||b|).
        TopN plain = top_n(d, m, binary, 0.0, 8);
        for (uint32_t i = 0; i < m.n_items(); ++i)
            for (const auto& s : similar_items(m, i, 3)) EXPECT_LT(s.score, plain.sim[i][s.item]);
    }
}

// Hand-computed on three_users():
// binary cosine: sim(A,B) = 2 / (sqrt2 sqrt2) = 1; sim(A,C) = 1 / (sqrt2 sqrt2) = 0.5
TEST(ItemKnn, HandComputedCosine) {
    const InteractionBuilder b = three_users();
    Model m = train_model("itemknn", b, R"({"weighting": "none"})", Context{});
    const uint32_t A = *m.items.find("A"), B = *m.items.find("B"), C = *m.items.find("C");
    auto sa = similar_items(m, A, 10);
    ASSERT_EQ(sa.size(), 2u);
    EXPECT_EQ(sa[0].item, B);
    EXPECT_NEAR(sa[0].score, 1.0, 1e-6);
    EXPECT_EQ(sa[1].item, C);
    EXPECT_NEAR(sa[1].score, 0.5, 1e-6);
    // With shrinkage 2: 2 / (2 + 2) = 0.5 and 1 / (2 + 2) = 0.25.
    Model s = train_model("itemknn", b, R"({"weighting": "none", "shrinkage": 2})", Context{});
    auto ss = similar_items(s, A, 10);
    ASSERT_EQ(ss.size(), 2u);
    EXPECT_NEAR(ss[0].score, 0.5, 1e-6);
    EXPECT_NEAR(ss[1].score, 0.25, 1e-6);
    // Weighted: A = (1, 2, 0), B = (4, 1, 0), C = (0, 3, 1).
    // sim(A,B) = 6 / (sqrt5 sqrt17); sim(A,C) = 6 / (sqrt5 sqrt10); sim(B,C) = 3 / (sqrt17 sqrt10).
    Model w = train_model("itemknn", b, R"({"weighting": "none", "binary": false})", Context{});
    auto wa = similar_items(w, A, 10);
    ASSERT_EQ(wa.size(), 2u);
    EXPECT_EQ(wa[0].item, C);
    EXPECT_NEAR(wa[0].score, 6 / (std::sqrt(5.0) * std::sqrt(10.0)), 1e-6);
    EXPECT_EQ(wa[1].item, B);
    EXPECT_NEAR(wa[1].score, 6 / (std::sqrt(5.0) * std::sqrt(17.0)), 1e-6);
    // u3 has only C: weighted scores 1 * sim(C, A), 1 * sim(C, B).
    auto recs = recommend_user(w, *w.users.find(int64_t(3)), RecommendOptions{});
    ASSERT_GE(recs.size(), 2u);
    EXPECT_EQ(recs[0].item, A);
    EXPECT_NEAR(recs[0].score, 6 / (std::sqrt(5.0) * std::sqrt(10.0)), 1e-6);
    EXPECT_EQ(recs[1].item, B);
    EXPECT_NEAR(recs[1].score, 3 / (std::sqrt(17.0) * std::sqrt(10.0)), 1e-6);
    // neighbours = 1 keeps only the best: A -> B (1 beats 0.5) in binary mode.
    Model one = train_model("itemknn", b, R"({"weighting": "none", "neighbours": 1})", Context{});
    auto o = similar_items(one, A, 10);
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].item, B);
}

TEST(ItemKnn, ThreadsGiveIdenticalModels) {
    Data d = make_data(100, 300, 0.05, 4, Weights::Small);
    for (const char* params : {"{}", R"({"binary": false, "neighbours": 7, "shrinkage": 0.5})"}) {
        Context one, two, three;
        one.threads = 1;
        two.threads = 2;
        three.threads = 3;
        auto a = train(d, params, one).serialize();
        auto b = train(d, params, two).serialize();
        auto c = train(d, params, three).serialize();
        EXPECT_TRUE(a == b) << params;
        EXPECT_TRUE(a == c) << params;
    }
}

TEST(ItemKnn, CancelAbortsTraining) {
    Data d = make_data(60, 400, 0.05, 5, Weights::Small);
    // Building polls twice; then item-kNN polls before each chunk (7 chunks of
    // 64 items). With 2 threads the worker may take every remaining chunk,
    // so only a cancel requested before the loop is certain to be seen.
    for (int threads : {1, 2}) {
        for (int after : {0, 1, 2, 3, 5}) {
            if (threads == 2 && after > 2) continue;
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
    Interactions data = d.rows.build(Context{});
    Params params = Params::parse_json("{}");
    Context ctx;
    ctx.check_cancel = [] { throw Cancelled(); };
    EXPECT_THROW(itemknn::train(data, params, ctx), Cancelled);
}

TEST(ItemKnn, MemoryLimit) {
    Data d = make_data(60, 40, 0.2, 6, Weights::Small);
    Context ctx;
    ctx.memory_limit_bytes = 1000;
    try {
        train(d, "{}", ctx);
        FAIL() << "expected ResourceLimit";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
    }
}

TEST(ItemKnn, ParameterErrors) {
    Data d = make_data(10, 10, 0.5, 7, Weights::Small);
    for (const char* params : {R"({"neighbours": 0})", R"({"neighbours": 2.5})", R"({"shrinkage": -1})",
                               R"({"binary": 1})", R"({"metric": "cosine"})"}) {
        try {
            train(d, params);
            ADD_FAILURE() << params << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidInput) << params;
        }
    }
}
