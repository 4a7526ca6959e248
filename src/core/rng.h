// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator whose
// output is fixed by this code alone, unlike std:: distributions, whose
// results differ across standard library versions. Models trained with the
// same seed are therefore identical on every platform.
#pragma once

#include <cstdint>

namespace recsys {

class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1), 24 random bits: exactly representable as float.
    float uniform() { return float(next() >> 40) * 0x1.0p-24f; }
    // Uniform in [0, n) by multiply-shift (bias below 2^-32 for n < 2^32).
    uint32_t below(uint32_t n) { return uint32_t(((next() >> 32) * n) >> 32); }
    // Uniform in [0, n), the same way for 64-bit n (bias below n / 2^64).
    uint64_t below64(uint64_t n) { return uint64_t((static_cast<unsigned __int128>(next()) * n) >> 64); }

private:
    uint64_t state_;
};

// Seeds for independent streams (per row, per block), derived from one seed.
inline uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0) {
    SplitMix64 g(seed ^ (a * 0xD1B54A32D192ED03ull) ^ (b * 0xABC98388FB8FAC03ull));
    return g.next();
}

}  // namespace recsys
