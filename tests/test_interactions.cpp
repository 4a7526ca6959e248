// CsrMatrix::transpose, IdMap and InteractionBuilder: the path from input
// rows to the training matrix, including partial-state merge and encoding.
#include "interactions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "byte_io.h"
#include "csr.h"
#include "errors.h"
#include "expect_error.h"
#include "id_map.h"
#include "stop_check.h"

using namespace recsys;

namespace {


using Dense = std::vector<std::vector<float>>;

// A random sparse matrix built from a dense one, with explicit structure.
CsrMatrix from_dense(const Dense& d, uint32_t cols) {
    CsrMatrix m;
    m.rows = uint32_t(d.size());
    m.cols = cols;
    for (const auto& row : d) {
        for (uint32_t c = 0; c < cols; ++c) {
            if (row[c] == 0.0f) continue;
            m.indices.push_back(c);
            m.values.push_back(row[c]);
        }
        m.indptr.push_back(m.indices.size());
    }
    return m;
}

Dense to_dense(const CsrMatrix& m) {
    Dense d(m.rows, std::vector<float>(m.cols, 0.0f));
    for (uint32_t r = 0; r < m.rows; ++r) {
        EXPECT_LE(m.indptr[r], m.indptr[r + 1]);
        for (uint64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
            EXPECT_LT(m.indices[p], m.cols);
            if (p > m.indptr[r]) {
                EXPECT_LT(m.indices[p - 1], m.indices[p]) << "row " << r << " not sorted";
            }
            d[r][m.indices[p]] = m.values[p];
        }
    }
    return d;
}

void expect_same_csr(const CsrMatrix& a, const CsrMatrix& b) {
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.cols, b.cols);
    EXPECT_EQ(a.indptr, b.indptr);
    EXPECT_EQ(a.indices, b.indices);
    EXPECT_EQ(a.values, b.values);
}

std::vector<std::string> ids_of(const IdMap& m) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < m.size(); ++i) out.push_back(m.to_string(i));
    return out;
}

std::vector<uint8_t> encode(const InteractionBuilder& b) {
    ByteWriter w;
    b.write(w);
    return w.bytes();
}

InteractionBuilder decode(const std::vector<uint8_t>& bytes) {
    ByteReader r(bytes.data(), bytes.size());
    return InteractionBuilder::read(r);
}

std::vector<uint8_t> encode(const IdMap& m) {
    ByteWriter w;
    m.write(w);
    return w.bytes();
}

IdMap decode_ids(const std::vector<uint8_t>& bytes) {
    ByteReader r(bytes.data(), bytes.size());
    return IdMap::read(r);
}

struct Row {
    int64_t user;
    std::string item;
    double weight;
};

std::vector<Row> random_rows(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> user(-20, 40);
    std::uniform_int_distribution<int> item(0, 25);
    std::uniform_int_distribution<int> weight(0, 8);  // quarter steps, exact in float
    std::vector<Row> rows;
    for (size_t k = 0; k < n; ++k)
        rows.push_back({user(rng), "sku-" + std::to_string(item(rng)), weight(rng) * 0.25});
    return rows;
}

void add_all(InteractionBuilder& b, const std::vector<Row>& rows) {
    for (const auto& r : rows) b.add(r.user, std::string_view(r.item), r.weight);
}

}  // namespace

// ---------------------------------------------------------------- CsrMatrix

TEST(Csr, TransposeMatchesDenseReference) {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 20; ++trial) {
        uint32_t rows = 1 + rng() % 30, cols = 1 + rng() % 30;
        std::bernoulli_distribution present(0.1 + 0.05 * (trial % 10));
        std::uniform_real_distribution<float> value(0.5f, 9.0f);
        Dense d(rows, std::vector<float>(cols, 0.0f));
        for (auto& row : d)
            for (auto& v : row)
                if (present(rng)) v = value(rng);
        CsrMatrix m = from_dense(d, cols);
        CsrMatrix t = m.transpose();
        ASSERT_EQ(t.rows, cols);
        ASSERT_EQ(t.cols, rows);
        ASSERT_EQ(t.indptr.size(), size_t(cols) + 1);
        EXPECT_EQ(t.nnz(), m.nnz());
        Dense td = to_dense(t);
        for (uint32_t r = 0; r < rows; ++r)
            for (uint32_t c = 0; c < cols; ++c) ASSERT_EQ(td[c][r], d[r][c]) << r << "," << c;
        expect_same_csr(t.transpose(), m);
    }
}

TEST(Csr, TransposeEmptyAndEmptyRows) {
    CsrMatrix empty;
    CsrMatrix t = empty.transpose();
    EXPECT_EQ(t.rows, 0u);
    EXPECT_EQ(t.cols, 0u);
    EXPECT_EQ(t.indptr, std::vector<uint64_t>{0});
    // 3 x 4 with only (1, 2).
    Dense d{{0, 0, 0, 0}, {0, 0, 5, 0}, {0, 0, 0, 0}};
    CsrMatrix m = from_dense(d, 4);
    CsrMatrix mt = m.transpose();
    EXPECT_EQ(mt.indptr, (std::vector<uint64_t>{0, 0, 0, 1, 1}));
    EXPECT_EQ(mt.indices, std::vector<uint32_t>{1});
    EXPECT_EQ(mt.values, std::vector<float>{5});
}

// ---------------------------------------------------------------- IdMap

TEST(IdMapTest, InternAndFindInts) {
    IdMap m;
    EXPECT_EQ(m.kind(), IdKind::None);
    EXPECT_EQ(m.size(), 0u);
    EXPECT_FALSE(m.find(int64_t(1)).has_value());
    EXPECT_FALSE(m.find("1").has_value());
    EXPECT_EQ(m.intern(int64_t(100)), 0u);
    EXPECT_EQ(m.intern(int64_t(-5)), 1u);
    EXPECT_EQ(m.intern(int64_t(100)), 0u);
    EXPECT_EQ(m.intern(std::numeric_limits<int64_t>::min()), 2u);
    EXPECT_EQ(m.kind(), IdKind::Int);
    EXPECT_EQ(m.size(), 3u);
    EXPECT_EQ(m.find(int64_t(-5)), 1u);
    EXPECT_FALSE(m.find(int64_t(7)).has_value());
    EXPECT_EQ(m.int_at(0), 100);
    EXPECT_EQ(m.to_string(1), "-5");
    EXPECT_EQ(m.to_string(2), "-9223372036854775808");
}

TEST(IdMapTest, InternAndFindText) {
    IdMap m;
    EXPECT_EQ(m.intern("SKU-1"), 0u);
    EXPECT_EQ(m.intern(""), 1u);
    EXPECT_EQ(m.intern("sku-1"), 2u);  // case matters
    EXPECT_EQ(m.intern("SKU-1"), 0u);
    EXPECT_EQ(m.kind(), IdKind::Text);
    EXPECT_EQ(m.size(), 3u);
    EXPECT_EQ(m.find("sku-1"), 2u);
    EXPECT_EQ(m.find(""), 1u);
    EXPECT_FALSE(m.find("SKU-2").has_value());
    EXPECT_EQ(m.text_at(0), "SKU-1");
    EXPECT_EQ(m.to_string(2), "sku-1");
}

TEST(IdMapTest, CrossKindLookups) {
    IdMap ints;
    ints.intern(int64_t(42));
    ints.intern(int64_t(-7));
    EXPECT_EQ(ints.find("42"), 0u);
    EXPECT_EQ(ints.find("-7"), 1u);
    for (const char* s : {"042", "+42", " 42", "42 ", "42.0", "4e1", "", "-07", "x42", "-", "0x2a"})
        EXPECT_FALSE(ints.find(s).has_value()) << "'" << s << "'";
    EXPECT_FALSE(ints.find("99999999999999999999999").has_value());  // out of range

    IdMap texts;
    texts.intern("42");
    texts.intern("042");
    texts.intern("-3");
    EXPECT_EQ(texts.find(int64_t(42)), 0u);
    EXPECT_EQ(texts.find(int64_t(-3)), 2u);
    EXPECT_FALSE(texts.find(int64_t(3)).has_value());

    IdMap zero;
    zero.intern(int64_t(0));
    EXPECT_EQ(zero.find("0"), 0u);
    EXPECT_FALSE(zero.find("-0").has_value());
    EXPECT_FALSE(zero.find("00").has_value());
}

TEST(IdMapTest, MixingKindsThrows) {
    IdMap a;
    a.intern(int64_t(1));
    Error e = expect_error([&] { a.intern("x"); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "cannot mix integer and text ids in one column");
    EXPECT_EQ(a.size(), 1u);
    IdMap b;
    b.intern("x");
    e = expect_error([&] { b.intern(int64_t(1)); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "cannot mix text and integer ids in one column");
}

TEST(IdMapTest, SortNumericForInts) {
    IdMap m;
    for (int64_t v : std::vector<int64_t>{10, -5, 3, 1000000000000LL, -1000000000000LL, 2}) m.intern(v);
    auto old_to_new = m.sort();
    EXPECT_EQ(ids_of(m), (std::vector<std::string>{"-1000000000000", "-5", "2", "3", "10", "1000000000000"}));
    // old index 0 was 10 -> new 4; 1 was -5 -> 1; 2 was 3 -> 3; ...
    EXPECT_EQ(old_to_new, (std::vector<uint32_t>{4, 1, 3, 5, 0, 2}));
    for (uint32_t i = 0; i < m.size(); ++i) EXPECT_EQ(m.find(m.int_at(i)), i);
    EXPECT_EQ(m.find(int64_t(10)), 4u);
    // Interning after sort keeps working.
    EXPECT_EQ(m.intern(int64_t(7)), 6u);
    EXPECT_EQ(m.intern(int64_t(3)), 3u);
}

TEST(IdMapTest, SortBytewiseForText) {
    IdMap m;
    for (const char* s : {"b", "10", "B", "a", "9", "\xc3\xa9", "ab", ""}) m.intern(s);
    auto old_to_new = m.sort();
    EXPECT_EQ(ids_of(m), (std::vector<std::string>{"", "10", "9", "B", "a", "ab", "b", "\xc3\xa9"}));
    EXPECT_EQ(old_to_new, (std::vector<uint32_t>{6, 1, 3, 4, 2, 7, 5, 0}));
    for (uint32_t i = 0; i < m.size(); ++i) EXPECT_EQ(m.find(m.text_at(i)), i);
}

TEST(IdMapTest, WriteReadRoundTrip) {
    IdMap ints;
    for (int64_t v : std::vector<int64_t>{5, -1, 99, std::numeric_limits<int64_t>::max()}) ints.intern(v);
    IdMap a = decode_ids(encode(ints));
    EXPECT_EQ(a.kind(), IdKind::Int);
    EXPECT_EQ(ids_of(a), ids_of(ints));
    EXPECT_EQ(a.find(int64_t(99)), 2u);
    EXPECT_EQ(encode(a), encode(ints));

    IdMap texts;
    for (const char* s : {"x", "", "long id with spaces", "\x01\x02"}) texts.intern(s);
    IdMap b = decode_ids(encode(texts));
    EXPECT_EQ(b.kind(), IdKind::Text);
    EXPECT_EQ(ids_of(b), ids_of(texts));
    EXPECT_EQ(b.find("long id with spaces"), 2u);
    EXPECT_EQ(encode(b), encode(texts));

    IdMap none;
    IdMap c = decode_ids(encode(none));
    EXPECT_EQ(c.kind(), IdKind::None);
    EXPECT_EQ(c.size(), 0u);
}

TEST(IdMapTest, CorruptedBytesThrow) {
    // Duplicate integer ids: kind 1, count 2, 7, 7.
    {
        ByteWriter w;
        w.put<uint8_t>(1);
        w.put<uint64_t>(2);
        w.put<int64_t>(7);
        w.put<int64_t>(7);
        Error e = expect_error([&] { decode_ids(w.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (duplicate id)");
    }
    // Duplicate text ids.
    {
        ByteWriter w;
        w.put<uint8_t>(2);
        w.put<uint64_t>(2);
        w.put_string("a");
        w.put_string("a");
        Error e = expect_error([&] { decode_ids(w.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (duplicate id)");
    }
    // Unknown kind.
    for (uint8_t kind : {3, 7, 255}) {
        ByteWriter w;
        w.put<uint8_t>(kind);
        w.put<uint64_t>(0);
        Error e = expect_error([&] { decode_ids(w.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (unknown id type)");
    }
    // Ids with kind None.
    {
        ByteWriter w;
        w.put<uint8_t>(0);
        w.put<uint64_t>(1);
        w.put<int64_t>(3);
        expect_error([&] { decode_ids(w.bytes()); }, ErrorKind::Corrupted);
    }
    // Absurd counts.
    for (uint8_t kind : {1, 2}) {
        ByteWriter w;
        w.put<uint8_t>(kind);
        w.put<uint64_t>(UINT64_MAX / 2);
        w.put<int64_t>(1);
        expect_error([&] { decode_ids(w.bytes()); }, ErrorKind::Corrupted);
    }
    // Every truncation of a valid encoding.
    IdMap texts;
    for (const char* s : {"abc", "de", "f"}) texts.intern(s);
    auto bytes = encode(texts);
    for (size_t n = 0; n < bytes.size(); ++n) {
        std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
        expect_error([&] { decode_ids(cut); }, ErrorKind::Corrupted);
    }
}

// ---------------------------------------------------------------- InteractionBuilder

TEST(Builder, DuplicatePairsSum) {
    InteractionBuilder b;
    b.add(int64_t(1), int64_t(10), 1.0);
    b.add(int64_t(1), int64_t(10), 2.5);
    b.add(int64_t(2), int64_t(10), 1.0);
    b.add(int64_t(1), int64_t(20), 0.5);
    b.add(int64_t(1), int64_t(10), 0.25);
    EXPECT_EQ(b.rows(), 5u);
    Interactions x = b.build(Context{});
    EXPECT_EQ(x.rows_added, 5u);
    EXPECT_EQ(x.rows_skipped, 0u);
    EXPECT_EQ(ids_of(x.users), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(ids_of(x.items), (std::vector<std::string>{"10", "20"}));
    EXPECT_EQ(x.matrix.rows, 2u);
    EXPECT_EQ(x.matrix.cols, 2u);
    EXPECT_EQ(x.matrix.indptr, (std::vector<uint64_t>{0, 2, 3}));
    EXPECT_EQ(x.matrix.indices, (std::vector<uint32_t>{0, 1, 0}));
    EXPECT_EQ(x.matrix.values, (std::vector<float>{3.75f, 0.5f, 1.0f}));
}

TEST(Builder, MatchesDenseReference) {
    auto rows = random_rows(500, 11);
    InteractionBuilder b;
    add_all(b, rows);
    Interactions x = b.build(Context{});
    std::map<int64_t, std::map<std::string, double>> ref;
    for (const auto& r : rows) ref[r.user][r.item] += r.weight;
    // Users sorted numerically, items bytewise.
    std::vector<std::string> users, items;
    std::map<std::string, int> item_set;
    for (const auto& [u, row] : ref) {
        users.push_back(std::to_string(u));
        for (const auto& [i, w] : row) item_set[i];
    }
    for (const auto& [i, _] : item_set) items.push_back(i);
    ASSERT_EQ(ids_of(x.users), users);
    ASSERT_EQ(ids_of(x.items), items);
    Dense d = to_dense(x.matrix);
    size_t nnz = 0;
    for (uint32_t u = 0; u < x.users.size(); ++u) {
        for (uint32_t i = 0; i < x.items.size(); ++i) {
            auto it = ref[x.users.int_at(u)].find(x.items.text_at(i));
            double want = it == ref[x.users.int_at(u)].end() ? 0.0 : it->second;
            EXPECT_EQ(d[u][i], float(want));
        }
        nnz += ref[x.users.int_at(u)].size();
    }
    // Entries whose weights sum to 0 are still entries (the user did buy).
    EXPECT_EQ(x.matrix.nnz(), nnz);
}

TEST(Builder, InvalidWeightsThrowWithValue) {
    InteractionBuilder b;
    Error e = expect_error([&] { b.add(int64_t(1), int64_t(2), -1.0); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "invalid weight -1: weights must be finite and not negative");
    EXPECT_FALSE(e.hint().empty());
    e = expect_error([&] { b.add(int64_t(1), int64_t(2), -0.5); }, ErrorKind::InvalidInput);
    EXPECT_NE(std::string(e.what()).find("invalid weight -0.5"), std::string::npos) << e.what();
    // Non-finite values: the message names them (spelling is free: nan/NaN,
    // inf/Infinity), with the sign for negative infinity.
    auto lower = [](std::string m) {
        for (auto& ch : m) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        return m;
    };
    e = expect_error([&] { b.add(int64_t(1), int64_t(2), std::nan("")); }, ErrorKind::InvalidInput);
    EXPECT_NE(lower(e.what()).find("invalid weight nan"), std::string::npos) << e.what();
    e = expect_error([&] { b.add(int64_t(1), int64_t(2), std::numeric_limits<double>::infinity()); },
                     ErrorKind::InvalidInput);
    EXPECT_NE(lower(e.what()).find("invalid weight inf"), std::string::npos) << e.what();
    e = expect_error([&] { b.add(int64_t(1), int64_t(2), -std::numeric_limits<double>::infinity()); },
                     ErrorKind::InvalidInput);
    EXPECT_NE(lower(e.what()).find("invalid weight -inf"), std::string::npos) << e.what();
    EXPECT_EQ(b.rows(), 0u);
    // Zero is fine.
    b.add(int64_t(1), int64_t(2), 0.0);
    EXPECT_EQ(b.rows(), 1u);
}

TEST(Builder, WeightsBeyondAFloatAreRefused) {
    // Weights are kept as floats: a larger one, or a larger sum of a
    // repeated pair, would be infinite in the model.
    InteractionBuilder b;
    Error e = expect_error([&] { b.add(int64_t(1), int64_t(2), 1e308); });
    EXPECT_STREQ(e.what(), "invalid weight 1e+308: weights must be at most 3.40282e+38 (a float)");
    EXPECT_NE(e.hint().find("log_weight"), std::string::npos) << e.hint();
    b.add(int64_t(1), int64_t(2), 3e38);
    b.add(int64_t(1), int64_t(2), 3e38);
    b.add(int64_t(1), int64_t(3), 3e38);
    e = expect_error([&] { b.build(Context{}); });
    EXPECT_STREQ(e.what(), "the summed weight of user 1 and item 2, 6e+38, is more than 3.40282e+38, the largest a "
                           "float holds");
}

TEST(Builder, CancelWhileBuildingFreesEverything) {
    InteractionBuilder a;
    add_all(a, random_rows(200000, 3));
    for (int polls : {1, 2, 5}) {
        Context ctx;
        std::string progress;
        stop_check::cancel_after(ctx, "", polls, progress);
        stop_check::expect_cancelled_and_freed([&] { a.build(ctx); });
    }
}

TEST(Builder, SkipCounted) {
    InteractionBuilder b;
    b.skip();
    b.add(int64_t(1), int64_t(2), 1.0);
    b.skip();
    b.skip();
    Interactions x = b.build(Context{});
    EXPECT_EQ(x.rows_skipped, 3u);
    EXPECT_EQ(x.rows_added, 1u);
}

TEST(Builder, IndependentOfRowOrder) {
    auto rows = random_rows(400, 3);
    InteractionBuilder a;
    add_all(a, rows);
    Interactions xa = a.build(Context{});
    std::mt19937 rng(99);
    for (int trial = 0; trial < 5; ++trial) {
        std::shuffle(rows.begin(), rows.end(), rng);
        InteractionBuilder b;
        add_all(b, rows);
        Interactions xb = b.build(Context{});
        expect_same_csr(xa.matrix, xb.matrix);
        EXPECT_EQ(ids_of(xa.users), ids_of(xb.users));
        EXPECT_EQ(ids_of(xa.items), ids_of(xb.items));
    }
}

// Weights whose float sum depends on the order they are added in.
TEST(Builder, DuplicateSumIndependentOfOrder) {
    std::vector<double> ws{1e8, 1.0, 3.0, 0.1, 1e-3, 7e7, 0.3};
    InteractionBuilder a;
    for (double w : ws) a.add(int64_t(1), int64_t(1), w);
    CsrMatrix ref = a.build(Context{}).matrix;
    std::mt19937 rng(5);
    for (int trial = 0; trial < 20; ++trial) {
        std::shuffle(ws.begin(), ws.end(), rng);
        InteractionBuilder b;
        for (double w : ws) b.add(int64_t(1), int64_t(1), w);
        expect_same_csr(b.build(Context{}).matrix, ref);
    }
}

TEST(Builder, MergeEqualsSingleBuilder) {
    auto rows = random_rows(600, 21);
    InteractionBuilder all;
    add_all(all, rows);
    all.skip();
    all.skip();
    Interactions want = all.build(Context{});
    std::mt19937 rng(4);
    for (int trial = 0; trial < 8; ++trial) {
        // Split into 1..4 parts at random, in a shuffled order.
        int parts = 1 + trial % 4;
        std::vector<InteractionBuilder> b(parts);
        std::vector<Row> shuffled = rows;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        for (const auto& r : shuffled) b[rng() % parts].add(r.user, std::string_view(r.item), r.weight);
        b[0].skip();
        b[parts - 1].skip();
        // Merge in different shapes, some through the byte encoding.
        InteractionBuilder merged;
        if (trial % 2) {
            for (auto& part : b) merged.merge(decode(encode(part)));
        } else {
            merged = b.back();
            for (int p = parts - 2; p >= 0; --p) merged.merge(b[p]);
        }
        EXPECT_EQ(merged.rows(), rows.size());
        Interactions got = merged.build(Context{});
        expect_same_csr(got.matrix, want.matrix);
        EXPECT_EQ(ids_of(got.users), ids_of(want.users));
        EXPECT_EQ(ids_of(got.items), ids_of(want.items));
        EXPECT_EQ(got.rows_added, want.rows_added);
        EXPECT_EQ(got.rows_skipped, 2u);
    }
}

TEST(Builder, MergeWithEmpty) {
    InteractionBuilder a, empty;
    a.add(std::string_view("u"), int64_t(5), 2.0);
    a.merge(empty);
    InteractionBuilder b;
    b.merge(a);
    expect_same_csr(a.build(Context{}).matrix, b.build(Context{}).matrix);
    EXPECT_EQ(b.rows(), 1u);
}

TEST(Builder, MergeMixedKindsThrows) {
    InteractionBuilder a, b;
    a.add(int64_t(1), int64_t(1), 1.0);
    b.add(std::string_view("x"), int64_t(1), 1.0);
    expect_error([&] { a.merge(b); }, ErrorKind::InvalidInput);
}

TEST(Builder, WriteReadRoundTrip) {
    auto rows = random_rows(200, 8);
    InteractionBuilder a;
    add_all(a, rows);
    a.skip();
    auto bytes = encode(a);
    InteractionBuilder b = decode(bytes);
    EXPECT_EQ(b.rows(), a.rows());
    EXPECT_EQ(encode(b), bytes);
    Interactions xa = a.build(Context{}), xb = b.build(Context{});
    expect_same_csr(xa.matrix, xb.matrix);
    EXPECT_EQ(ids_of(xa.users), ids_of(xb.users));
    EXPECT_EQ(ids_of(xa.items), ids_of(xb.items));
    EXPECT_EQ(xb.rows_skipped, 1u);
    // An empty builder round-trips too.
    InteractionBuilder empty;
    InteractionBuilder e2 = decode(encode(empty));
    EXPECT_EQ(e2.rows(), 0u);
}

TEST(Builder, TruncatedStateThrows) {
    InteractionBuilder a;
    add_all(a, random_rows(30, 1));
    a.add(int64_t(3), std::string_view("sku-x"), 1.0);
    auto bytes = encode(a);
    for (size_t n = 0; n < bytes.size(); ++n) {
        std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
        expect_error([&] { decode(cut); }, ErrorKind::Corrupted);
    }
}

TEST(Builder, CorruptedStateThrows) {
    InteractionBuilder a;
    a.add(int64_t(1), int64_t(2), 1.0);
    auto bytes = encode(a);
    // Wrong magic.
    auto bad = bytes;
    bad[0] ^= 1;
    Error e = expect_error([&] { decode(bad); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "not a recsys partial aggregate state");
    // The last entry's item index (bytes -12..-9) out of range.
    bad = bytes;
    bad[bytes.size() - 12] = 9;
    e = expect_error([&] { decode(bad); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "partial aggregate state is corrupted (index out of range)");
    // The user index (bytes -16..-13).
    bad = bytes;
    bad[bytes.size() - 16] = 1;
    expect_error([&] { decode(bad); }, ErrorKind::Corrupted);
}

TEST(Builder, BuildRespectsMemoryLimit) {
    InteractionBuilder a;
    add_all(a, random_rows(1000, 2));
    Context ctx;
    ctx.memory_limit_bytes = 100;
    expect_error([&] { a.build(ctx); }, ErrorKind::ResourceLimit);
}
