#include "privacy.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rng.h"

#include "errors.h"

namespace recsys {

// ---------------------------------------------------------------- pseudonyms

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
    // Messages here must never quote the key.
    if (key.empty())
        throw invalid_input("the pseudonymization key is empty",
                            "Set a secret key (32 or more random bytes) and keep it out of the database.");
    if (key.size() > INT_MAX)
        throw invalid_input("the pseudonymization key is too long", "Use a key shorter than 2 GB.");
    Sha256Digest digest;
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
              data.size(), digest.data(), &length) ||
        length != digest.size())
        throw Error(ErrorKind::Internal, "HMAC-SHA-256 failed in OpenSSL");
    return digest;
}

namespace {

std::string decimal(int64_t id) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, id);
    return std::string(buf, end);
}

}  // namespace

int64_t pseudonymize(std::string_view key, std::string_view id) {
    Sha256Digest d = hmac_sha256(key, id);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
    return int64_t(v & INT64_MAX);
}

int64_t pseudonymize(std::string_view key, int64_t id) { return pseudonymize(key, decimal(id)); }

std::string pseudonymize_hex(std::string_view key, std::string_view id) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : hmac_sha256(key, id)) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string pseudonymize_hex(std::string_view key, int64_t id) { return pseudonymize_hex(key, decimal(id)); }

// ------------------------------------------------------------------- masking

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 1 for a byte that
// does not start one (so invalid input still advances byte by byte).
size_t utf8_length_at(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) n = 3, lo = 0xa0;   // no overlong forms
    else if (c == 0xed) n = 3, hi = 0x9f;   // no surrogates
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) n = 4, lo = 0x90;   // no overlong forms
    else if (c == 0xf4) n = 4, hi = 0x8f;   // nothing past U+10FFFF
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else return 1;
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 1;
    for (size_t k = 2; k < n; ++k)
        if ((byte(i + k) & 0xc0) != 0x80) return 1;
    return n;
}

std::vector<std::string_view> utf8_chars(std::string_view s) {
    std::vector<std::string_view> chars;
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_length_at(s, i);
        chars.push_back(s.substr(i, n));
        i += n;
    }
    return chars;
}

void check_mask(std::string_view mask) {
    bool one_valid_char = !mask.empty() && utf8_length_at(mask, 0) == mask.size() &&
                          (mask.size() > 1 || static_cast<unsigned char>(mask[0]) < 0x80);
    if (!one_valid_char)
        throw invalid_input("the mask must be exactly one UTF-8 character", "For example '*' or '•'.");
}

std::string mask_all(std::string_view text, std::string_view mask) {
    std::string out;
    for (size_t i = 0; i < utf8_chars(text).size(); ++i) out += mask;
    return out;
}

}  // namespace

std::string partial_mask(std::string_view text, size_t keep_first, size_t keep_last, std::string_view mask) {
    check_mask(mask);
    std::vector<std::string_view> chars = utf8_chars(text);
    size_t n = chars.size();
    if (keep_first >= n || keep_last >= n - keep_first) return mask_all(text, mask);
    std::string out;
    for (size_t i = 0; i < n; ++i) out += (i < keep_first || i >= n - keep_last) ? chars[i] : mask;
    return out;
}

std::string mask_name(std::string_view name, std::string_view mask) {
    check_mask(mask);
    std::string out;
    size_t word_start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        // Separators are ASCII, so they never sit inside a multi-byte character.
        bool at_separator = i < name.size() && (name[i] == ' ' || name[i] == '\t' || name[i] == '-');
        if (i == name.size() || at_separator) {
            out += partial_mask(name.substr(word_start, i - word_start), 1, 0, mask);
            if (at_separator) out += name[i];
            word_start = i + 1;
        }
    }
    return out;
}

std::string mask_email(std::string_view email, std::string_view mask) {
    size_t at = email.rfind('@');
    if (at == std::string_view::npos) {
        check_mask(mask);
        return mask_all(email, mask);
    }
    return partial_mask(email.substr(0, at), 1, 0, mask) + std::string(email.substr(at));
}

std::string mask_phone(std::string_view phone, size_t keep_last_digits, std::string_view mask) {
    check_mask(mask);
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    size_t digits = 0;
    for (char c : phone) digits += is_digit(c);
    size_t to_mask = digits > keep_last_digits ? digits - keep_last_digits : digits;
    std::string out;
    for (char c : phone) {
        // Bytes of multi-byte characters are >= 0x80, never ASCII digits.
        if (is_digit(c) && to_mask > 0) {
            out += mask;
            --to_mask;
        } else {
            out += c;
        }
    }
    return out;
}

// ---------------------------------------------------------- differential privacy

LaplaceNoise::LaplaceNoise(double sensitivity, double epsilon, uint64_t seed) : rng_(seed) {
    if (!std::isfinite(epsilon) || epsilon <= 0)
        throw invalid_input("epsilon must be a finite number > 0",
                            "Smaller epsilon means more privacy and more noise, e.g. 1.");
    if (!std::isfinite(sensitivity) || sensitivity < 0)
        throw invalid_input("sensitivity must be a finite number >= 0",
                            "It is the most one user can change the released values.");
    scale_ = sensitivity / epsilon;
    if (!std::isfinite(scale_))
        throw invalid_input("epsilon is too small for this sensitivity (the noise scale overflows)",
                            "Use a larger epsilon.");
}

double LaplaceNoise::sample() {
    // 52 random bits give u = (k + 0.5) / 2^52, exact and strictly inside
    // (0, 1), so both logarithms below are finite.
    double u = (double(rng_() >> 12) + 0.5) * 0x1p-52;
    // Inverse CDF of Laplace(0, b): b ln(2u) below the median, -b ln(2(1 - u)) above.
    return u < 0.5 ? scale_ * std::log(2 * u) : -scale_ * std::log(2 * (1 - u));
}

std::vector<double> noisy_counts(std::span<const double> counts, int64_t max_items_per_user, double epsilon,
                                 uint64_t seed) {
    if (max_items_per_user < 1)
        throw invalid_input("max_items_per_user must be at least 1",
                            "It bounds how many counts one user can add to, e.g. 10.");
    LaplaceNoise noise(double(max_items_per_user), epsilon, seed);
    std::vector<double> out;
    out.reserve(counts.size());
    for (double c : counts) {
        if (!std::isfinite(c) || c < 0)
            throw invalid_input("counts must be finite and >= 0", "Pass the exact counts to add noise to.");
        out.push_back(std::max(0.0, noise.add_to(c)));
    }
    return out;
}

// -------------------------------------------------------------- k-anonymity

KAnonymityResult k_anonymity_filter(const CsrMatrix& m, uint32_t min_users_per_item,
                                    uint32_t min_items_per_user, bool until_stable) {
    std::vector<bool> keep_row(m.rows, true), keep_col(m.cols, true);
    for (;;) {
        std::vector<uint32_t> users_per_item(m.cols, 0);
        for (uint32_t u = 0; u < m.rows; ++u)
            if (keep_row[u])
                for (uint32_t j : m.row_indices(u)) users_per_item[j] += keep_col[j];
        for (uint32_t j = 0; j < m.cols; ++j)
            if (users_per_item[j] < min_users_per_item) keep_col[j] = false;

        bool dropped_user = false;
        for (uint32_t u = 0; u < m.rows; ++u) {
            if (!keep_row[u]) continue;
            uint32_t items = 0;
            for (uint32_t j : m.row_indices(u)) items += keep_col[j];
            if (items < min_items_per_user) keep_row[u] = false, dropped_user = true;
        }
        if (!until_stable || !dropped_user) break;
    }

    KAnonymityResult result;
    std::vector<uint32_t> new_col(m.cols, UINT32_MAX);
    for (uint32_t j = 0; j < m.cols; ++j)
        if (keep_col[j]) new_col[j] = uint32_t(result.kept_cols.size()), result.kept_cols.push_back(j);

    CsrMatrix& out = result.matrix;
    for (uint32_t u = 0; u < m.rows; ++u) {
        if (!keep_row[u]) continue;
        result.kept_rows.push_back(u);
        auto cols = m.row_indices(u);
        auto vals = m.row_values(u);
        for (size_t e = 0; e < cols.size(); ++e) {
            if (!keep_col[cols[e]]) continue;
            out.indices.push_back(new_col[cols[e]]);  // renumbering keeps columns sorted
            out.values.push_back(vals[e]);
        }
        out.indptr.push_back(out.indices.size());
    }
    out.rows = uint32_t(result.kept_rows.size());
    out.cols = uint32_t(result.kept_cols.size());
    return result;
}

CsrMatrix bound_contributions(const CsrMatrix& x, int64_t bound, uint64_t seed) {
    CsrMatrix out;
    out.rows = x.rows;
    out.cols = x.cols;
    out.indptr.assign(uint64_t(x.rows) + 1, 0);
    std::vector<uint32_t> items;
    for (uint32_t u = 0; u < x.rows; ++u) {
        auto row = x.row_indices(u);
        items.assign(row.begin(), row.end());
        SplitMix64 rng(seed ^ (0x9E3779B97F4A7C15ull * (u + 1)));
        for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(uint32_t(i))]);
        items.resize(std::min<size_t>(items.size(), size_t(std::max<int64_t>(bound, 0))));
        std::sort(items.begin(), items.end());
        out.indices.insert(out.indices.end(), items.begin(), items.end());
        out.indptr[u + 1] = out.indices.size();
    }
    out.values.assign(out.indices.size(), 1.0f);
    return out;
}

const ParamSpec kEpsilon{"epsilon", ParamType::Double, "", 1e-6, 1e6, "", "",
                         "differential privacy: release noisy counts with this epsilon (smaller is more private); "
                         "absent: exact counts"};
const ParamSpec kNoiseSeed{"seed", ParamType::Int, "", 0, 0x1p53, "", "",
                           "with epsilon: the noise seed, for tests (default: random)"};

uint64_t noise_seed(const Params& params) {
    return params.has("seed") ? uint64_t(params.integer(kNoiseSeed, 0))
                              : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
}

}  // namespace recsys
