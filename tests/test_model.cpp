// The model bytea (format v1): training through train_model, round trips,
// and that every damaged, truncated or foreign bytea is a clear error.
#include "model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "errors.h"
#include "expect_error.h"
#include "recommend.h"
#include "stop_check.h"

using namespace recsys;

namespace {


bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// 12 users x 9 items, integer ids, weights 1..3, with some duplicates.
InteractionBuilder int_rows() {
    InteractionBuilder b;
    std::mt19937 rng(17);
    for (int64_t u = 0; u < 12; ++u) {
        for (int64_t i = 0; i < 9; ++i) {
            if ((u * 7 + i * 3) % 4 == 0 || rng() % 3 == 0) b.add(1000 + u, 50 - i, double(1 + rng() % 3));
        }
    }
    b.add(int64_t(1000), int64_t(50), 2.0);  // a duplicate pair
    b.skip();
    return b;
}

// Text ids on both sides.
InteractionBuilder text_rows() {
    InteractionBuilder b;
    const char* users[] = {"alice", "bob", "carol", "dave", "eve"};
    const char* items[] = {"SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E", "SKU-F"};
    int k = 0;
    for (const char* u : users)
        for (const char* i : items)
            if (++k % 3 != 0) b.add(std::string_view(u), std::string_view(i), double(k % 4 + 1));
    return b;
}

Model train(std::string_view algorithm, const InteractionBuilder& rows, std::string_view params = "{}") {
    return train_model(algorithm, rows, params, Context{});
}

Model load(const std::vector<uint8_t>& bytes) { return Model::deserialize(bytes.data(), bytes.size()); }

std::vector<float> scores_of(const Model& m, uint32_t user) {
    std::vector<float> s(m.n_items(), 0.0f);
    m.scorer->score(m.history_of(user), user, s);
    return s;
}

void expect_same_model(const Model& a, const Model& b) {
    EXPECT_EQ(a.algorithm, b.algorithm);
    EXPECT_EQ(a.params_json, b.params_json);
    EXPECT_EQ(a.n_users(), b.n_users());
    EXPECT_EQ(a.n_items(), b.n_items());
    EXPECT_EQ(a.rows_added, b.rows_added);
    EXPECT_EQ(a.rows_skipped, b.rows_skipped);
    EXPECT_EQ(a.popularity, b.popularity);
    EXPECT_EQ(a.history.indptr, b.history.indptr);
    EXPECT_EQ(a.history.indices, b.history.indices);
    EXPECT_EQ(a.history.values, b.history.values);
    EXPECT_EQ(a.describe_json(), b.describe_json());
    for (uint32_t i = 0; i < a.n_items(); ++i) EXPECT_EQ(a.items.to_string(i), b.items.to_string(i));
    for (uint32_t u = 0; u < a.n_users(); ++u) {
        EXPECT_EQ(a.users.to_string(u), b.users.to_string(u));
        EXPECT_EQ(scores_of(a, u), scores_of(b, u)) << "user " << u;
    }
}

struct Case {
    const char* algorithm;
    const char* params;
    bool text;
};

const Case kCases[] = {
    {"popularity", "{}", false},
    {"popularity", R"({"by": "weight"})", true},
    {"itemknn", "{}", false},
    {"itemknn", R"({"neighbours": 3, "binary": false, "shrinkage": 1.5})", true},
};

}  // namespace

// ---------------------------------------------------------------- training

TEST(ModelTrain, PopularityBeyondAFloatIsRefused) {
    // Weights that fit a float may not when summed.
    InteractionBuilder b;
    for (int64_t u = 0; u < 3; ++u) {
        b.add(u, int64_t(10), 3e38);
        b.add(u, int64_t(20), 1e30);
    }
    const Error e = expect_error([&] { train("popularity", b, R"({"by": "weight"})"); });
    EXPECT_STREQ(e.what(), "popularity failed: an item's summed weight is too large for a float");
    EXPECT_NE(e.hint().find("log_weight"), std::string::npos) << e.hint();
    EXPECT_NO_THROW(train("popularity", b));  // counting buyers
}

TEST(ModelTrain, PopularityCountsHandComputed) {
    InteractionBuilder b;
    b.add(int64_t(1), int64_t(10), 5.0);
    b.add(int64_t(1), int64_t(20), 1.0);
    b.add(int64_t(2), int64_t(10), 1.0);
    b.add(int64_t(2), int64_t(10), 1.0);  // duplicate: still one buyer
    b.add(int64_t(3), int64_t(30), 2.0);
    b.add(int64_t(3), int64_t(10), 0.5);
    Model users = train("popularity", b);
    // Items sorted: 10, 20, 30. Buyers: 3, 1, 1. Summed weights: 7.5, 1, 2.
    EXPECT_EQ(users.popularity, (std::vector<float>{3, 1, 1}));
    EXPECT_EQ(scores_of(users, 0), (std::vector<float>{3, 1, 1}));
    EXPECT_NE(users.params_json.find(R"("by": "users")"), std::string::npos) << users.params_json;
    Model weight = train("popularity", b, R"({"by": "weight"})");
    EXPECT_EQ(scores_of(weight, 1), (std::vector<float>{7.5, 1, 2}));
    EXPECT_NE(weight.params_json.find(R"("by": "weight")"), std::string::npos) << weight.params_json;
    EXPECT_EQ(weight.rows_added, 6u);
}

TEST(ModelTrain, EffectiveParamsRecorded) {
    Model m = train("itemknn", int_rows(), R"({"neighbours": 5, "weighting": "none"})");
    EXPECT_EQ(m.algorithm, "itemknn");
    // The given value and the defaults read, in sorted key order.
    const std::string& j = m.params_json;
    auto at = [&](const char* s) { return j.find(s); };
    EXPECT_NE(at("\"neighbours\": 5"), std::string::npos) << j;
    EXPECT_NE(at("\"binary\": true"), std::string::npos) << j;
    EXPECT_NE(at("\"shrinkage\": 0"), std::string::npos) << j;
    EXPECT_LT(at("\"binary\""), at("\"neighbours\""));
    EXPECT_LT(at("\"neighbours\""), at("\"shrinkage\""));
    EXPECT_EQ(Params::parse_json(j).to_json(), j);
    EXPECT_EQ(m.rows_skipped, 1u);
    std::string d = m.describe_json();
    EXPECT_NE(d.find("\"algorithm\": \"itemknn\""), std::string::npos) << d;
    EXPECT_NE(d.find("\"format_version\": 4"), std::string::npos) << d;
    EXPECT_NE(d.find("\"user_id_type\": \"bigint\""), std::string::npos) << d;
    EXPECT_NE(d.find("\"skipped_rows\": 1"), std::string::npos) << d;
}

TEST(ModelTrain, UnknownAlgorithm) {
    Error e = expect_error([] { train("svd++", int_rows()); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "unknown algorithm \"svd++\"");
    EXPECT_NE(e.hint().find("popularity"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find("itemknn"), std::string::npos) << e.hint();
    EXPECT_TRUE(starts_with(e.hint(), "Known algorithms: ")) << e.hint();
}

TEST(ModelTrain, UnknownParameter) {
    Error e = expect_error([] { train("itemknn", int_rows(), R"({"neighbors": 10})"); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "unknown parameter \"neighbors\" for algorithm itemknn");
    EXPECT_NE(e.hint().find("neighbours"), std::string::npos) << e.hint();
    e = expect_error([] { train("popularity", int_rows(), R"({"k": 1})"); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "unknown parameter \"k\" for algorithm popularity");
}

TEST(ModelTrain, BadParameterValues) {
    Error e = expect_error([] { train("itemknn", int_rows(), R"({"neighbours": 0})"); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "parameter \"neighbours\" is 0, but must be between 1 and 100000");
    expect_error([] { train("itemknn", int_rows(), R"({"binary": "yes"})"); }, ErrorKind::InvalidInput);
    expect_error([] { train("itemknn", int_rows(), "not json"); }, ErrorKind::InvalidInput);
}

TEST(ModelTrain, NoInteractions) {
    InteractionBuilder empty;
    for (const char* alg : {"popularity", "itemknn"}) {
        Error e = expect_error([&] { train(alg, empty); }, ErrorKind::InvalidInput);
        EXPECT_STREQ(e.what(), "no interactions to train on");
    }
    InteractionBuilder skipped;
    skipped.skip();
    skipped.skip();
    Error e = expect_error([&] { train("popularity", skipped); }, ErrorKind::InvalidInput);
    EXPECT_STREQ(e.what(), "no interactions to train on");
}

// ---------------------------------------------------------------- round trips

TEST(ModelFormat, SerializeDeserializeSerializeIsIdentical) {
    for (const auto& c : kCases) {
        SCOPED_TRACE(std::string(c.algorithm) + " " + c.params);
        Model m = train(c.algorithm, c.text ? text_rows() : int_rows(), c.params);
        auto bytes = m.serialize();
        Model back = load(bytes);
        EXPECT_EQ(back.serialize(), bytes);
        expect_same_model(m, back);
        // And recommendations agree, including the popularity fill-in.
        for (uint32_t u = 0; u < m.n_users(); ++u) {
            RecommendOptions o;
            o.k = 5;
            auto a = recommend_user(m, u, o), b = recommend_user(back, u, o);
            ASSERT_EQ(a.size(), b.size());
            for (size_t r = 0; r < a.size(); ++r) {
                EXPECT_EQ(a[r].item, b[r].item);
                EXPECT_EQ(a[r].score, b[r].score);
                EXPECT_EQ(a[r].source, b[r].source);
            }
        }
    }
}

TEST(ModelFormat, CancelWhileEncodingOrDecodingFreesEverything) {
    // Encoding checks while it computes the checksum; decoding before it,
    // after the ids and after the history.
    const Model m = train("als", text_rows(), R"({"factors": 4, "iterations": 2})");
    Context cancelled;
    cancelled.check_cancel = [] { throw Cancelled(); };
    stop_check::expect_cancelled_and_freed([&] { m.serialize(cancelled); });
    const auto bytes = m.serialize();
    for (int polls : {1, 2, 3}) {
        SCOPED_TRACE("poll " + std::to_string(polls));
        Context ctx;
        std::string progress;
        stop_check::cancel_after(ctx, "", polls, progress);
        stop_check::expect_cancelled_and_freed([&] { Model::deserialize(bytes.data(), bytes.size(), ctx); });
    }
}

TEST(ModelFormat, IdsSurviveAndLookUp) {
    Model m = load(train("itemknn", text_rows()).serialize());
    EXPECT_EQ(m.users.kind(), IdKind::Text);
    EXPECT_EQ(m.items.kind(), IdKind::Text);
    ASSERT_TRUE(m.users.find("carol").has_value());
    ASSERT_TRUE(m.items.find("SKU-E").has_value());
    EXPECT_EQ(m.items.to_string(0), "SKU-A");  // sorted
    Model n = load(train("popularity", int_rows()).serialize());
    EXPECT_EQ(n.users.kind(), IdKind::Int);
    EXPECT_EQ(n.users.int_at(0), 1000);
    EXPECT_EQ(n.items.int_at(0), 42);
    EXPECT_TRUE(n.items.find("50").has_value());
}

TEST(ModelFormat, HeaderLayout) {
    auto bytes = train("popularity", int_rows()).serialize();
    ASSERT_GT(bytes.size(), 28u);
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "RECSYSMD");
    uint32_t version;
    std::memcpy(&version, bytes.data() + 8, 4);
    EXPECT_EQ(version, 4u);  // format 4 since the four-chain checksum (formats 1 to 3 still read)
    uint64_t total;
    std::memcpy(&total, bytes.data() + 12, 8);
    EXPECT_EQ(total, bytes.size());
}

// ---------------------------------------------------------------- damaged input

TEST(ModelFormat, EmptyBytes) {
    Error e = expect_error([] { Model::deserialize(nullptr, 0); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "model is empty");
}

TEST(ModelFormat, ForeignBytes) {
    const std::vector<std::vector<uint8_t>> foreign = {
        {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 1, 0,
         0, 0, 1, 0, 8, 6, 0, 0, 0, 0x5c, 0x72, 0xa8, 0x66, 0, 0, 0},
        std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'},
        std::vector<uint8_t>(100, 0),
        std::vector<uint8_t>{'R', 'E', 'C', 'S', 'Y', 'S', 'M', 'X', 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0,
                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        std::vector<uint8_t>{'x'},
    };
    for (const auto& bytes : foreign) {
        Error e = expect_error([&] { load(bytes); }, ErrorKind::Corrupted);
        EXPECT_TRUE(starts_with(e.what(), "not a recsys model")) << e.what();
    }
}

TEST(ModelFormat, EveryTruncationThrows) {
    for (const auto& c : kCases) {
        SCOPED_TRACE(std::string(c.algorithm) + " " + c.params);
        auto bytes = train(c.algorithm, c.text ? text_rows() : int_rows(), c.params).serialize();
        for (size_t n = 0; n < bytes.size(); ++n) {
            std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
            // deserialize is given exactly n bytes (an owned copy), so any
            // read past them is a real out-of-bounds read.
            Error e = expect_error([&] { Model::deserialize(cut.data(), cut.size()); }, ErrorKind::Corrupted);
            if (n >= 28) {
                EXPECT_EQ(std::string(e.what()), "model is truncated or padded: its header says " +
                                                     std::to_string(bytes.size()) + " bytes, but it has " +
                                                     std::to_string(n));
            }
        }
    }
}

TEST(ModelFormat, PaddingThrows) {
    auto bytes = train("itemknn", int_rows()).serialize();
    auto padded = bytes;
    padded.push_back(0);
    Error e = expect_error([&] { load(padded); }, ErrorKind::Corrupted);
    EXPECT_EQ(std::string(e.what()), "model is truncated or padded: its header says " + std::to_string(bytes.size()) +
                                         " bytes, but it has " + std::to_string(bytes.size() + 1));
}

TEST(ModelFormat, EveryBitFlipThrows) {
    for (const auto& c : kCases) {
        SCOPED_TRACE(std::string(c.algorithm) + " " + c.params);
        auto bytes = train(c.algorithm, c.text ? text_rows() : int_rows(), c.params).serialize();
        for (size_t pos = 0; pos < bytes.size(); ++pos) {
            for (int bit = 0; bit < 8; ++bit) {
                auto bad = bytes;
                bad[pos] ^= uint8_t(1u << bit);
                try {
                    load(bad);
                    ADD_FAILURE() << "flipping bit " << bit << " of byte " << pos << " was not detected";
                } catch (const Error& e) {
                    EXPECT_EQ(e.kind(), ErrorKind::Corrupted) << e.what();
                }
            }
        }
    }
}

TEST(ModelFormat, CorruptedBodyIsAChecksumMismatch) {
    auto bytes = train("itemknn", int_rows()).serialize();
    auto bad = bytes;
    bad[bytes.size() / 2] ^= 0x10;
    Error e = expect_error([&] { load(bad); }, ErrorKind::Corrupted);
    EXPECT_STREQ(e.what(), "model is corrupted (checksum mismatch)");
    // Two compensating changes in different words are still caught.
    bad = bytes;
    bad[40] ^= 1;
    bad[48] ^= 1;
    expect_error([&] { load(bad); }, ErrorKind::Corrupted);
    // Swapping two differing 8-byte words.
    bad = bytes;
    for (int k = 0; k < 8; ++k) std::swap(bad[32 + k], bad[48 + k]);
    if (bad != bytes) expect_error([&] { load(bad); }, ErrorKind::Corrupted);
}

// seal() is what serialize() ends with; on changed bytes it mends the size
// and the checksum, and nothing else.
TEST(ModelFormat, SealWritesSizeAndChecksum) {
    auto bytes = train("itemknn", int_rows()).serialize();
    auto resealed = bytes;
    Model::seal(resealed.data(), resealed.size());
    EXPECT_EQ(resealed, bytes);
    // A changed popularity count, sealed, loads with the new count.
    auto changed = bytes;
    Model m = load(bytes);
    const float more = m.popularity[0] + 1;
    const auto at = std::search(changed.begin(), changed.end(), reinterpret_cast<const uint8_t*>(m.popularity.data()),
                                reinterpret_cast<const uint8_t*>(m.popularity.data() + m.popularity.size()));
    ASSERT_NE(at, changed.end());
    std::memcpy(&*at, &more, 4);
    expect_error([&] { load(changed); }, ErrorKind::Corrupted);
    Model::seal(changed.data(), changed.size());
    EXPECT_EQ(load(changed).popularity[0], more);
    const size_t pos = size_t(at - changed.begin());
    for (size_t i = 0; i + 8 < bytes.size(); ++i)
        if (i < pos || i >= pos + 4) ASSERT_EQ(changed[i], bytes[i]) << "byte " << i;
    // Too short to hold a header and a checksum.
    std::vector<uint8_t> short_bytes(27);
    expect_error([&] { Model::seal(short_bytes.data(), short_bytes.size()); }, ErrorKind::Internal);
}

// Format 4 hashes the checksum in four chains, formats 1-3 in one: bytes
// whose header says 3 load only with the one-chain checksum, which seal()
// writes for them; then they read as format 3 and are written as format 4.
TEST(ModelFormat, Format3ChecksumStillRead) {
    const auto v4 = train("itemknn", int_rows()).serialize();
    ASSERT_EQ(load(v4).format_version, 4u);
    auto v3 = v4;
    const uint32_t three = 3;
    std::memcpy(v3.data() + 8, &three, 4);
    EXPECT_STREQ(expect_error([&] { load(v3); }, ErrorKind::Corrupted).what(), "model is corrupted (checksum mismatch)");
    Model::seal(v3.data(), v3.size());
    EXPECT_NE(std::vector<uint8_t>(v3.end() - 8, v3.end()), std::vector<uint8_t>(v4.end() - 8, v4.end()));
    const Model m = load(v3);
    EXPECT_EQ(m.format_version, 3u);
    EXPECT_EQ(m.serialize(), v4);
}

TEST(ModelFormat, UnknownVersionRejected) {
    auto bytes = train("popularity", int_rows()).serialize();
    for (uint32_t version : {0u, 5u, 255u, 0x01000001u}) {
        auto bad = bytes;
        std::memcpy(bad.data() + 8, &version, 4);
        Error e = expect_error([&] { load(bad); }, ErrorKind::Corrupted);
        EXPECT_EQ(std::string(e.what()), "model format version " + std::to_string(version) +
                                             " is not supported by this recsys (it reads versions 1 to 4)");
    }
}

TEST(ModelFormat, RandomGarbageWithValidHeaderThrows) {
    // A valid header with the right size, followed by random bytes.
    std::mt19937 rng(1);
    for (int trial = 0; trial < 200; ++trial) {
        size_t size = 28 + rng() % 200;
        std::vector<uint8_t> bytes(size);
        for (auto& b : bytes) b = uint8_t(rng());
        std::memcpy(bytes.data(), "RECSYSMD", 8);
        uint32_t version = 1;
        uint64_t total = size;
        std::memcpy(bytes.data() + 8, &version, 4);
        std::memcpy(bytes.data() + 12, &total, 8);
        expect_error([&] { load(bytes); }, ErrorKind::Corrupted);
    }
}

// ---------------------------------------------------------------- crafted models
//
// A bytea can be written by anyone with access to the model table, so the
// checksum is no defence against a deliberately built one: loading must
// validate the content itself. These tests build v1 models from the format
// description (model.cpp's header comment) with a correct checksum.

namespace {

// The format's checksum: 64-bit words (then the tail bytes) folded with
// multiply-xor, seeded with the length.
uint64_t format_checksum(const uint8_t* p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    auto mix = [&](uint64_t v) {
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
    };
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        mix(w);
    }
    for (; i < n; ++i) mix(p[i]);
    return h;
}

struct Crafted {
    std::string algorithm = "popularity";
    std::string params = "{}";
    std::vector<int64_t> users{1, 2};
    std::vector<int64_t> items{10, 20};
    uint32_t csr_rows = 2, csr_cols = 2;
    std::vector<uint64_t> indptr{0, 1, 2};
    std::vector<uint32_t> indices{0, 1};
    std::vector<float> values{1, 1};
    std::vector<float> popularity{1, 1};
    std::function<void(ByteWriter&)> payload = [](ByteWriter& w) { w.put_array(std::vector<float>{1, 1}); };

    std::vector<uint8_t> bytes() const {
        ByteWriter w;
        w.append("RECSYSMD", 8);
        w.put<uint32_t>(1);
        w.put<uint64_t>(0);
        w.put_string(algorithm);
        w.put_string(params);
        w.put<uint64_t>(2);
        w.put<uint64_t>(0);
        for (const auto* ids : {&users, &items}) {
            w.put<uint8_t>(1);
            w.put_array(*ids);
        }
        w.put<uint32_t>(csr_rows);
        w.put<uint32_t>(csr_cols);
        w.put_array(indptr);
        w.put_array(indices);
        w.put_array(values);
        w.put_array(popularity);
        ByteWriter p;
        payload(p);
        w.put<uint64_t>(p.size());
        w.append(p.bytes().data(), p.size());
        auto out = w.bytes();
        uint64_t total = out.size() + 8;
        std::memcpy(out.data() + 12, &total, 8);
        uint64_t sum = format_checksum(out.data(), out.size());
        const auto* s = reinterpret_cast<const uint8_t*>(&sum);
        out.insert(out.end(), s, s + 8);
        return out;
    }
};

// Loads in a forked child, so that a crash fails only this test: exits 0
// if deserialize threw recsys::Error(Corrupted), 1 if it accepted the model.
void expect_rejected_without_crash(const std::vector<uint8_t>& bytes) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            try {
                Model::deserialize(bytes.data(), bytes.size());
            } catch (const Error& e) {
                std::exit(e.kind() == ErrorKind::Corrupted ? 0 : 2);
            }
            std::exit(1);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace

TEST(ModelCrafted, WellFormedLoads) {
    Crafted c;
    Model m = load(c.bytes());  // proves the crafted writer follows the format
    EXPECT_EQ(m.n_users(), 2u);
    EXPECT_EQ(m.n_items(), 2u);
    EXPECT_EQ(m.items.int_at(1), 20);
    EXPECT_EQ(scores_of(m, 0), (std::vector<float>{1, 1}));
    EXPECT_EQ(load(m.serialize()).serialize(), m.serialize());
}

TEST(ModelCrafted, InconsistentContentRejected) {
    {
        Crafted c;
        c.algorithm = "nosuch";
        Error e = expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model uses algorithm \"nosuch\", which this recsys does not know");
    }
    {
        Crafted c;
        c.items = {10, 10};
        Error e = expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (duplicate id)");
    }
    {
        Crafted c;
        c.popularity = {1, 1, 1};
        Error e = expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (sizes disagree)");
    }
    {
        Crafted c;
        c.indices = {1, 2};  // column 2 of 2
        expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
    }
    {
        Crafted c;
        c.indptr = {0, 2, 2};
        c.indices = {1, 0};  // unsorted row
        expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
    }
    {
        Crafted c;
        c.payload = [](ByteWriter& w) { w.put_array(std::vector<float>{1, 1, 1}); };
        expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
    }
    {
        Crafted c;
        c.payload = [](ByteWriter& w) {
            w.put_array(std::vector<float>{1, 1});
            w.put<uint8_t>(0);
        };
        Error e = expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (trailing payload bytes)");
    }
}

// Found by fuzz_model (tests/fuzz/corpus/model/regress_params_unterminated):
// parameters that are not what serialize() writes made describe_json() fail
// with an invalid-parameter error, or would show as invalid JSON.
TEST(ModelCrafted, ParametersMustBeCanonicalJson) {
    for (const char* params : {R"({"by": "us)", R"({"b": 1, "a": 2})", R"({"by":"users"})", R"({"x": 01})", "", "[]"}) {
        Crafted c;
        c.params = params;
        Error e = expect_error([&] { load(c.bytes()); }, ErrorKind::Corrupted);
        EXPECT_STREQ(e.what(), "model is corrupted (parameters)") << params;
    }
    Crafted ok;
    ok.params = R"({"a": 2, "b": "x\"y", "c": 0.1, "d": true})";
    EXPECT_NE(load(ok.bytes()).describe_json().find(ok.params), std::string::npos);
}

// History offsets that go up past the end of the index array before coming
// back down to it: each row must be bounds-checked before it is read.
TEST(ModelCrafted, HistoryOffsetsPastTheEndRejectedWithoutCrash) {
    Crafted c;
    c.indptr = {0, uint64_t(1) << 40, 2};
    expect_rejected_without_crash(c.bytes());
}

TEST(ModelCrafted, NeighbourOffsetsPastTheEndRejectedWithoutCrash) {
    Crafted c;
    c.algorithm = "itemknn";
    c.payload = [](ByteWriter& w) {
        w.put<uint8_t>(1);
        w.put_array(std::vector<uint64_t>{0, uint64_t(1) << 40, 1});
        w.put_array(std::vector<uint32_t>{1});
        w.put_array(std::vector<float>{0.5f});
    };
    expect_rejected_without_crash(c.bytes());
    // And a well-formed neighbour list loads.
    Crafted ok;
    ok.algorithm = "itemknn";
    ok.payload = [](ByteWriter& w) {
        w.put<uint8_t>(1);
        w.put_array(std::vector<uint64_t>{0, 1, 2});
        w.put_array(std::vector<uint32_t>{1, 0});
        w.put_array(std::vector<float>{0.5f, 0.5f});
    };
    Model m = load(ok.bytes());
    auto s = similar_items(m, 0, 5);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].item, 1u);
    EXPECT_EQ(s[0].score, 0.5f);
}
