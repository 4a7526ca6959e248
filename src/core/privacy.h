// Privacy helpers: keyed pseudonyms, masking of personal text, Laplace noise
// for differentially private counts, and a k-anonymity filter.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csr.h"

#include "params.h"

namespace recsys {

// ---------------------------------------------------------------- pseudonyms
//
// A pseudonym is HMAC-SHA-256(key, id): stable for one key, unlinkable
// without it. An integer id is hashed as its decimal text, so 42 and '42'
// get the same pseudonym (ids are often bigint in one table, text in
// another). An empty key is invalid_input; the key never appears in an error.

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// The digest's first 8 bytes, big-endian, with the top bit cleared: a
// non-negative int64 that fits a bigint column.
int64_t pseudonymize(std::string_view key, std::string_view id);
int64_t pseudonymize(std::string_view key, int64_t id);

// The whole digest as 64 lowercase hex digits.
std::string pseudonymize_hex(std::string_view key, std::string_view id);
std::string pseudonymize_hex(std::string_view key, int64_t id);

// ------------------------------------------------------------------- masking
//
// Masking counts characters (UTF-8 code points), not bytes, and never cuts
// a multi-byte character, so valid UTF-8 in gives valid UTF-8 out. A byte
// that is not part of a valid UTF-8 sequence counts as one character of its
// own and is kept or masked as it is. Each masked character becomes one copy
// of `mask`, which must be exactly one UTF-8 character; so the length of the
// text is visible, its content is not.

// Keeps the first `keep_first` and last `keep_last` characters and masks
// the rest: partial_mask("Ødegård", 1, 1) == "Ø*****d". When the text has
// no more characters than keep_first + keep_last (keeping would reveal it
// whole) every character is masked: partial_mask("Bob", 2, 1) == "***".
std::string partial_mask(std::string_view text, size_t keep_first, size_t keep_last,
                         std::string_view mask = "*");

// Each word (separated by spaces, tabs or hyphens, which are kept) keeps
// its first character: "Zoë Ødegård" -> "Z** Ø******", "Jean-Luc" ->
// "J***-L**". One-character words are masked whole.
std::string mask_name(std::string_view name, std::string_view mask = "*");

// Keeps the first character of the local part and the whole domain (after
// the last '@'): "john.doe@example.com" -> "j*******@example.com".
// A one-character local part is masked whole; text without '@' is masked
// whole.
std::string mask_email(std::string_view email, std::string_view mask = "*");

// Masks every ASCII digit except the last `keep_last_digits`, keeping '+',
// separators and any other character: "+1 (555) 123-4567" ->
// "+* (***) ***-4567". A number with no more digits than that is masked
// whole.
std::string mask_phone(std::string_view phone, size_t keep_last_digits = 4, std::string_view mask = "*");

// ---------------------------------------------------------- differential privacy
//
// Laplace mechanism: releasing f(D) + Laplace(0, sensitivity / epsilon) is
// epsilon-differentially private when changing one user changes f by at most
// `sensitivity` in L1 norm.
//
// The noise is deterministic for a seed, so tests and reruns reproduce it;
// anyone who knows the seed can subtract it, so production callers must use
// a fresh random seed per release and keep it secret. The noise comes from
// std::mt19937_64 (portable) through our own inverse CDF, not from
// std:: distributions, whose output differs between standard libraries.
// Like every textbook floating-point Laplace sampler it is not hardened
// against attacks on the low-order bits (Mironov 2012); rounding released
// values, as noisy_counts's callers may, helps.
class LaplaceNoise {
public:
    // Throws invalid_input unless sensitivity >= 0 and epsilon > 0, both finite.
    LaplaceNoise(double sensitivity, double epsilon, uint64_t seed);

    double scale() const { return scale_; }  // sensitivity / epsilon
    double sample();                         // one draw from Laplace(0, scale)
    double add_to(double value) { return value + sample(); }

private:
    double scale_;
    std::mt19937_64 rng_;
};

// Noisy counts, e.g. item popularity, clamped at 0 (safe post-processing).
// The caller bounds each user's contribution: every user adds 1 to at most
// `max_items_per_user` of the counts (e.g. keep a random sample of that many
// distinct items per user), so one user changes the vector by at most that
// much in L1 norm and the sensitivity is max_items_per_user. Counts must be
// finite and >= 0; max_items_per_user >= 1; epsilon > 0.
std::vector<double> noisy_counts(std::span<const double> counts, int64_t max_items_per_user, double epsilon,
                                 uint64_t seed);

// -------------------------------------------------------------- k-anonymity
//
// Drops rare items and then light users from a users x items matrix: first
// every item with fewer than `min_users_per_item` users (stored entries in
// its column), then every user left with fewer than `min_items_per_user`
// items. Done once, dropping users can leave an item below its threshold
// again; with `until_stable` the two steps repeat until neither drops
// anything, so both thresholds hold on the result.
// Contribution bounding: each user's row cut to a seeded random `bound` of
// their items (weights set to 1), so that one user can change a count over
// items by at most `bound`, and a count over item pairs by bound(bound-1)/2.
CsrMatrix bound_contributions(const CsrMatrix& x, int64_t bound, uint64_t seed);

// The parameters of a differentially private release, shared by the
// algorithms that offer one (each declares its own bound on a user's items).
extern const ParamSpec kEpsilon;
extern const ParamSpec kNoiseSeed;
// The noise seed: the "seed" parameter (for tests), otherwise random, since
// whoever knows the seed can remove the noise and models record their
// parameters.
uint64_t noise_seed(const Params& params);

struct KAnonymityResult {
    CsrMatrix matrix;                 // kept rows and columns, renumbered from 0
    std::vector<uint32_t> kept_rows;  // kept_rows[new row] = old row
    std::vector<uint32_t> kept_cols;  // kept_cols[new column] = old column
};

KAnonymityResult k_anonymity_filter(const CsrMatrix& m, uint32_t min_users_per_item,
                                    uint32_t min_items_per_user, bool until_stable = false);

}  // namespace recsys
