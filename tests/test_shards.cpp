// Training over shards (shards.h): the shards' encoded parts merged give
// what building all the rows in one place gives, so every algorithm trains
// the same model bytes as on one node.
#include "shards.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "byte_io.h"
#include "errors.h"
#include "expect_error.h"
#include "model.h"

using namespace recsys;

namespace {

struct Row {
    int64_t user;
    std::string item;
    double weight;
};

// Rows of a small shop: 60 users, 40 items with skewed popularity, repeated
// purchases (duplicate pairs), weights whole or not.
std::vector<Row> shop_rows(bool whole_weights, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Row> rows;
    for (int64_t u = 0; u < 60; ++u) {
        const int n = 3 + int(rng() % 12);
        for (int k = 0; k < n; ++k) {
            const double r = double(rng() % 1000) / 1000.0;
            const int item = int(40 * r * r);
            const double w = whole_weights ? double(1 + rng() % 5) : 0.1 + double(rng() % 1000) / 137.0;
            rows.push_back({u * 7919 % 1000 - 500, "item-" + std::to_string(item), w});
        }
    }
    return rows;
}

Interactions build(const std::vector<Row>& rows) {
    InteractionBuilder b;
    for (const Row& r : rows) b.add(r.user, std::string_view(r.item), r.weight);
    return b.build(Context{});
}

// The rows split by user into `n` shards (as Citus hashes the distribution
// column), each built, encoded and decoded as the coordinator receives it.
std::vector<Interactions> shards_of(const std::vector<Row>& rows, uint32_t n) {
    std::vector<std::vector<Row>> parts(n);
    for (const Row& r : rows) parts[uint64_t(r.user * 2654435761) % n].push_back(r);
    std::vector<Interactions> out;
    for (const auto& part : parts) {
        const std::vector<uint8_t> bytes = encode_shard(build(part));
        out.push_back(decode_shard(bytes));
    }
    return out;
}

std::vector<uint8_t> ids_bytes(const IdMap& m) {
    ByteWriter w;
    m.write(w);
    return std::move(w.bytes());
}

void expect_same(const Interactions& a, const Interactions& b) {
    EXPECT_EQ(ids_bytes(a.users), ids_bytes(b.users));
    EXPECT_EQ(ids_bytes(a.items), ids_bytes(b.items));
    EXPECT_EQ(a.matrix.rows, b.matrix.rows);
    EXPECT_EQ(a.matrix.cols, b.matrix.cols);
    EXPECT_EQ(a.matrix.indptr, b.matrix.indptr);
    EXPECT_EQ(a.matrix.indices, b.matrix.indices);
    EXPECT_EQ(a.matrix.values, b.matrix.values);
    EXPECT_EQ(a.rows_added, b.rows_added);
    EXPECT_EQ(a.rows_skipped, b.rows_skipped);
}

}  // namespace

TEST(Shards, MergedShardsEqualAllRowsBuilt) {
    for (bool whole : {true, false}) {
        const auto rows = shop_rows(whole, 7);
        for (uint32_t n : {1u, 2u, 4u, 7u}) {
            SCOPED_TRACE("whole " + std::to_string(whole) + ", shards " + std::to_string(n));
            expect_same(merge_shards(shards_of(rows, n)), build(rows));
        }
    }
}

TEST(Shards, EveryAlgorithmTrainsTheSameModelBytes) {
    const auto rows = shop_rows(false, 11);
    const auto shards = shards_of(rows, 4);
    for (const Algorithm* alg : all_algorithms()) {
        for (const char* params : {"{}", "{\"min_users_per_item\": 2}"}) {
            SCOPED_TRACE(std::string(alg->name) + " " + params);
            const Model whole = train_model_on(alg->name, build(rows), params, Context{});
            const Model merged = train_model_on(alg->name, merge_shards(shards), params, Context{});
            EXPECT_EQ(whole.serialize(), merged.serialize());
        }
    }
    // Non-default item-kNN similarities, whose sums are exact counts.
    for (const char* params : {"{\"similarity\": \"cooccurrence\"}", "{\"similarity\": \"jaccard\"}"}) {
        const Model whole = train_model_on("itemknn", build(rows), params, Context{});
        const Model merged = train_model_on("itemknn", merge_shards(shards), params, Context{});
        EXPECT_EQ(whole.serialize(), merged.serialize()) << params;
    }
}

TEST(Shards, EmptyShardsAndSkippedRowsCount) {
    InteractionBuilder b;
    b.skip();
    b.skip();
    const Interactions empty = decode_shard(encode_shard(b.build(Context{})));
    EXPECT_EQ(empty.users.size(), 0u);
    EXPECT_EQ(empty.rows_skipped, 2u);
    const auto rows = shop_rows(true, 3);
    std::vector<Interactions> shards = shards_of(rows, 3);
    shards.push_back(empty);
    const Interactions merged = merge_shards(shards);
    Interactions all = build(rows);
    all.rows_skipped = 2;
    expect_same(merged, all);
    EXPECT_EQ(merge_shards(std::vector<Interactions>{empty}).matrix.nnz(), 0u);
}

TEST(Shards, UserInTwoShardsIsRefused) {
    InteractionBuilder a, b;
    a.add(int64_t(1), std::string_view("x"), 1.0);
    a.add(int64_t(2), std::string_view("x"), 1.0);
    b.add(int64_t(3), std::string_view("y"), 1.0);
    b.add(int64_t(2), std::string_view("y"), 1.0);
    const std::vector<Interactions> shards{a.build(Context{}), b.build(Context{})};
    Error e = expect_error([&] { merge_shards(shards); });
    EXPECT_STREQ(e.what(), "user 2 has rows in two shards");
    EXPECT_NE(e.hint().find("create_distributed_table"), std::string::npos);
}

TEST(Shards, IdTypesMustAgree) {
    InteractionBuilder a, b;
    a.add(int64_t(1), std::string_view("x"), 1.0);
    b.add(std::string_view("u2"), std::string_view("x"), 1.0);
    const std::vector<Interactions> shards{a.build(Context{}), b.build(Context{})};
    expect_error([&] { merge_shards(shards); });
}

TEST(Shards, DamagedBytesAreErrorsNeverCrashes) {
    const std::vector<uint8_t> good = encode_shard(build(shop_rows(false, 5)));
    ASSERT_NO_THROW(decode_shard(good));
    // Every truncation.
    for (size_t n = 0; n < good.size(); ++n)
        expect_error([&] { decode_shard(std::span(good.data(), n)); }, ErrorKind::Corrupted);
    // Every byte flipped: an error or a state that still decodes and merges
    // (a changed weight or id), never a crash.
    for (size_t i = 0; i < good.size(); ++i) {
        std::vector<uint8_t> bad = good;
        bad[i] ^= 0x5A;
        try {
            const std::vector<Interactions> shards{decode_shard(bad)};
            merge_shards(shards);
        } catch (const Error&) {
        }
    }
    std::vector<uint8_t> foreign = good;
    foreign[0] ^= 1;
    Error e = expect_error([&] { decode_shard(foreign); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "not a recsys shard state");
    EXPECT_NE(e.hint().find("recsys_train_shard"), std::string::npos);
}

TEST(Shards, CountsEncodeCompactly) {
    // Whole weights as varints, items as gaps: a few bytes per pair, not the
    // 16 of a collected row.
    const Interactions all = build(shop_rows(true, 9));
    const std::vector<uint8_t> bytes = encode_shard(all);
    EXPECT_LT(double(bytes.size()), 4.0 * double(all.matrix.nnz()) + 16.0 * all.users.size() + 20.0 * all.items.size());
}
