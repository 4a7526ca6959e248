#include "ease.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <thread>
#include <utility>

#include "compression.h"
#include "errors.h"
#include "expect_error.h"
#include "model.h"
#include "recommend.h"
#include "stop_check.h"

using namespace recsys;

namespace {

// A random users x items matrix: each pair present with probability
// `density`, weight 1..5.
CsrMatrix random_matrix(uint32_t users, uint32_t items, double density, uint32_t seed) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution present(density);
    std::uniform_int_distribution<int> weight(1, 5);
    CsrMatrix x;
    x.rows = users;
    x.cols = items;
    for (uint32_t u = 0; u < users; ++u) {
        for (uint32_t i = 0; i < items; ++i) {
            if (!present(rng)) continue;
            x.indices.push_back(i);
            x.values.push_back(float(weight(rng)));
        }
        x.indptr.push_back(x.indices.size());
    }
    return x;
}

Interactions interactions(CsrMatrix x) {
    Interactions d;
    d.matrix = std::move(x);
    return d;
}

Eigen::MatrixXd dense(const CsrMatrix& x, bool binary) {
    Eigen::MatrixXd d = Eigen::MatrixXd::Zero(x.rows, x.cols);
    for (uint32_t u = 0; u < x.rows; ++u)
        for (uint64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) d(u, x.indices[p]) = binary ? 1.0 : x.values[p];
    return d;
}

// The closed form, by a plain dense inverse: B = I - P diag(1/diag(P)).
Eigen::MatrixXd reference_weights(const Eigen::MatrixXd& x, double lambda) {
    const Eigen::Index n = x.cols();
    Eigen::MatrixXd g = x.transpose() * x + lambda * Eigen::MatrixXd::Identity(n, n);
    Eigen::MatrixXd p = g.inverse();
    Eigen::MatrixXd b(n, n);
    for (Eigen::Index j = 0; j < n; ++j)
        for (Eigen::Index k = 0; k < n; ++k) b(j, k) = j == k ? 0.0 : -p(j, k) / p(k, k);
    return b;
}

// Weights in float32 unless `json` says otherwise: these tests check the
// maths against the closed form at float32 precision (float16, the default,
// is checked against the weights it rounds in test_compression.cpp).
std::unique_ptr<Scorer> train(const CsrMatrix& x, const std::string& json, int threads = 1) {
    Context ctx;
    ctx.threads = threads;
    Params params = Params::parse_json(json);
    if (!params.has("compression")) params.set("compression", std::string("none"));
    return ease::train(interactions(x), params, ctx);
}

Eigen::MatrixXd weights_of(const Scorer& s, uint32_t n_items) {
    Eigen::MatrixXd b(n_items, n_items);
    std::vector<float> row(n_items);
    for (uint32_t j = 0; j < n_items; ++j) {
        std::fill(row.begin(), row.end(), 0.0f);
        EXPECT_TRUE(s.similar(j, row));
        for (uint32_t k = 0; k < n_items; ++k) b(j, k) = row[k];
    }
    return b;
}

void expect_close(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want) {
    ASSERT_EQ(got.rows(), want.rows());
    ASSERT_EQ(got.cols(), want.cols());
    const double scale = want.cwiseAbs().maxCoeff();
    EXPECT_LE((got - want).cwiseAbs().maxCoeff(), 1e-5 * scale);
}

Basket basket_of(const CsrMatrix& x, uint32_t u) {
    auto idx = x.row_indices(u);
    auto val = x.row_values(u);
    return {{idx.begin(), idx.end()}, {val.begin(), val.end()}};
}

std::vector<uint8_t> payload(const Scorer& s) {
    ByteWriter w;
    s.write(w);
    return w.bytes();
}

std::unique_ptr<Scorer> read_payload(const std::vector<uint8_t>& bytes, uint32_t n_items) {
    ByteReader r(bytes.data(), bytes.size());
    return ease::read(r, 0, n_items);
}

ErrorKind kind_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "no recsys::Error thrown";
    return ErrorKind::Internal;
}

}  // namespace

TEST(Ease, WeightsMatchClosedFormBinary) {
    CsrMatrix x = random_matrix(60, 25, 0.2, 1);
    auto s = train(x, R"({"lambda": 2.5})");
    expect_close(weights_of(*s, 25), reference_weights(dense(x, true), 2.5));
}

TEST(Ease, WeightsMatchClosedFormWeighted) {
    CsrMatrix x = random_matrix(60, 25, 0.2, 2);
    auto s = train(x, R"({"lambda": 7, "binary": false})");
    expect_close(weights_of(*s, 25), reference_weights(dense(x, false), 7.0));
}

// More items than two factorisation blocks (256), so the blocked Cholesky,
// its trailing updates and the block-wise inverse all take part.
TEST(Ease, WeightsMatchClosedFormAcrossBlocks) {
    CsrMatrix x = random_matrix(500, 600, 0.03, 3);
    auto s = train(x, R"({"lambda": 1})", 2);
    expect_close(weights_of(*s, 600), reference_weights(dense(x, true), 1.0));
}

TEST(Ease, DiagonalIsExactlyZero) {
    CsrMatrix x = random_matrix(200, 150, 0.1, 4);
    auto s = train(x, "{}");
    std::vector<float> row(150);
    for (uint32_t j = 0; j < 150; ++j) {
        std::fill(row.begin(), row.end(), 1.0f);
        ASSERT_TRUE(s->similar(j, row));
        EXPECT_EQ(row[j], 0.0f) << j;
    }
}

TEST(Ease, SameResultForAnyThreadCount) {
    CsrMatrix x = random_matrix(400, 600, 0.03, 5);
    EXPECT_EQ(payload(*train(x, "{}", 1)), payload(*train(x, "{}", 2)));
    EXPECT_EQ(payload(*train(x, "{}", 1)), payload(*train(x, "{}", 3)));
}

TEST(Ease, ScoresAreHistoryTimesWeights) {
    CsrMatrix x = random_matrix(40, 20, 0.25, 6);
    for (bool binary : {true, false}) {
        auto s = train(x, binary ? R"({"lambda": 3})" : R"({"lambda": 3, "binary": false})");
        Eigen::MatrixXd want = dense(x, binary) * reference_weights(dense(x, binary), 3.0);
        for (uint32_t u = 0; u < x.rows; ++u) {
            std::vector<float> out(20, 0.0f);
            s->score(basket_of(x, u), u, out);
            std::vector<float> anonymous(20, 0.0f);
            s->score(basket_of(x, u), std::nullopt, anonymous);
            EXPECT_EQ(out, anonymous);
            for (uint32_t k = 0; k < 20; ++k) EXPECT_NEAR(out[k], want(u, k), 1e-5) << u << " " << k;
        }
    }
}

TEST(Ease, ExplainSumsToScore) {
    CsrMatrix x = random_matrix(40, 20, 0.25, 7);
    auto s = train(x, R"({"lambda": 2, "binary": false})");
    for (uint32_t u = 0; u < x.rows; ++u) {
        Basket b = basket_of(x, u);
        std::vector<float> scores(20, 0.0f);
        s->score(b, u, scores);
        for (uint32_t k = 0; k < 20; ++k) {
            std::vector<Contribution> parts;
            ASSERT_TRUE(s->explain(b, u, k, parts));
            double sum = 0.0;
            for (const auto& c : parts) {
                EXPECT_TRUE(std::find(b.items.begin(), b.items.end(), c.item) != b.items.end());
                EXPECT_NE(c.item, k);
                sum += c.score;
            }
            EXPECT_NEAR(sum, scores[k], 1e-5);
        }
    }
}

TEST(Ease, MaxItemsKeepsTheMostPopular) {
    // Distinct buyers per item: 0:3, 1:5, 2:1, 3:5, 4:3, 5:2. The three most
    // popular are 1 and 3 (5 each), then 0 (3 buyers, ties with 4 by index).
    const std::vector<std::vector<uint32_t>> rows = {
        {0, 1, 3, 4}, {0, 1, 3}, {1, 3, 5}, {1, 2, 3, 4}, {0, 1, 3, 4, 5}};
    CsrMatrix x;
    x.rows = uint32_t(rows.size());
    x.cols = 6;
    for (const auto& r : rows) {
        for (uint32_t i : r) {
            x.indices.push_back(i);
            x.values.push_back(2.0f);
        }
        x.indptr.push_back(x.indices.size());
    }
    auto s = train(x, R"({"lambda": 0.5, "max_items": 3})");

    // The modeled items' weights are EASE on those columns alone.
    const std::vector<uint32_t> kept = {0, 1, 3};
    Eigen::MatrixXd full = dense(x, true), sub(x.rows, 3);
    for (int c = 0; c < 3; ++c) sub.col(c) = full.col(kept[c]);
    Eigen::MatrixXd want = reference_weights(sub, 0.5);
    Eigen::MatrixXd got = weights_of(*s, 6);
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) EXPECT_NEAR(got(kept[a], kept[b]), want(a, b), 1e-5);
    // Items left out neither score nor are scored.
    for (uint32_t j : {2u, 4u, 5u}) {
        EXPECT_EQ(got.row(j).cwiseAbs().sum(), 0.0) << j;
        EXPECT_EQ(got.col(j).cwiseAbs().sum(), 0.0) << j;
        std::vector<Contribution> parts;
        EXPECT_TRUE(s->explain(basket_of(x, 4), 4, j, parts));
        EXPECT_TRUE(parts.empty());
    }
    std::vector<float> out(6, 0.0f);
    s->score(Basket{{2, 5}, {1, 1}}, std::nullopt, out);
    EXPECT_EQ(out, std::vector<float>(6, 0.0f));
}

TEST(Ease, UnmodeledBasketFallsBackToPopularity) {
    InteractionBuilder rows;
    // Items 10 and 11 are bought by everyone, 12 by two users, 13 by one.
    for (int64_t u = 0; u < 4; ++u) {
        rows.add(u, int64_t(10), 1.0);
        rows.add(u, int64_t(11), 1.0);
    }
    rows.add(int64_t(0), int64_t(12), 1.0);
    rows.add(int64_t(1), int64_t(12), 1.0);
    rows.add(int64_t(2), int64_t(13), 1.0);
    Model m = train_model("ease", rows, R"({"max_items": 2})", Context{});
    RecommendOptions o;
    o.k = 3;
    // A basket of the unmodeled item 13 (index 3) gets no EASE score.
    auto recs = recommend_basket(m, Basket{{3}, {1.0f}}, o);
    ASSERT_EQ(recs.size(), 3u);
    for (const auto& r : recs) EXPECT_EQ(r.source, Source::Popularity);
    EXPECT_EQ(recs[0].item, 0u);
    EXPECT_EQ(recs[1].item, 1u);
    EXPECT_EQ(recs[2].item, 2u);
}

TEST(Ease, RefusesBeforeAllocatingOverTheMemoryLimit) {
    // One user who bought 200,000 items, all of them asked for: two dense
    // float64 matrices would need 640 GB, so reaching the allocation would
    // fail loudly or kill the test.
    CsrMatrix x;
    x.rows = 1;
    x.cols = 200000;
    for (uint32_t i = 0; i < x.cols; ++i) {
        x.indices.push_back(i);
        x.values.push_back(1.0f);
    }
    x.indptr.push_back(x.indices.size());
    try {
        train(x, R"({"max_items": 200000})");
        FAIL() << "expected a resource limit error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
        EXPECT_STREQ(e.what(), "EASE training on 200000 items (two dense 200000 x 200000 matrices) needs 610355 MB, "
                               "more than the memory limit of 1024 MB");
        EXPECT_EQ(e.hint(), "Set \"max_items\" to model only the most popular items, or raise recsys.memory_limit.");
    }
    // A tiny limit refuses an explicit max_items that does not fit, and
    // tells no one anything else; a smaller one fits.
    CsrMatrix small = random_matrix(30, 100, 0.1, 8);
    Context ctx;
    ctx.memory_limit_bytes = 64 * 1024;
    int notices = 0;
    ctx.notice = [&](const std::string&, const std::string&) { ++notices; };
    EXPECT_EQ(kind_of([&] { ease::train(interactions(small), Params::parse_json(R"({"max_items": 100})"), ctx); }),
              ErrorKind::ResourceLimit);
    EXPECT_NE(ease::train(interactions(small), Params::parse_json(R"({"max_items": 20})"), ctx), nullptr);
    EXPECT_EQ(notices, 0);
}

// By default EASE models as many of the most popular items as fit the memory
// limit: m, the largest with 2 x m² x 8 bytes plus the input (X twice) within
// it. The model is the one an explicit max_items = m gives, and one notice
// says so, from the calling thread.
TEST(Ease, DefaultMaxItemsFitsTheMemoryLimit) {
    const CsrMatrix x = random_matrix(200, 300, 0.05, 14);
    const uint64_t input = 2 * x.bytes();
    auto dense_bytes = [](uint64_t m) { return 2 * m * m * 8; };
    const auto want = payload(*train(x, R"({"max_items": 120})", 2));
    // 120 fits exactly at the first limit, and up to one byte short of 121.
    for (uint64_t limit : {input + dense_bytes(120), input + dense_bytes(121) - 1}) {
        SCOPED_TRACE(limit);
        Context ctx;
        ctx.threads = 4;
        ctx.memory_limit_bytes = limit;
        std::vector<std::pair<std::string, std::string>> notices;
        const auto caller = std::this_thread::get_id();
        ctx.notice = [&](const std::string& m, const std::string& h) {
            EXPECT_EQ(std::this_thread::get_id(), caller);
            notices.emplace_back(m, h);
        };
        EXPECT_EQ(payload(*ease::train(interactions(x), Params::parse_json(R"({"compression": "none"})"), ctx)), want);
        ASSERT_EQ(notices.size(), 1u);
        EXPECT_EQ(notices[0].first, "EASE models the 120 most popular of 300 items, as many as fit "
                                    "recsys.memory_limit (" + std::to_string(limit / 1024) + " kB); the other 180 are recommended by popularity");
        EXPECT_EQ(notices[0].second, "To model more, raise recsys.memory_limit (training needs 16 bytes x items², and "
                                     "its time grows as items³); to choose the number, set \"max_items\".");
        // One byte less and 119 items are modeled.
        ctx.memory_limit_bytes = input + dense_bytes(120) - 1;
        notices.clear();
        EXPECT_EQ(payload(*ease::train(interactions(x), Params::parse_json(R"({"compression": "none"})"), ctx)),
                  payload(*train(x, R"({"max_items": 119})")));
        ASSERT_EQ(notices.size(), 1u);
        EXPECT_NE(notices[0].first.find("the 119 most popular of 300 items"), std::string::npos);
    }
    // All items fit (the default limit): no notice, the same model as all.
    Context ctx;
    int notices = 0;
    ctx.notice = [&](const std::string&, const std::string&) { ++notices; };
    EXPECT_EQ(payload(*ease::train(interactions(x), Params::parse_json(R"({"compression": "none"})"), ctx)),
              payload(*train(x, R"({"max_items": 300})")));
    EXPECT_EQ(notices, 0);
    // Not even one item fits beside the input: refused, saying why.
    ctx.memory_limit_bytes = input + dense_bytes(1) - 1;
    const Error e = expect_error([&] { ease::train(interactions(x), Params::parse_json("{}"), ctx); },
                                 ErrorKind::ResourceLimit);
    EXPECT_NE(std::string(e.what()).find("EASE training on 1 items"), std::string::npos) << e.what();
    EXPECT_EQ(e.hint(), "The interactions alone nearly fill the limit: raise recsys.memory_limit, or train on less "
                        "data.");
    EXPECT_EQ(notices, 0);
}

// What a model records: the max_items it was trained with, derived or not.
TEST(Ease, DerivedMaxItemsIsRecordedInTheModel) {
    InteractionBuilder rows;
    std::mt19937 rng(15);
    for (int64_t u = 0; u < 100; ++u)
        for (int64_t i = 0; i < 80; ++i)
            if (rng() % 5 == 0) rows.add(u, i, 1.0);
    Context ctx;
    ctx.memory_limit_bytes = 100 * 1024;  // the input ~30 kB, all 80 items ~100 kB
    int notices = 0;
    ctx.notice = [&](const std::string&, const std::string&) { ++notices; };
    const Model m = train_model("ease", rows, "{}", ctx);
    EXPECT_EQ(notices, 1);
    const auto max_items = Params::parse_json(m.params_json).get_int("max_items", 0, 0, 1000);
    EXPECT_GT(max_items, 0);
    EXPECT_LT(max_items, 80);
    const Model explicit_m =
        train_model("ease", rows, R"({"max_items": )" + std::to_string(max_items) + "}", Context{});
    EXPECT_EQ(explicit_m.serialize(), m.serialize());
}

TEST(Ease, RejectsBadParameters) {
    CsrMatrix x = random_matrix(10, 5, 0.5, 9);
    for (const char* json : {R"({"lambda": 0})", R"({"lambda": -1})", R"({"max_items": 0})",
                             R"({"max_items": 1.5})", R"({"binary": 1})", R"({"neighbours": 5})"})
        EXPECT_EQ(kind_of([&] { train(x, json); }), ErrorKind::InvalidInput) << json;
}

TEST(Ease, CancelStopsTraining) {
    CsrMatrix x = random_matrix(300, 300, 0.05, 10);
    Context ctx;
    int calls = 0;
    ctx.check_cancel = [&] {
        if (++calls > 3) throw Cancelled();
    };
    EXPECT_THROW(ease::train(interactions(x), Params::parse_json("{}"), ctx), Cancelled);
}

TEST(Ease, CancelWithManyThreadsStopsEachStepAndFreesEverything) {
    // 1,400 items: the factorisation and the inverse update several row
    // pieces per block. 64 threads, more than cores (though a step uses at
    // most one per block). Cancelled at the first check of the calling
    // thread in each step, or (for the long steps, whose every parallel loop
    // checks) at the second. The step stops before its end, and nothing is
    // left allocated.
    const CsrMatrix x = random_matrix(1500, 1400, 0.02, 21);
    const char* steps[] = {"", "Gram matrix", "Cholesky factor", "inverse"};  // logged before the step to stop
    for (int s = 0; s < 3; ++s) {
        for (int polls : {1, 2}) {
            if (s == 0 && polls > 1) continue;  // the Gram matrix may be done before a second check
            SCOPED_TRACE(std::string("after \"") + steps[s] + "\", poll " + std::to_string(polls));
            Context ctx;
            ctx.threads = 64;
            std::string progress;
            stop_check::cancel_after(ctx, steps[s], polls, progress);
            stop_check::expect_cancelled_and_freed(
                [&] { ease::train(interactions(x), Params::parse_json("{}"), ctx); });
            EXPECT_EQ(progress.find(steps[s + 1]), std::string::npos) << progress;
        }
    }
}

TEST(Ease, NonFiniteWeightsAreAnError) {
    // Raw weights of 3.4e38 next to 0.5 on an item bought by the same
    // users: regressing one on the other needs a weight beyond a float.
    InteractionBuilder rows;
    for (int64_t u = 0; u < 40; ++u) {
        if (u < 30) rows.add(u, int64_t(1), 0.5);
        rows.add(u, int64_t(2), u < 20 ? 3.4e38 : u < 30 ? 3.4e38 / 3 : 3.4e38 / 2);
        if (u % 3 == 0 || u >= 30) rows.add(u, int64_t(3), 1.0);
    }
    const Error e = expect_error([&] { train_model("ease", rows, R"({"binary": false, "lambda": 1})", Context{}); });
    EXPECT_STREQ(e.what(), "EASE failed: the item weights became non-finite (the weights are too large or too "
                           "unequal for the solve)");
    EXPECT_NE(e.hint().find("log_weight"), std::string::npos) << e.hint();
    // Binary, the default, is fine on the same rows.
    EXPECT_NO_THROW(train_model("ease", rows, "{}", Context{}));
}

TEST(Ease, PayloadRoundTrips) {
    CsrMatrix x = random_matrix(50, 30, 0.2, 11);
    auto s = train(x, R"({"max_items": 20, "binary": false})");
    auto bytes = payload(*s);
    auto back = read_payload(bytes, 30);
    EXPECT_EQ(payload(*back), bytes);
    std::vector<float> a(30, 0.0f), b(30, 0.0f);
    s->score(basket_of(x, 3), 3, a);
    back->score(basket_of(x, 3), 3, b);
    EXPECT_EQ(a, b);
}

TEST(Ease, ModelRoundTripsThroughSerialize) {
    InteractionBuilder rows;
    std::mt19937 rng(12);
    for (int64_t u = 0; u < 30; ++u)
        for (int64_t i = 0; i < 15; ++i)
            if (rng() % 3 == 0) rows.add(u, "sku" + std::to_string(i), 1.0 + rng() % 4);
    Model m = train_model("ease", rows, "{}", Context{});
    auto bytes = m.serialize();
    Model back = Model::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.algorithm, "ease");
    EXPECT_EQ(back.serialize(), bytes);
    RecommendOptions o;
    o.k = 5;
    auto a = recommend_user(m, 0u, o), b = recommend_user(back, 0u, o);
    ASSERT_EQ(a.size(), b.size());
    for (size_t r = 0; r < a.size(); ++r) {
        EXPECT_EQ(a[r].item, b[r].item);
        EXPECT_EQ(a[r].score, b[r].score);
    }
}

// Format 1 (0.1.0, 0.2.0): no padding before the weights. Still read.
TEST(Ease, ReadsFormat1And2Payloads) {
    CsrMatrix x = random_matrix(50, 30, 0.2, 14);
    auto s = train(x, R"({"max_items": 20})");
    const auto v3 = payload(*s);
    // Format 3: binary | items | u8 encoding | u64 kept | u8 pad | zeros |
    // u64 count | f32 weights. Format 1 has no encoding, kept nor padding;
    // format 2 pads the weights to 64 bytes from the payload's start.
    const size_t items_end = 1 + 8 + 20 * 4, weights_from = items_end + 9 + 1 + v3[items_end + 9];
    std::vector<uint8_t> v1(v3.begin(), v3.begin() + items_end);
    v1.insert(v1.end(), v3.begin() + weights_from, v3.end());
    std::vector<uint8_t> v2(v3.begin(), v3.begin() + items_end);
    const auto pad = uint8_t((64 - (items_end + 1 + 8) % 64) % 64);
    v2.push_back(pad);
    v2.insert(v2.end(), pad, 0);
    v2.insert(v2.end(), v3.begin() + weights_from, v3.end());
    for (auto [format, bytes] : {std::pair{1u, v1}, std::pair{2u, v2}}) {
        ByteReader r(bytes.data(), bytes.size());
        r.set_format(format);
        auto back = ease::read(r, 0, 30);
        EXPECT_EQ(r.remaining(), 0u);
        EXPECT_EQ(payload(*back), v3);  // written again in today's format
    }
}

// With an owner of the bytes, a loaded model uses its weights in place and
// keeps the bytes alive; it scores as the copied one does. So do float16
// weights (the default), which are widened as they are read.
TEST(Ease, LoadedModelViewsTheBytes) {
    InteractionBuilder rows;
    std::mt19937 rng(15);
    for (int64_t u = 0; u < 40; ++u)
        for (int64_t i = 0; i < 25; ++i)
            if (rng() % 3 == 0) rows.add(u, "sku" + std::to_string(i), 1.0);
    for (const char* compression : {"none", "float16"}) {
        SCOPED_TRACE(compression);
        const bool half = std::string(compression) == "float16";
        Model m = train_model("ease", rows, std::string(R"({"compression": ")") + compression + "\"}", Context{});
        const auto bytes = m.serialize();
        std::shared_ptr<uint8_t[]> buffer(new uint8_t[bytes.size()]);
        std::memcpy(buffer.get(), bytes.data(), bytes.size());
        Model copied = Model::deserialize(bytes.data(), bytes.size());
        Model viewed = Model::deserialize(buffer.get(), bytes.size(), Context{}, buffer);
        EXPECT_GE(buffer.use_count(), 2);  // the model holds the bytes
        uint8_t* at = buffer.get();
        buffer.reset();
        EXPECT_EQ(viewed.serialize(), bytes);
        RecommendOptions o;
        o.k = 5;
        for (uint32_t u = 0; u < viewed.n_users(); ++u) {
            auto a = recommend_user(copied, u, o), b = recommend_user(viewed, u, o);
            ASSERT_EQ(a.size(), b.size());
            for (size_t r = 0; r < a.size(); ++r) {
                EXPECT_EQ(a[r].item, b[r].item);
                EXPECT_EQ(a[r].score, b[r].score);
            }
        }
        // The weights are read from the buffer itself (the last m² values
        // before the checksum): a change there shows in B[0][0], zero as trained.
        const size_t n = viewed.n_items(), size = half ? 2 : 4;
        uint8_t* first_weight = at + bytes.size() - 8 - n * n * size;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(first_weight) % size, 0u);
        std::vector<float> before(n, 0.0f), after(n, 0.0f);
        viewed.scorer->similar(0, before);
        const float f = 42.0f;
        const uint16_t h = to_half(f);
        std::memcpy(first_weight, half ? static_cast<const void*>(&h) : &f, size);
        viewed.scorer->similar(0, after);
        EXPECT_EQ(before[0], 0.0f);
        EXPECT_EQ(after[0], 42.0f);
        EXPECT_EQ(viewed.format_version, kModelFormatVersion);
    }
}

// The format-1 EASE models of the fuzz corpus (written by 0.1.0) load,
// copied or with an owner of their bytes (which they cannot view: format 1
// does not align the weights), score alike, and are written again in
// the current format, which then reads back to the same bytes.
TEST(Ease, Format1ModelsLoad) {
    for (const char* name : {"ease", "ease_no_history", "ease_top_items_text"}) {
        std::ifstream in(std::string(RECSYS_SOURCE_DIR) + "/tests/fuzz/corpus/model/" + name + ".model",
                         std::ios::binary);
        ASSERT_TRUE(in) << name;
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::shared_ptr<uint8_t[]> buffer(new uint8_t[bytes.size()]);
        std::memcpy(buffer.get(), bytes.data(), bytes.size());
        Model copied = Model::deserialize(bytes.data(), bytes.size());
        Model owned = Model::deserialize(buffer.get(), bytes.size(), Context{}, buffer);
        EXPECT_EQ(copied.format_version, 1u) << name;
        const auto again = owned.serialize();
        EXPECT_EQ(again, copied.serialize()) << name;
        Model v2 = Model::deserialize(again.data(), again.size());
        EXPECT_EQ(v2.format_version, kModelFormatVersion);
        EXPECT_EQ(v2.serialize(), again) << name;
        Basket basket{{0, 1}, {1.0f, 1.0f}};
        std::vector<float> a(copied.n_items(), 0.0f), b(copied.n_items(), 0.0f), c(copied.n_items(), 0.0f);
        copied.scorer->score(basket, std::nullopt, a);
        owned.scorer->score(basket, std::nullopt, b);
        v2.scorer->score(basket, std::nullopt, c);
        EXPECT_EQ(a, b) << name;
        EXPECT_EQ(a, c) << name;
    }
}

TEST(Ease, CorruptedPayloadThrows) {
    CsrMatrix x = random_matrix(50, 30, 0.2, 13);
    const auto good = payload(*train(x, R"({"max_items": 20})"));
    // Layout (format 3, dense float32): u8 binary | u64 m | u32 items[m] |
    // u8 encoding | u64 kept | u8 pad | pad zero bytes | u64 m*m | f32
    // weights[m*m], the weights at a 64-byte offset.
    const size_t items_at = 1 + 8, encoding_at = items_at + 20 * 4, pad_at = encoding_at + 9,
                 weights_at = pad_at + 1 + good[pad_at] + 8;
    EXPECT_EQ(weights_at % 64, 0u);
    auto corrupt = [&](auto edit) {
        auto bytes = good;
        edit(bytes);
        return kind_of([&] { read_payload(bytes, 30); });
    };
    auto put_u32 = [](std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); };
    auto put_u64 = [](std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(&b[at], &v, 8); };

    EXPECT_EQ(corrupt([](auto& b) { b[0] = 7; }), ErrorKind::Corrupted);                      // binary flag
    EXPECT_EQ(corrupt([&](auto& b) { put_u32(b, items_at + 4, 30); }), ErrorKind::Corrupted);  // index >= n_items
    EXPECT_EQ(corrupt([&](auto& b) { put_u32(b, items_at + 4, 0); }), ErrorKind::Corrupted);   // not ascending
    EXPECT_EQ(corrupt([&](auto& b) { put_u64(b, 1, 31); }), ErrorKind::Corrupted);             // more items than the model
    EXPECT_EQ(corrupt([&](auto& b) { put_u64(b, weights_at - 8, 399); }), ErrorKind::Corrupted);  // not m*m
    EXPECT_EQ(corrupt([&](auto& b) { b[encoding_at] = 3; }), ErrorKind::Corrupted);              // unknown encoding
    EXPECT_EQ(corrupt([&](auto& b) { put_u64(b, encoding_at + 1, 21); }), ErrorKind::Corrupted);  // kept > m
    EXPECT_EQ(corrupt([&](auto& b) { b[pad_at] = 64; }), ErrorKind::Corrupted);                  // padding too long
    EXPECT_EQ(corrupt([&](auto& b) { b[pad_at + 1] = 1; }), ErrorKind::Corrupted);               // padding not zero
    EXPECT_EQ(corrupt([](auto& b) { b.resize(b.size() - 4); }), ErrorKind::Corrupted);           // truncated
    EXPECT_EQ(corrupt([](auto& b) { b.resize(5); }), ErrorKind::Corrupted);
    EXPECT_EQ(kind_of([&] { read_payload({}, 30); }), ErrorKind::Corrupted);
    // And the intact payload reads.
    EXPECT_NE(read_payload(good, 30), nullptr);
}
