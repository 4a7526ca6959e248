// Item-kNN similarities (cosine, co-occurrence, Jaccard) and weightings
// (tf-idf, BM25) against the brute-force dense computation of
// itemknn_reference.h, the parameter combinations that are rejected, and determinism across threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "errors.h"
#include "itemknn.h"
#include "itemknn_reference.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;
using namespace itemknn_reference;

namespace {

Model train(const Data& d, const std::string& params, int threads = 1) {
    Context ctx;
    ctx.threads = threads;
    return train_model("itemknn", d.rows, params, ctx);
}

double tolerance(double x) { return 1e-5 * std::max(1.0, std::fabs(x)); }

// similar_items gives, for each item, a valid top-N of the reference (equal
// scores may come in any order) with the reference similarities; `kept`
// gets each item's neighbours.
void check_neighbours(const Model& m, const Dense& sim, size_t n_neighbours, std::vector<std::vector<uint32_t>>& kept) {
    kept.assign(m.n_items(), {});
    for (uint32_t i = 0; i < m.n_items(); ++i) {
        std::vector<double> want;
        for (uint32_t j = 0; j < m.n_items(); ++j)
            if (j != i && sim[i][j] > 0) want.push_back(sim[i][j]);
        std::sort(want.rbegin(), want.rend());
        if (want.size() > n_neighbours) want.resize(n_neighbours);
        auto got = similar_items(m, i, n_neighbours + 5);
        ASSERT_EQ(got.size(), want.size()) << "item " << i;
        for (size_t p = 0; p < got.size(); ++p) {
            EXPECT_NE(got[p].item, i);
            EXPECT_NEAR(got[p].score, want[p], tolerance(want[p])) << "item " << i << " rank " << p;
            EXPECT_NEAR(got[p].score, sim[i][got[p].item], tolerance(want[p])) << "item " << i << " rank " << p;
            kept[i].push_back(got[p].item);
        }
        std::sort(kept[i].begin(), kept[i].end());
        EXPECT_TRUE(std::adjacent_find(kept[i].begin(), kept[i].end()) == kept[i].end()) << "item " << i;
    }
}

// The weight a basket item with input weight w gets: the training matrix's
// weighting without the user's idf (a constant per user).
double basket_weight(const Variant& v, const Reference& ref, uint32_t item, double w) {
    if (v.binary) w = 1;
    if (v.weighting == "tfidf") return std::sqrt(w);
    if (v.weighting == "bm25") return w * (v.k1 + 1) / (w + v.k1 * ref.norm[item]);
    return w;
}

// recommend_user scores are sum over the user's items j of
// basket_weight(w_j) * sim(j, i) over j's kept neighbours, and explain's
// contributions are those terms.
void check_scores(const Data& d, const Model& m, const Reference& ref, const std::vector<std::vector<uint32_t>>& kept,
                  const Variant& v) {
    for (uint32_t u = 0; u < m.n_users(); u += 3) {
        std::vector<double> want(m.n_items(), 0.0), bw(m.n_items(), 0.0);
        std::vector<bool> own(m.n_items(), false);
        for (uint32_t j = 0; j < m.n_items(); ++j) {
            double w = d.x[m.users.int_at(u)][m.items.int_at(j)];
            if (w == 0) continue;
            own[j] = true;
            bw[j] = basket_weight(v, ref, j, w);
            for (uint32_t i : kept[j]) want[i] += bw[j] * ref.sim[j][i];
        }
        const std::vector<double> ranked = model_ranking(want, own);
        RecommendOptions o;
        o.k = 8;
        size_t r = 0;
        const Basket h = m.history_of(u);
        for (const auto& rec : recommend_user(m, u, o)) {
            EXPECT_FALSE(own[rec.item]);
            if (rec.source != Source::Model) continue;
            ASSERT_LT(r, ranked.size());
            EXPECT_NEAR(rec.score, want[rec.item], tolerance(want[rec.item])) << "user " << u;
            EXPECT_NEAR(rec.score, ranked[r], tolerance(ranked[r])) << "user " << u << " rank " << r;
            ++r;
            double sum = 0;
            for (const auto& c : explain(m, h, u, rec.item)) {
                sum += c.score;
                EXPECT_NEAR(c.score, bw[c.item] * ref.sim[c.item][rec.item], tolerance(c.score));
            }
            EXPECT_NEAR(sum, rec.score, tolerance(rec.score));
        }
        EXPECT_EQ(r, std::min<size_t>(8, ranked.size())) << "user " << u;
        // An anonymous basket with the same items and weights scores the same.
        auto anon = recommend_basket(m, h, o);
        auto known = recommend_user(m, u, o);
        ASSERT_EQ(anon.size(), known.size());
        for (size_t p = 0; p < anon.size(); ++p) EXPECT_EQ(anon[p].item, known[p].item);
    }
}

void check_variant(const Data& d, const Variant& v) {
    SCOPED_TRACE(v.name());
    Model m = train(d, v.params());
    Reference ref = brute_force(d, m, v);
    std::vector<std::vector<uint32_t>> kept;
    check_neighbours(m, ref.sim, v.neighbours, kept);
    if (::testing::Test::HasFatalFailure()) return;
    check_scores(d, m, ref, kept, v);
    // The model reads back and scores the same.
    auto bytes = m.serialize();
    Model back = Model::deserialize(bytes.data(), bytes.size());
    EXPECT_TRUE(back.serialize() == bytes);
    RecommendOptions o;
    for (uint32_t u = 0; u < m.n_users(); u += 5) {
        auto x = recommend_user(m, u, o), y = recommend_user(back, u, o);
        ASSERT_EQ(x.size(), y.size());
        for (size_t p = 0; p < x.size(); ++p) {
            EXPECT_EQ(x[p].item, y[p].item);
            EXPECT_EQ(x[p].score, y[p].score);
        }
    }
}

void expect_invalid(const Data& d, const std::string& params, const std::string& message_part) {
    try {
        train(d, params);
        ADD_FAILURE() << params << " was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput) << params;
        EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos)
            << params << ": \"" << e.what() << "\" lacks \"" << message_part << "\"";
    }
}

}  // namespace

TEST(ItemKnnVariants, CosineMatchesBruteForce) {
    Data d = make_data(50, 30, 0.2, 11, Weights::HeavyTailed);
    for (bool binary : {true, false})
        for (double shrinkage : {0.0, 5.0})
            for (size_t n : {3, 10, 100}) {
                Variant v;
                v.binary = binary;
                v.shrinkage = shrinkage;
                v.neighbours = n;
                check_variant(d, v);
            }
}

TEST(ItemKnnVariants, TfidfMatchesBruteForce) {
    Data d = make_data(50, 30, 0.25, 12, Weights::HeavyTailed);
    for (bool binary : {true, false})
        for (double shrinkage : {0.0, 2.0})
            for (size_t n : {4, 100}) {
                Variant v;
                v.weighting = "tfidf";
                v.binary = binary;
                v.shrinkage = shrinkage;
                v.neighbours = n;
                check_variant(d, v);
            }
}

TEST(ItemKnnVariants, Bm25MatchesBruteForce) {
    Data d = make_data(50, 30, 0.25, 13, Weights::HeavyTailed);
    struct { double k1, b; bool def; } settings[] = {{1.2, 0.75, true}, {0.5, 0.0, false}, {3.0, 1.0, false},
                                                     {0.0, 0.5, false}};
    for (bool binary : {true, false})
        for (const auto& s : settings)
            for (size_t n : {4, 100}) {
                Variant v;
                v.weighting = "bm25";
                v.binary = binary;
                v.k1 = s.k1;
                v.b = s.b;
                v.default_bm25 = s.def;
                v.neighbours = n;
                v.shrinkage = s.def ? 1.0 : 0.0;
                check_variant(d, v);
            }
}

TEST(ItemKnnVariants, CooccurrenceMatchesBruteForce) {
    Data d = make_data(50, 30, 0.2, 14, Weights::HeavyTailed);
    for (size_t n : {1, 5, 100}) {
        Variant v;
        v.similarity = "cooccurrence";
        v.neighbours = n;
        check_variant(d, v);
    }
}

TEST(ItemKnnVariants, JaccardMatchesBruteForce) {
    Data d = make_data(50, 30, 0.2, 15, Weights::HeavyTailed);
    for (double shrinkage : {0.0, 3.0})
        for (size_t n : {2, 6, 100}) {
            Variant v;
            v.similarity = "jaccard";
            v.shrinkage = shrinkage;
            v.neighbours = n;
            check_variant(d, v);
        }
}

// Hand-computed on three_users() (u2 buys everything).
TEST(ItemKnnVariants, HandComputed) {
    const InteractionBuilder b = three_users();
    auto sims = [&](const std::string& params, const char* item) {
        Model m = train_model("itemknn", b, params, Context{});
        std::vector<std::pair<std::string, double>> out;
        for (const auto& s : similar_items(m, *m.items.find(std::string_view(item)), 10))
            out.push_back({m.items.text_at(s.item), s.score});
        return out;
    };
    using P = std::vector<std::pair<std::string, double>>;
    auto expect = [](const P& got, const P& want) {
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].first, want[i].first);
            EXPECT_NEAR(got[i].second, want[i].second, 1e-6);
        }
    };
    // Co-occurrence: A and B share u1, u2; A and C share u2.
    expect(sims(R"({"similarity": "cooccurrence"})", "A"), P{{"B", 2}, {"C", 1}});
    expect(sims(R"({"similarity": "cooccurrence"})", "C"), P{{"A", 1}, {"B", 1}});
    // Jaccard: |AB| / |A u B| = 2 / 2; |AC| / |A u C| = 1 / 3; with shrinkage 1: 2 / 3 and 1 / 4.
    expect(sims(R"({"similarity": "jaccard"})", "A"), P{{"B", 1.0}, {"C", 1.0 / 3}});
    expect(sims(R"({"similarity": "jaccard", "shrinkage": 1})", "A"), P{{"B", 2.0 / 3}, {"C", 0.25}});
    // tf-idf: idf(u1) = ln(3/2), idf(u2) = ln(3/3) = 0, idf(u3) = ln 3. u2 bought
    // every item and carries no information: A = B = (ln 1.5, 0, 0), C = (0, 0, ln 3),
    // so sim(A, B) = 1 and C has no neighbour.
    expect(sims(R"({"weighting": "tfidf"})", "A"), P{{"B", 1.0}});
    expect(sims(R"({"weighting": "tfidf"})", "C"), P{});
}

// With binary input, BM25 multiplies each item's row by a constant (its
// length normalisation) times the users' idf, as tf-idf does up to that
// constant, so the cosines are identical.
TEST(ItemKnnVariants, BinaryBm25EqualsBinaryTfidfCosine) {
    Data d = make_data(60, 40, 0.2, 16, Weights::HeavyTailed);
    Model t = train(d, R"({"weighting": "tfidf", "binary": true, "neighbours": 10})");
    Model b = train(d, R"({"weighting": "bm25", "binary": true, "bm25_k1": 2, "bm25_b": 1, "neighbours": 10})");
    for (uint32_t i = 0; i < t.n_items(); ++i) {
        auto x = similar_items(t, i, 10), y = similar_items(b, i, 10);
        ASSERT_EQ(x.size(), y.size());
        for (size_t p = 0; p < x.size(); ++p) EXPECT_NEAR(x[p].score, y[p].score, 1e-5);
    }
}

// The item-kNN parameters of a model, without those every algorithm takes.
std::string knn_params(const Model& m) {
    std::string p = m.params_json;
    for (const char* generic : {R"("min_items_per_user": 1, )", R"("min_users_per_item": 1, )",
                                R"("pseudonymized_ids": false, )", R"("store_history": true, )",
                                R"(, "store_history": true)"}) {
        auto at = p.find(generic);
        if (at != std::string::npos) p.erase(at, std::string(generic).size());
    }
    return p;
}

TEST(ItemKnnVariants, DefaultsAreRecorded) {
    Data d = make_data(20, 10, 0.4, 17, Weights::HeavyTailed);
    // BM25 on the input quantities, 10 neighbours (see itemknn.h).
    Model m = train(d, "{}");
    EXPECT_EQ(knn_params(m),
              R"({"binary": false, "bm25_b": 0.75, "bm25_k1": 1.2, "neighbours": 10, "shrinkage": 0, )"
              R"("similarity": "cosine", "weighting": "bm25"})");
    // Without BM25's saturation, binary is the default.
    Model n = train(d, R"({"weighting": "none"})");
    EXPECT_EQ(knn_params(n), R"({"binary": true, "neighbours": 10, "shrinkage": 0, "similarity": "cosine", "weighting": "none"})");
    Model t = train(d, R"({"weighting": "tfidf"})");
    EXPECT_NE(t.params_json.find(R"("binary": true)"), std::string::npos) << t.params_json;
    Model j = train(d, R"({"similarity": "jaccard"})");
    EXPECT_EQ(knn_params(j), R"({"binary": true, "neighbours": 10, "shrinkage": 0, "similarity": "jaccard"})");
    Model c = train(d, R"({"similarity": "cooccurrence", "binary": true})");
    EXPECT_EQ(knn_params(c), R"({"binary": true, "neighbours": 10, "similarity": "cooccurrence"})");
    // The defaults are BM25 with default k1 and b on unbinarised input.
    Variant v;
    v.weighting = "bm25";
    v.binary = false;
    v.neighbours = 10;
    Model e = train(d, v.params());
    EXPECT_TRUE(e.serialize().size() == m.serialize().size());
    for (uint32_t i = 0; i < m.n_items(); ++i) {
        auto x = similar_items(m, i, 20), y = similar_items(e, i, 20);
        ASSERT_EQ(x.size(), y.size());
        for (size_t p = 0; p < x.size(); ++p) {
            EXPECT_EQ(x[p].item, y[p].item);
            EXPECT_EQ(x[p].score, y[p].score);
        }
    }
}

// Sparse data (< 10 buyers per item and < 0.4% of pairs bought) gets plain
// cosine with shrinkage 100 and 100 neighbours; given values still win.
TEST(ItemKnnVariants, SparseDataDefaults) {
    Data sparse = make_data(2000, 500, 0.002, 21, Weights::HeavyTailed);  // ~4 buyers per item, 0.2%
    EXPECT_EQ(knn_params(train(sparse, "{}")),
              R"({"binary": true, "neighbours": 100, "shrinkage": 100, "similarity": "cosine", "weighting": "none"})");
    EXPECT_EQ(knn_params(train(sparse, R"({"weighting": "bm25", "neighbours": 10, "shrinkage": 0})")),
              R"({"binary": false, "bm25_b": 0.75, "bm25_k1": 1.2, "neighbours": 10, "shrinkage": 0, )"
              R"("similarity": "cosine", "weighting": "bm25"})");
    EXPECT_EQ(knn_params(train(sparse, R"({"similarity": "jaccard"})")),
              R"({"binary": true, "neighbours": 100, "shrinkage": 0, "similarity": "jaccard"})");
    Data many_buyers = make_data(5000, 1000, 0.003, 22, Weights::HeavyTailed);  // 0.3%, but ~15 buyers per item
    EXPECT_NE(knn_params(train(many_buyers, "{}")).find(R"("weighting": "bm25")"), std::string::npos);
    Data small = make_data(20, 10, 0.4, 24, Weights::HeavyTailed);  // 8 buyers per item, but 40% of pairs: dense
    EXPECT_NE(knn_params(train(small, "{}")).find(R"("weighting": "bm25")"), std::string::npos);
}

TEST(ItemKnnVariants, MeaninglessCombinationsAreRejected) {
    Data d = make_data(20, 10, 0.4, 18, Weights::HeavyTailed);
    expect_invalid(d, R"({"similarity": "jaccard", "weighting": "tfidf"})",
                   "parameter \"weighting\" applies only with \"similarity\": \"cosine\"");
    expect_invalid(d, R"({"similarity": "cooccurrence", "weighting": "bm25"})",
                   "parameter \"weighting\" applies only with \"similarity\": \"cosine\"");
    expect_invalid(d, R"({"similarity": "jaccard", "weighting": "none"})", "\"weighting\" applies only");
    expect_invalid(d, R"({"similarity": "jaccard", "binary": false})",
                   "similarity \"jaccard\" needs binary input, so \"binary\" cannot be false");
    expect_invalid(d, R"({"similarity": "cooccurrence", "binary": false})", "needs binary input");
    expect_invalid(d, R"({"similarity": "cooccurrence", "shrinkage": 5})",
                   "parameter \"shrinkage\" does not apply to \"similarity\": \"cooccurrence\"");
    expect_invalid(d, R"({"weighting": "none", "bm25_k1": 1.5})", "parameter \"bm25_k1\" applies only with \"weighting\": \"bm25\"");
    expect_invalid(d, R"({"weighting": "tfidf", "bm25_b": 0.5})", "parameter \"bm25_b\" applies only");
    expect_invalid(d, R"({"similarity": "jaccard", "bm25_k1": 1})", "parameter \"bm25_k1\" applies only");
    expect_invalid(d, R"({"weighting": "bm25", "bm25_b": 1.5})", "parameter \"bm25_b\" is 1.5, but must be between 0 and 1");
    expect_invalid(d, R"({"weighting": "bm25", "bm25_k1": -1})", "parameter \"bm25_k1\" is -1");
    expect_invalid(d, R"({"similarity": "pearson"})",
                   "parameter \"similarity\" is \"pearson\", but must be one of: cosine, cooccurrence, jaccard");
    expect_invalid(d, R"({"weighting": "idf"})", "must be one of: none, tfidf, bm25");
    expect_invalid(d, R"({"similarity": 1})", "parameter \"similarity\" must be a string");
    expect_invalid(d, R"({"neighbours": 0})", "parameter \"neighbours\" is 0");
    expect_invalid(d, R"({"similarity": "jaccard", "shrinkage": -1})", "parameter \"shrinkage\" is -1");
    expect_invalid(d, R"({"weighting": "tfidf", "k1": 1})", "unknown parameter \"k1\" for algorithm itemknn");
}

TEST(ItemKnnVariants, ThreadsGiveIdenticalModels) {
    Data d = make_data(120, 400, 0.05, 19, Weights::HeavyTailed);
    for (const char* params :
         {"{}", R"({"binary": false, "neighbours": 7, "shrinkage": 0.5})", R"({"weighting": "tfidf"})",
          R"({"weighting": "bm25", "binary": false, "neighbours": 5})", R"({"similarity": "cooccurrence", "neighbours": 3})",
          R"({"similarity": "jaccard", "shrinkage": 2, "neighbours": 9})"}) {
        auto a = train(d, params, 1).serialize();
        for (int threads : {2, 3, 8}) EXPECT_TRUE(a == train(d, params, threads).serialize()) << params << " " << threads;
        // And the model reads back to the same bytes.
        EXPECT_TRUE(Model::deserialize(a.data(), a.size()).serialize() == a) << params;
    }
}

// Differentially private co-occurrence: with a negligible noise scale the
// neighbours are the exact counts (every user here buys at most
// max_items_per_user items, so bounding drops nothing); the same seed gives
// the same model; a pair's noise is the same in both directions; strong
// noise changes the lists.
TEST(ItemKnnVariants, PrivateCooccurrence) {
    Data d = make_data(40, 12, 0.2, 31, Weights::HeavyTailed);
    auto sims = [](const Model& m, uint32_t i) {
        std::vector<float> out(m.n_items(), 0.0f);
        m.scorer->similar(i, out);
        return out;
    };
    const Model exact = train(d, R"({"similarity": "cooccurrence", "neighbours": 11})");
    const Model nearly = train(d, R"({"similarity": "cooccurrence", "neighbours": 11, "epsilon": 1000000,
                                      "max_items_per_user": 12, "seed": 3})");
    for (uint32_t i = 0; i < exact.n_items(); ++i) {
        auto a = sims(exact, i), b = sims(nearly, i);
        for (uint32_t j = 0; j < exact.n_items(); ++j)
            if (a[j] > 0) EXPECT_NEAR(a[j], b[j], 1e-3) << i << " " << j;
    }
    const std::string noisy = R"({"similarity": "cooccurrence", "neighbours": 11, "epsilon": 0.5, "seed": 3})";
    const Model p1 = train(d, noisy), p2 = train(d, noisy, 2);
    EXPECT_EQ(p1.serialize(), p2.serialize());
    bool changed = false;
    for (uint32_t i = 0; i < p1.n_items(); ++i) {
        auto a = sims(p1, i), e = sims(exact, i);
        for (uint32_t j = 0; j < p1.n_items(); ++j) {
            auto b = sims(p1, j);
            if (a[j] > 0 && b[i] > 0) EXPECT_EQ(a[j], b[i]);
            changed |= std::fabs(a[j] - e[j]) > 0.5f;
        }
    }
    EXPECT_TRUE(changed);
    expect_invalid(d, R"({"similarity": "jaccard", "epsilon": 1})", "parameter \"epsilon\" applies only to");
}
