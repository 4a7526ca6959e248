#include "privacy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "errors.h"

using namespace recsys;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Runs f, expects invalid_input, and returns message + hint.
template <typename F>
std::string invalid_input_text(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
        return std::string(e.what()) + "\n" + e.hint();
    }
    ADD_FAILURE() << "expected invalid_input";
    return {};
}

std::string hex(const Sha256Digest& d) {
    std::string out;
    char buf[3];
    for (uint8_t b : d) snprintf(buf, sizeof buf, "%02x", b), out += buf;
    return out;
}

}  // namespace

// ---------------------------------------------------------------- pseudonyms

TEST(Hmac, Rfc4231Vectors) {
    // Test case 1: key = 20 bytes of 0x0b, data "Hi There".
    EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 2.
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Pseudonymize, FirstEightBytesBigEndianTopBitCleared) {
    // 0x5bdcc146bf60754e: top bit already clear.
    EXPECT_EQ(pseudonymize("Jefe", "what do ya want for nothing?"), int64_t(0x5bdcc146bf60754e));
    EXPECT_EQ(pseudonymize("Jefe", "what do ya want for nothing?"), 6619378061930427726);
    // 0xb0344c61d8db3853 with the top bit cleared is 0x30344c61d8db3853.
    EXPECT_EQ(pseudonymize(std::string(20, '\x0b'), "Hi There"), int64_t(0x30344c61d8db3853));
    EXPECT_EQ(pseudonymize_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Pseudonymize, IntegerIdsHashTheirDecimalText) {
    EXPECT_EQ(pseudonymize("k", int64_t(42)), pseudonymize("k", "42"));
    EXPECT_EQ(pseudonymize("k", int64_t(-7)), pseudonymize("k", "-7"));
    EXPECT_EQ(pseudonymize("k", std::numeric_limits<int64_t>::min()), pseudonymize("k", "-9223372036854775808"));
    EXPECT_EQ(pseudonymize_hex("k", int64_t(42)), pseudonymize_hex("k", "42"));
    EXPECT_EQ(pseudonymize_hex("k", int64_t(42)), hex(hmac_sha256("k", "42")));
}

TEST(Pseudonymize, StablePerKeyAndNonNegative) {
    EXPECT_EQ(pseudonymize("key one", "sku-1"), pseudonymize("key one", "sku-1"));
    EXPECT_NE(pseudonymize("key one", "sku-1"), pseudonymize("key two", "sku-1"));
    EXPECT_NE(pseudonymize("key one", "sku-1"), pseudonymize("key one", "sku-2"));
    for (int64_t id = 0; id < 1000; ++id) EXPECT_GE(pseudonymize("k", id), 0);
    EXPECT_EQ(pseudonymize_hex("k", "").size(), 64u);
}

TEST(Pseudonymize, EmptyKeyIsRejectedWithAHint) {
    std::string text = invalid_input_text([] { pseudonymize("", "42"); });
    EXPECT_NE(text.find("key"), std::string::npos);
    EXPECT_NE(text.find("Set a secret key"), std::string::npos);
    invalid_input_text([] { pseudonymize_hex("", int64_t(1)); });
    invalid_input_text([] { hmac_sha256("", "x"); });
}

TEST(Privacy, ErrorsNeverQuoteSecretsOrPersonalData) {
    const std::string secret = "s3cr3t-K3y-do-not-leak";
    // Every rejected call below carries the secret in some argument.
    std::vector<std::string> texts = {
        invalid_input_text([&] { partial_mask(secret, 1, 1, "**"); }),
        invalid_input_text([&] { mask_email(secret + "@x.org", ""); }),
        invalid_input_text([&] { mask_email(secret, "\xff"); }),
        invalid_input_text([&] { mask_name(secret, "ab"); }),
        invalid_input_text([&] { mask_phone(secret, 4, ""); }),
        invalid_input_text([&] { pseudonymize("", secret); }),
    };
    for (const std::string& t : texts) {
        EXPECT_EQ(t.find(secret), std::string::npos) << t;
        EXPECT_EQ(t.find("s3cr3t"), std::string::npos) << t;
    }
}

// ------------------------------------------------------------------- masking

TEST(PartialMask, KeepsEndsAndMasksMiddle) {
    EXPECT_EQ(partial_mask("Bob", 1, 1), "B*b");
    EXPECT_EQ(partial_mask("abcdef", 2, 1), "ab***f");
    EXPECT_EQ(partial_mask("abcdef", 0, 0), "******");
    EXPECT_EQ(partial_mask("abcdef", 0, 2), "****ef");
    EXPECT_EQ(partial_mask("abcd", 1, 1, "•"), "a••d");
    EXPECT_EQ(partial_mask("abcd", 1, 1, "x"), "axxd");
}

TEST(PartialMask, TooShortToKeepBothIsMaskedWhole) {
    EXPECT_EQ(partial_mask("Bob", 2, 1), "***");
    EXPECT_EQ(partial_mask("Bob", 3, 0), "***");
    EXPECT_EQ(partial_mask("Bob", 0, 5), "***");
    EXPECT_EQ(partial_mask("Bob", SIZE_MAX, SIZE_MAX), "***");
    EXPECT_EQ(partial_mask("x", 1, 0), "*");
    EXPECT_EQ(partial_mask("é", 1, 0), "*");
    EXPECT_EQ(partial_mask("", 1, 1), "");
    EXPECT_EQ(partial_mask("", 0, 0), "");
}

TEST(PartialMask, CountsCharactersNotBytes) {
    EXPECT_EQ(partial_mask("Ødegård", 1, 1), "Ø*****d");
    EXPECT_EQ(partial_mask("東京都渋谷区", 2, 1), "東京***区");
    // U+1F44D U+1F3FD (thumbs up, skin tone): two code points of 4 bytes.
    EXPECT_EQ(partial_mask("\U0001F44D\U0001F3FDok", 1, 1), "\U0001F44D**k");
    EXPECT_EQ(partial_mask("\U0001F600", 0, 0, "\U0001F512"), "\U0001F512");
}

TEST(PartialMask, MatchesCharacterByCharacterReference) {
    // "Zoë Ødegård" spelt out one character per element.
    const std::vector<std::string> chars = {"Z", "o", "\u00eb", " ", "\u00d8", "d", "e", "g", "\u00e5", "r", "d"};
    std::string text;
    for (const auto& c : chars) text += c;
    const size_t n = chars.size();
    for (size_t first = 0; first <= n + 1; ++first) {
        for (size_t last = 0; last <= n + 1; ++last) {
            std::string expected;
            for (size_t i = 0; i < n; ++i) {
                bool keep = first + last < n && (i < first || i >= n - last);
                expected += keep ? chars[i] : "#";
            }
            EXPECT_EQ(partial_mask(text, first, last, "#"), expected) << first << "," << last;
        }
    }
}

TEST(PartialMask, InvalidUtf8BytesCountAsOneCharacterEach) {
    // 'a', a stray 0xff, 'b', a truncated 2-byte lead 0xc3.
    EXPECT_EQ(partial_mask("a\xff" "b\xc3", 1, 1), "a**\xc3");
    // An overlong encoding of '/' (0xc0 0xaf) is two invalid bytes.
    EXPECT_EQ(partial_mask("\xc0\xaf", 0, 1), "*\xaf");
    // A surrogate (0xed 0xa0 0x80) is three invalid bytes.
    EXPECT_EQ(partial_mask("\xed\xa0\x80", 0, 0), "***");
}

TEST(PartialMask, MaskMustBeOneValidCharacter) {
    invalid_input_text([] { partial_mask("abc", 1, 1, ""); });
    invalid_input_text([] { partial_mask("abc", 1, 1, "**"); });
    invalid_input_text([] { partial_mask("abc", 1, 1, "\xff"); });
    invalid_input_text([] { partial_mask("abc", 1, 1, "\xc3"); });
}

TEST(MaskName, MasksEachWord) {
    EXPECT_EQ(mask_name("Zoë Ødegård"), "Z** Ø******");
    EXPECT_EQ(mask_name("Jean-Luc  Picard"), "J***-L**  P*****");
    EXPECT_EQ(mask_name("J Smith"), "* S****");
    EXPECT_EQ(mask_name("毛泽东"), "毛**");
    EXPECT_EQ(mask_name(""), "");
    EXPECT_EQ(mask_name("Ann", "·"), "A··");
}

TEST(MaskEmail, KeepsFirstCharacterAndDomain) {
    EXPECT_EQ(mask_email("john.doe@example.com"), "j*******@example.com");
    EXPECT_EQ(mask_email("zoë@bücher.de"), "z**@bücher.de");
    EXPECT_EQ(mask_email("ørjan@example.no"), "ø****@example.no");
    EXPECT_EQ(mask_email("a@b.c"), "*@b.c");                     // too short to keep 'a'
    EXPECT_EQ(mask_email("\"a@b\"@example.com"), "\"****@example.com");  // last '@' splits
    EXPECT_EQ(mask_email("@example.com"), "@example.com");
    EXPECT_EQ(mask_email("john@"), "j***@");
    EXPECT_EQ(mask_email("no-at-sign"), "**********");
    EXPECT_EQ(mask_email(""), "");
}

TEST(MaskPhone, KeepsLastDigitsAndSeparators) {
    EXPECT_EQ(mask_phone("+1 (555) 123-4567"), "+* (***) ***-4567");
    EXPECT_EQ(mask_phone("+44 20 7946 0958"), "+** ** **** 0958");
    EXPECT_EQ(mask_phone("12345"), "*2345");
    EXPECT_EQ(mask_phone("1234"), "****");  // would reveal the whole number
    EXPECT_EQ(mask_phone("555-0199", 2), "***-**99");
    EXPECT_EQ(mask_phone("☎ 555 0199"), "☎ *** 0199");
    EXPECT_EQ(mask_phone("555 0199", 0, "•"), "••• ••••");
    EXPECT_EQ(mask_phone(""), "");
}

// ---------------------------------------------------------- differential privacy

TEST(Laplace, ScaleIsSensitivityOverEpsilon) {
    EXPECT_DOUBLE_EQ(LaplaceNoise(3, 0.5, 1).scale(), 6);
    EXPECT_DOUBLE_EQ(LaplaceNoise(0, 1, 1).sample(), 0);
}

TEST(Laplace, PinnedDrawsForSeed5489) {
    // The first mt19937_64(5489) outputs are fixed by the C++ standard:
    // 14514284786278117030, 4620546740167642908, 13109570281517897720.
    // u = ((x >> 12) + 0.5) / 2^52 = 0.78682095..., 0.25048034..., 0.71067123...
    // then b ln(2u) for u < 0.5 and -b ln(2(1 - u)) above, with b = 1:
    LaplaceNoise noise(1, 1, 5489);
    EXPECT_NEAR(noise.sample(), 0.8524756983334517, 1e-12);
    EXPECT_NEAR(noise.sample(), -0.6912276612643221, 1e-12);
    EXPECT_NEAR(noise.sample(), 0.5470444409136817, 1e-12);
}

TEST(Laplace, SameSeedSameNumbers) {
    LaplaceNoise a(1, 0.1, 77), b(1, 0.1, 77), c(1, 0.1, 78);
    bool any_differs = false;
    for (int i = 0; i < 100; ++i) {
        double x = a.sample();
        EXPECT_EQ(x, b.sample());
        any_differs |= x != c.sample();
    }
    EXPECT_TRUE(any_differs);
}

TEST(Laplace, EmpiricalDistribution) {
    // For Laplace(0, b): E|X| = b, E X = 0, P(X < -b) = e^-1 / 2 = 0.18394.
    // With 200000 draws the standard errors are b / 447, 1.41 b / 447 and
    // 0.00087; the tolerances below are 4-5 of them.
    const double b = 2;
    const int n = 200000;
    LaplaceNoise noise(4, 2, 12345);  // sensitivity 4 / epsilon 2
    double sum = 0, sum_abs = 0;
    int below = 0;
    for (int i = 0; i < n; ++i) {
        double x = noise.sample();
        ASSERT_TRUE(std::isfinite(x));
        sum += x;
        sum_abs += std::abs(x);
        below += x < -b;
    }
    EXPECT_NEAR(sum_abs / n, b, 0.02 * b);
    EXPECT_NEAR(sum / n, 0, 0.03);
    EXPECT_NEAR(double(below) / n, std::exp(-1.0) / 2, 0.004);
}

TEST(Laplace, RejectsBadEpsilonOrSensitivity) {
    for (double eps : {0.0, -1.0, kNaN, kInf, -kInf})
        invalid_input_text([&] { LaplaceNoise(1, eps, 1); });
    invalid_input_text([] { LaplaceNoise(-1, 1, 1); });
    invalid_input_text([] { LaplaceNoise(kNaN, 1, 1); });
    invalid_input_text([] { LaplaceNoise(1e308, 1e-308, 1); });  // scale overflows
}

TEST(NoisyCounts, ScaleIsMaxItemsOverEpsilon) {
    // Counts far from 0 are never clamped, so the mean absolute noise
    // estimates the scale 3 / 0.5 = 6.
    std::vector<double> counts(100000, 1e6);
    std::vector<double> noisy = noisy_counts(counts, 3, 0.5, 9);
    double sum_abs = 0;
    for (size_t i = 0; i < counts.size(); ++i) sum_abs += std::abs(noisy[i] - counts[i]);
    EXPECT_NEAR(sum_abs / counts.size(), 6, 0.02 * 6);
    EXPECT_EQ(noisy, noisy_counts(counts, 3, 0.5, 9));
    EXPECT_NE(noisy, noisy_counts(counts, 3, 0.5, 10));
}

TEST(NoisyCounts, ClampedAtZero) {
    // Half the noise is negative, so about half the zero counts clamp to 0.
    std::vector<double> noisy = noisy_counts(std::vector<double>(1000, 0), 1, 1, 3);
    int zeros = 0;
    for (double x : noisy) {
        EXPECT_GE(x, 0);
        zeros += x == 0;
    }
    EXPECT_GT(zeros, 400);
    EXPECT_LT(zeros, 600);
    EXPECT_TRUE(noisy_counts({}, 1, 1, 3).empty());
}

TEST(NoisyCounts, RejectsBadInput) {
    std::vector<double> counts{1, 2};
    invalid_input_text([&] { noisy_counts(counts, 0, 1, 1); });
    invalid_input_text([&] { noisy_counts(counts, 1, 0, 1); });
    invalid_input_text([&] { noisy_counts(counts, 1, kNaN, 1); });
    invalid_input_text([] { noisy_counts(std::vector<double>{-1}, 1, 1, 1); });
    invalid_input_text([] { noisy_counts(std::vector<double>{kInf}, 1, 1, 1); });
}

// -------------------------------------------------------------- k-anonymity

namespace {

// Builds a CSR from dense rows; zeros are not stored.
CsrMatrix csr(const std::vector<std::vector<float>>& dense) {
    CsrMatrix m;
    m.rows = uint32_t(dense.size());
    m.cols = dense.empty() ? 0 : uint32_t(dense[0].size());
    for (const auto& row : dense) {
        for (uint32_t j = 0; j < row.size(); ++j)
            if (row[j] != 0) m.indices.push_back(j), m.values.push_back(row[j]);
        m.indptr.push_back(m.indices.size());
    }
    return m;
}

std::vector<std::vector<float>> dense(const CsrMatrix& m) {
    std::vector<std::vector<float>> d(m.rows, std::vector<float>(m.cols, 0));
    for (uint32_t u = 0; u < m.rows; ++u)
        for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e) d[u][m.indices[e]] = m.values[e];
    return d;
}

// Users per item: i0 4 (u0 u1 u2 u4), i1 3 (u0 u1 u3), i2 2 (u0 u4), i3 1 (u2).
CsrMatrix example() {
    return csr({{1, 2, 3, 0},
                {4, 5, 0, 0},
                {6, 0, 0, 7},
                {0, 8, 0, 0},
                {9, 0, 10, 0}});
}

}  // namespace

TEST(KAnonymity, ItemsFirstThenUsers) {
    // min 2 users per item drops i3; then u2 (only i0 left) and u3 (only i1)
    // have fewer than 2 items.
    KAnonymityResult r = k_anonymity_filter(example(), 2, 2);
    EXPECT_EQ(r.kept_cols, (std::vector<uint32_t>{0, 1, 2}));
    EXPECT_EQ(r.kept_rows, (std::vector<uint32_t>{0, 1, 4}));
    EXPECT_EQ(dense(r.matrix), (std::vector<std::vector<float>>{{1, 2, 3}, {4, 5, 0}, {9, 0, 10}}));
    EXPECT_EQ(r.matrix.indptr.size(), r.matrix.rows + 1);
}

TEST(KAnonymity, OnePassVersusUntilStable) {
    // min 3 users per item keeps i0, i1; min 2 items per user keeps u0, u1.
    // One pass stops there although i0 and i1 now have only 2 users each.
    KAnonymityResult once = k_anonymity_filter(example(), 3, 2);
    EXPECT_EQ(once.kept_cols, (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(once.kept_rows, (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(dense(once.matrix), (std::vector<std::vector<float>>{{1, 2}, {4, 5}}));
    // Repeating then drops both items and so both users.
    KAnonymityResult stable = k_anonymity_filter(example(), 3, 2, true);
    EXPECT_TRUE(stable.kept_rows.empty());
    EXPECT_TRUE(stable.kept_cols.empty());
    EXPECT_EQ(stable.matrix.rows, 0u);
    EXPECT_EQ(stable.matrix.nnz(), 0u);
    EXPECT_EQ(stable.matrix.indptr, (std::vector<uint64_t>{0}));
}

TEST(KAnonymity, ZeroThresholdsKeepEverything) {
    CsrMatrix m = example();
    KAnonymityResult r = k_anonymity_filter(m, 0, 0);
    EXPECT_EQ(r.kept_rows.size(), 5u);
    EXPECT_EQ(r.kept_cols.size(), 4u);
    EXPECT_EQ(dense(r.matrix), dense(m));
}

TEST(KAnonymity, UntilStableMatchesBruteForceOnRandomData) {
    // A brute-force reference on a dense copy: repeatedly delete any item
    // or user under its threshold until none is. The result (the largest
    // sub-matrix meeting both thresholds) does not depend on the order.
    std::mt19937_64 rng(4);
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<std::vector<float>> d(30, std::vector<float>(20, 0));
        for (auto& row : d)
            for (auto& v : row) v = rng() % 5 == 0 ? float(1 + rng() % 9) : 0;
        const uint32_t min_users = 1 + trial % 4, min_items = 1 + trial % 3;

        std::vector<bool> row_alive(30, true), col_alive(20, true);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t j = 0; j < 20; ++j) {
                uint32_t users = 0;
                for (size_t u = 0; u < 30; ++u) users += row_alive[u] && d[u][j] != 0;
                if (col_alive[j] && users < min_users) col_alive[j] = false, changed = true;
            }
            for (size_t u = 0; u < 30; ++u) {
                uint32_t items = 0;
                for (size_t j = 0; j < 20; ++j) items += col_alive[j] && d[u][j] != 0;
                if (row_alive[u] && items < min_items) row_alive[u] = false, changed = true;
            }
        }
        std::vector<uint32_t> rows, cols;
        for (uint32_t u = 0; u < 30; ++u)
            if (row_alive[u]) rows.push_back(u);
        for (uint32_t j = 0; j < 20; ++j)
            if (col_alive[j]) cols.push_back(j);

        KAnonymityResult r = k_anonymity_filter(csr(d), min_users, min_items, true);
        EXPECT_EQ(r.kept_rows, rows) << trial;
        EXPECT_EQ(r.kept_cols, cols) << trial;
        auto got = dense(r.matrix);
        for (size_t a = 0; a < rows.size(); ++a)
            for (size_t b = 0; b < cols.size(); ++b) EXPECT_EQ(got[a][b], d[rows[a]][cols[b]]);
    }
}
