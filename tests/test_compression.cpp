#include "compression.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "ease.h"
#include "errors.h"
#include "expect_error.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;

namespace {

// rows x cols values spread over many magnitudes, both signs, some ties.
std::vector<float> random_values(uint64_t rows, uint64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> exponent(-30.0f, 10.0f), unit(-1.0f, 1.0f);
    std::vector<float> v(rows * cols);
    for (float& x : v) x = unit(rng) * std::exp2(exponent(rng));
    for (uint64_t i = 0; i + 7 < v.size(); i += 7) v[i + 3] = -v[i];  // ties in magnitude
    return v;
}

std::vector<uint8_t> bytes_of(const WeightRows& w) {
    ByteWriter out;
    w.write(out);
    return out.bytes();
}

WeightRows read_back(const std::vector<uint8_t>& bytes, uint64_t rows, uint64_t cols) {
    ByteReader r(bytes.data(), bytes.size());
    WeightRows w = WeightRows::read(r, rows, cols);
    EXPECT_EQ(r.remaining(), 0u);
    return w;
}

TEST(Compression, Float16WithinItsBound) {
    const auto x = random_values(40, 50, 1);
    const auto w = WeightRows::encode(x.data(), 40, 50, Encoding::Float16, 0, Context{});
    const auto d = w.dense();
    for (size_t i = 0; i < x.size(); ++i) {
        const double err = std::fabs(double(d[i]) - double(x[i]));
        if (std::fabs(x[i]) >= std::exp2(-14.0)) EXPECT_LE(err, std::exp2(-11.0) * std::fabs(x[i])) << x[i];
        else EXPECT_LE(err, std::exp2(-25.0)) << x[i];
    }
    EXPECT_EQ(w.memory_bytes(), 40u * 50 * 2);
    const float big = 70000.0f;
    const Error e = expect_error([&] { WeightRows::encode(&big, 1, 1, Encoding::Float16, 0, Context{}); });
    EXPECT_NE(std::string(e.what()).find("beyond float16's range"), std::string::npos) << e.what();
}

TEST(Compression, Int8WithinItsBoundAndStable) {
    const auto x = random_values(40, 50, 2);
    const auto w = WeightRows::encode(x.data(), 40, 50, Encoding::Int8, 0, Context{});
    const auto d = w.dense();
    for (uint64_t r = 0; r < 40; ++r) {
        float m = 0;
        for (uint64_t c = 0; c < 50; ++c) m = std::max(m, std::fabs(x[r * 50 + c]));
        for (uint64_t c = 0; c < 50; ++c) {
            const double err = std::fabs(double(d[r * 50 + c]) - double(x[r * 50 + c]));
            EXPECT_LE(err, double(m) / 254.0 * (1 + std::exp2(-16.0)));
        }
    }
    EXPECT_EQ(w.memory_bytes(), 40u * 50 + 40 * 4);
    // Encoding what was decoded gives the same bytes (a factor model written
    // again), for float16 too.
    for (Encoding e : {Encoding::Float16, Encoding::Int8}) {
        const auto once = WeightRows::encode(x.data(), 40, 50, e, 0, Context{});
        const auto decoded = once.dense();
        EXPECT_EQ(bytes_of(WeightRows::encode(decoded.data(), 40, 50, e, 0, Context{})), bytes_of(once));
    }
}

// Brute force: every entry ranked by magnitude (ties: smaller column), the
// first m kept, in column order.
TEST(Compression, TopMKeepsExactlyTheLargest) {
    const uint64_t rows = 30, cols = 40;
    auto x = random_values(rows, cols, 3);
    for (uint64_t c = 0; c < cols; ++c) x[5 * cols + c] = (c % 3) * 0.5f;  // a row of heavy ties
    for (uint64_t m : {1u, 7u, 39u}) {
        const auto w = WeightRows::encode(x.data(), rows, cols, Encoding::Float32, m, Context{});
        ASSERT_TRUE(w.sparse());
        ASSERT_EQ(w.kept(), m);
        for (uint64_t r = 0; r < rows; ++r) {
            std::vector<uint32_t> all(cols);
            std::iota(all.begin(), all.end(), 0u);
            std::stable_sort(all.begin(), all.end(), [&](uint32_t a, uint32_t b) {
                return std::fabs(x[r * cols + a]) > std::fabs(x[r * cols + b]);
            });
            all.resize(m);
            std::sort(all.begin(), all.end());
            auto got = w.row_columns(r);
            ASSERT_EQ(std::vector<uint32_t>(got.begin(), got.end()), all) << "row " << r << ", m " << m;
            for (uint64_t k = 0; k < m; ++k) EXPECT_EQ(w.at(r, k), x[r * cols + all[k]]);
        }
    }
    // m ≥ cols keeps the matrix dense.
    EXPECT_FALSE(WeightRows::encode(x.data(), rows, cols, Encoding::Float32, cols, Context{}).sparse());
}

TEST(Compression, EveryLayoutReadsBack) {
    const auto x = random_values(20, 24, 4);
    for (Encoding e : {Encoding::Float32, Encoding::Float16, Encoding::Int8})
        for (uint64_t m : {0u, 5u}) {
            const auto w = WeightRows::encode(x.data(), 20, 24, e, m, Context{});
            const auto bytes = bytes_of(w);
            EXPECT_EQ(read_back(bytes, 20, 24).dense(), w.dense());
            // Viewed in place in bytes that an owner keeps alive.
            std::shared_ptr<uint8_t[]> buffer(new uint8_t[bytes.size() + 64]);
            uint8_t* at = buffer.get() + (64 - reinterpret_cast<uintptr_t>(buffer.get()) % 64) % 64;
            std::memcpy(at, bytes.data(), bytes.size());
            ByteReader r(at, bytes.size());
            r.set_backing(buffer);
            EXPECT_EQ(WeightRows::read(r, 20, 24).dense(), w.dense());
            // Wrong shapes and damaged bytes are errors.
            EXPECT_THROW(read_back(bytes, 21, 24), Error);
            auto bad = bytes;
            bad[0] = 9;
            EXPECT_THROW(read_back(bad, 20, 24), Error);
            EXPECT_THROW(read_back(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1), 20, 24), Error);
            if (e != Encoding::Float16) continue;
            // A float16 infinity or NaN anywhere among the values (stored last).
            const size_t values = 20 * (m == 0 ? 24 : m);
            for (size_t k : {size_t(0), values / 2 + 1, values - 1})
                for (uint16_t h : {uint16_t(0x7c00), uint16_t(0xfe01)}) {
                    bad = bytes;
                    std::memcpy(bad.data() + bad.size() - 2 * (values - k), &h, 2);
                    const Error err = expect_error([&] { read_back(bad, 20, 24); }, ErrorKind::Corrupted);
                    EXPECT_NE(std::string(err.what()).find("float16 weight not finite"), std::string::npos);
                }
        }
}

InteractionBuilder purchases() {
    std::mt19937 rng(7);
    std::bernoulli_distribution bought(0.15);
    InteractionBuilder b;
    for (int u = 0; u < 120; ++u)
        for (int i = 0; i < 60; ++i)
            if (bought(rng) || (u + i) % 17 == 0) b.add(int64_t(u), int64_t(i), 1.0);
    return b;
}

// A compressed EASE model recommends what an uncompressed one with its
// de-quantised weights recommends: the same scores (bit for bit when
// dense, where both sum with the same kernel), the same lists.
TEST(Compression, EaseScoresItsDecodedWeights) {
    const auto rows = purchases();
    for (const char* params : {R"({"compression": "float16"})", R"({"compression": "int8"})", R"({"top_m": 8})",
                               R"({"top_m": 8, "compression": "int8"})"}) {
        SCOPED_TRACE(params);
        const Model trained = train_model("ease", rows, params, Context{});
        const auto bytes = trained.serialize();
        Model m = Model::deserialize(bytes.data(), bytes.size());
        Model reference = Model::deserialize(bytes.data(), bytes.size());
        const uint32_t n = m.n_items();
        // The de-quantised weights, row j = similar(j), as a float32 payload.
        std::unique_ptr<float[]> b(new float[uint64_t(n) * n]());
        for (uint32_t j = 0; j < n; ++j) m.scorer->similar(j, std::span<float>(b.get() + uint64_t(j) * n, n));
        ByteWriter w;
        w.put<uint8_t>(1);
        std::vector<uint32_t> items(n);
        std::iota(items.begin(), items.end(), 0u);
        w.put_array(items);
        WeightRows::dense_floats(std::move(b), n, n).write(w);
        ByteReader r(w.bytes().data(), w.size());
        reference.scorer = ease::read(r, 0, n);
        const bool sparse = std::string(params).find("top_m") != std::string::npos;
        RecommendOptions o;
        o.k = 10;
        for (uint32_t u = 0; u < m.n_users(); ++u) {
            std::vector<float> a(n, 0.0f), e(n, 0.0f);
            m.scorer->score(m.history_of(u), u, a);
            reference.scorer->score(m.history_of(u), u, e);
            for (uint32_t i = 0; i < n; ++i) {
                if (sparse) ASSERT_NEAR(a[i], e[i], 1e-6f * (1 + std::fabs(e[i])));
                else ASSERT_EQ(a[i], e[i]) << "user " << u << " item " << i;
            }
            const auto got = recommend_user(m, u, o), want = recommend_user(reference, u, o);
            ASSERT_EQ(got.size(), want.size());
            for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].item, want[k].item) << "user " << u;
        }
        // A block of users at once (batch scoring) gives each user's scores.
        std::vector<Basket> baskets;
        std::vector<uint32_t> users;
        for (uint32_t u = 0; u < m.n_users(); ++u) {
            baskets.push_back(m.history_of(u));
            users.push_back(u);
        }
        std::vector<float> block(size_t(m.n_users()) * n, 0.0f);
        m.scorer->score_block(baskets, users, n, block);
        for (uint32_t u = 0; u < m.n_users(); ++u) {
            std::vector<float> one(n, 0.0f);
            m.scorer->score(baskets[u], u, one);
            ASSERT_TRUE(std::equal(one.begin(), one.end(), block.begin() + size_t(u) * n)) << "user " << u;
        }
        // Written again, the same bytes; and the stored form is smaller.
        EXPECT_EQ(m.serialize(), bytes);
        const Model plain = train_model("ease", rows, R"({"compression": "none"})", Context{});
        EXPECT_LT(bytes.size(), plain.serialize().size());
        EXPECT_LT(m.memory_bytes(), plain.memory_bytes());
        EXPECT_NE(m.describe_json().find("\"memory_bytes\": " + std::to_string(m.memory_bytes())), std::string::npos);
    }
}

// ALS and BPR hold their factors decoded: the trained model serves what
// the stored one serves, writes the same bytes again, and is smaller stored
// (not in memory).
// EASE stores float16 weights unless told otherwise (ALS and BPR: float32).
TEST(Compression, EaseDefaultsToFloat16) {
    const auto rows = purchases();
    const Model m = train_model("ease", rows, "{}", Context{});
    EXPECT_NE(m.params_json.find(R"("compression": "float16")"), std::string::npos) << m.params_json;
    EXPECT_EQ(m.serialize(), train_model("ease", rows, R"({"compression": "float16"})", Context{}).serialize());
    const Model als = train_model("als", rows, R"({"factors": 4, "iterations": 2})", Context{});
    EXPECT_NE(als.params_json.find(R"("compression": "none")"), std::string::npos) << als.params_json;
}

TEST(Compression, FactorModelsStoreCompressedFactors) {
    const auto rows = purchases();
    for (const char* algorithm : {"als", "bpr"}) {
        const std::string base = "{\"factors\": 16, \"iterations\": 3";
        const Model plain = train_model(algorithm, rows, base + "}", Context{});
        const auto plain_bytes = plain.serialize();
        for (const char* compression : {"float16", "int8"}) {
            SCOPED_TRACE(std::string(algorithm) + " " + compression);
            const Model trained =
                train_model(algorithm, rows, base + ", \"compression\": \"" + compression + "\"}", Context{});
            const auto bytes = trained.serialize();
            const Model loaded = Model::deserialize(bytes.data(), bytes.size());
            EXPECT_EQ(loaded.serialize(), bytes);
            RecommendOptions o;
            o.k = 10;
            size_t same_as_plain = 0, total = 0;
            for (uint32_t u = 0; u < loaded.n_users(); ++u) {
                const auto a = recommend_user(trained, u, o), b = recommend_user(loaded, u, o),
                           c = recommend_user(plain, u, o);
                ASSERT_EQ(a.size(), b.size());
                for (size_t k = 0; k < a.size(); ++k) {
                    EXPECT_EQ(a[k].item, b[k].item);
                    EXPECT_EQ(a[k].score, b[k].score);
                    same_as_plain += k < c.size() && a[k].item == c[k].item;
                    ++total;
                }
            }
            EXPECT_GT(same_as_plain, total / 2);  // quantisation moves little
            // The factors are most of these small models' payload.
            EXPECT_LT(double(bytes.size()), 0.8 * double(plain_bytes.size()));
            EXPECT_EQ(loaded.memory_bytes(), plain.memory_bytes());
        }
    }
}

// The message of the error `f` throws, which must be invalid input.
template <typename F>
std::string message(F&& f) {
    return expect_error(std::forward<F>(f), ErrorKind::InvalidInput).what();
}

TEST(Compression, BadParametersAreClear) {
    const auto rows = purchases();
    EXPECT_NE(message([&] { train_model("ease", rows, R"({"compression": "zip"})", Context{}); })
                  .find("must be one of: none, float16, int8"),
              std::string::npos);
    EXPECT_EQ(message([&] { train_model("itemknn", rows, R"({"compression": "int8"})", Context{}); }),
              "itemknn does not compress its model: \"compression\" applies to ease, als, bpr only");
    EXPECT_EQ(message([&] { train_model("als", rows, R"({"top_m": 5})", Context{}); }),
              "als does not compress its model: \"top_m\" applies to ease only");
}

}  // namespace
