// Eight-float vectors (GCC vector extensions) for the kernels that are
// compiled twice with target_clones("arch=x86-64-v3", "default"): one
// vector is a ymm register with AVX2, two xmm registers without.
//
// The helpers are always inlined, so no 32-byte vector ever crosses a call
// boundary (GCC's ABI note about that, silenced by -Wno-psabi in the build,
// does not apply).
#pragma once

namespace recsys::simd {

using v8 = float __attribute__((vector_size(32)));

[[gnu::always_inline]] inline v8 load(const float* p) {
    v8 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
[[gnu::always_inline]] inline void store(float* p, v8 v) { __builtin_memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline float hsum(v8 v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

}  // namespace recsys::simd
