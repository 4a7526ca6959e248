// The kernels of dense.h, compiled once per instruction set: the including
// file defines RECSYS_DENSE_ISA, the namespace of its build, and includes
// nothing before this header. Nothing but Eigen is instantiated here, so the
// linker has no template instance to share with other translation units.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "dense.h"

namespace recsys::dense::RECSYS_DENSE_ISA {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline bool cholesky(double* a, Index lda, Index n) {
    Block m(a, n, n, Eigen::OuterStride<>(lda));
    Eigen::LLT<Eigen::Ref<Matrix, 0, Eigen::OuterStride<>>> llt(m);
    return llt.info() == Eigen::Success;
}

inline void solve_right_lower_transposed(const double* l, Index ldl, Index n, double* b, Index ldb, Index m) {
    ConstBlock lm(l, n, n, Eigen::OuterStride<>(ldl));
    Block bm(b, m, n, Eigen::OuterStride<>(ldb));
    lm.transpose().triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(bm);
}

inline void subtract_product_transposed(const double* a, Index lda, const double* b, Index ldb, Index k, double* c,
                                        Index ldc, Index m, Index n) {
    ConstBlock am(a, m, k, Eigen::OuterStride<>(lda));
    ConstBlock bm(b, n, k, Eigen::OuterStride<>(ldb));
    Block cm(c, m, n, Eigen::OuterStride<>(ldc));
    cm.noalias() -= am * bm.transpose();
}

inline void solve_lower(const double* l, Index ldl, Index n, double* b, Index ldb, Index w, bool transposed) {
    ConstBlock lm(l, n, n, Eigen::OuterStride<>(ldl));
    Block bm(b, n, w, Eigen::OuterStride<>(ldb));
    if (transposed)
        lm.transpose().triangularView<Eigen::Upper>().solveInPlace(bm);
    else
        lm.triangularView<Eigen::Lower>().solveInPlace(bm);
}

inline void subtract_product(const double* a, Index lda, bool transposed, const double* b, Index ldb, Index k,
                             double* c, Index ldc, Index m, Index n) {
    ConstBlock bm(b, k, n, Eigen::OuterStride<>(ldb));
    Block cm(c, m, n, Eigen::OuterStride<>(ldc));
    if (transposed)
        cm.noalias() -= ConstBlock(a, k, m, Eigen::OuterStride<>(lda)).transpose() * bm;
    else
        cm.noalias() -= ConstBlock(a, m, k, Eigen::OuterStride<>(lda)) * bm;
}

inline void multiply(const float* a, const float* b, float* c, Index m, Index k, Index n) {
    Eigen::Map<MatrixF>(c, m, n).noalias() = Eigen::Map<const MatrixF>(a, m, k) * Eigen::Map<const MatrixF>(b, k, n);
}

inline void add_gramian(const float* y, Index m, Index n, float* g) {
    Eigen::Map<MatrixF>(g, n, n).selfadjointView<Eigen::Lower>().rankUpdate(
        Eigen::Map<const MatrixF>(y, m, n).transpose());
}

// An IEEE float16 (its bits) as float32, exactly.
[[gnu::always_inline]] inline float widen(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return float(Eigen::half(Eigen::half_impl::raw_uint16_to_half(h)));
#endif
}

// score_panels: a tile of R rows x 32 items is summed in registers, the
// rows' factors broadcast one at a time against the panel's row of 32.
#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
constexpr int kTileRows = 6;  // 6 x 2 accumulators of 32 registers
[[gnu::always_inline]] inline Vec vzero() { return _mm512_setzero_ps(); }
[[gnu::always_inline]] inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
[[gnu::always_inline]] inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
[[gnu::always_inline]] inline Vec vfma(float a, Vec b, Vec c) { return _mm512_fmadd_ps(_mm512_set1_ps(a), b, c); }
[[gnu::always_inline]] inline Vec vload_half(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr int kLanes = 8;
constexpr int kTileRows = 3;  // 3 x 4 accumulators of 16 registers
[[gnu::always_inline]] inline Vec vzero() { return _mm256_setzero_ps(); }
[[gnu::always_inline]] inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
[[gnu::always_inline]] inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
[[gnu::always_inline]] inline Vec vfma(float a, Vec b, Vec c) { return _mm256_fmadd_ps(_mm256_set1_ps(a), b, c); }
[[gnu::always_inline]] inline Vec vload_half(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#else
// No FMA: a plain multiply and add per step, which the compiler vectorises
// across the 32 items (the order over k stays that of the loop).
struct Vec {
    float v[4];
};
constexpr int kLanes = 4;
constexpr int kTileRows = 2;
[[gnu::always_inline]] inline Vec vzero() { return Vec{}; }
[[gnu::always_inline]] inline Vec vload(const float* p) {
    Vec r;
    std::copy_n(p, 4, r.v);
    return r;
}
[[gnu::always_inline]] inline void vstore(float* p, Vec v) { std::copy_n(v.v, 4, p); }
[[gnu::always_inline]] inline Vec vfma(float a, Vec b, Vec c) {
    for (int j = 0; j < 4; ++j) c.v[j] = c.v[j] + a * b.v[j];
    return c;
}
[[gnu::always_inline]] inline Vec vload_half(const uint16_t* p) {
    Vec r;
    for (int j = 0; j < 4; ++j) r.v[j] = widen(p[j]);
    return r;
}
#endif
constexpr int kPanelVecs = int(kPanelWidth) / kLanes;

template <int R>
[[gnu::always_inline]] inline void score_tile(const float* x, Index ldx, const float* panel, Index f, float* out,
                                              Index ldo, Index cols) {
    Vec acc[R][kPanelVecs];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < kPanelVecs; ++v) acc[r][v] = vzero();
    for (Index k = 0; k < f; ++k) {
        Vec p[kPanelVecs];
        for (int v = 0; v < kPanelVecs; ++v) p[v] = vload(panel + k * kPanelWidth + v * kLanes);
        for (int r = 0; r < R; ++r) {
            const float a = x[r * ldx + k];
            for (int v = 0; v < kPanelVecs; ++v) acc[r][v] = vfma(a, p[v], acc[r][v]);
        }
    }
    if (cols == kPanelWidth) {
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < kPanelVecs; ++v) vstore(out + r * ldo + v * kLanes, acc[r][v]);
    } else {
        float tile[kPanelWidth];
        for (int r = 0; r < R; ++r) {
            for (int v = 0; v < kPanelVecs; ++v) vstore(tile + v * kLanes, acc[r][v]);
            std::copy_n(tile, cols, out + r * ldo);
        }
    }
}

template <int R>
void score_rows(const float* x, Index ldx, const float* panel, Index f, float* out, Index ldo, Index cols) {
    score_tile<R>(x, ldx, panel, f, out, ldo, cols);
}

// The remainder of rows below kTileRows, by a tile of that height.
inline void score_rest(const float* x, Index ldx, Index rows, const float* panel, Index f, float* out, Index ldo,
                       Index cols) {
    switch (rows) {
#if defined(__AVX512F__)
    case 5: score_rows<5>(x, ldx, panel, f, out, ldo, cols); break;
    case 4: score_rows<4>(x, ldx, panel, f, out, ldo, cols); break;
    case 3: score_rows<3>(x, ldx, panel, f, out, ldo, cols); break;
#endif
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
    case 2: score_rows<2>(x, ldx, panel, f, out, ldo, cols); break;
#endif
    case 1: score_rows<1>(x, ldx, panel, f, out, ldo, cols); break;
    default: break;
    }
}

// One row against kRowPanels full panels at once. Alone against one panel,
// a row is kPanelVecs chains of f dependent multiply-adds, which the FMA
// latency, not the bandwidth, paces (a recommend() for one user); these are
// kRowPanels times as many independent chains. Each score's order over k is
// the one of score_tile.
#if defined(__AVX512F__)
constexpr int kRowPanels = 4;  // 8 accumulators of 32 registers
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kRowPanels = 2;  // 8 accumulators of 16 registers
#else
constexpr int kRowPanels = 1;
#endif

[[gnu::always_inline]] inline void score_row_panels(const float* x, const float* panels, Index f, float* out) {
    Vec acc[kRowPanels][kPanelVecs];
    for (int p = 0; p < kRowPanels; ++p)
        for (int v = 0; v < kPanelVecs; ++v) acc[p][v] = vzero();
    for (Index k = 0; k < f; ++k) {
        const float a = x[k];
        for (int p = 0; p < kRowPanels; ++p)
            for (int v = 0; v < kPanelVecs; ++v)
                acc[p][v] = vfma(a, vload(panels + (p * f + k) * kPanelWidth + v * kLanes), acc[p][v]);
    }
    for (int p = 0; p < kRowPanels; ++p)
        for (int v = 0; v < kPanelVecs; ++v) vstore(out + p * kPanelWidth + v * kLanes, acc[p][v]);
}

inline void score_panels(const float* x, Index ldx, Index rows, const float* panels, Index f, Index n, float* out,
                         Index ldo) {
    Index begin = 0;
    if (rows == 1 && kRowPanels > 1)
        for (; begin + kRowPanels * kPanelWidth <= n; begin += kRowPanels * kPanelWidth)
            score_row_panels(x, panels + begin * f, f, out + begin);
    for (; begin < n; begin += kPanelWidth) {
        const float* panel = panels + begin * f;  // panel begin / 32, of f x 32 floats
        const Index cols = std::min<Index>(kPanelWidth, n - begin);
        Index r = 0;
        for (; r + kTileRows <= rows; r += kTileRows)
            score_tile<kTileRows>(x + r * ldx, ldx, panel, f, out + r * ldo + begin, ldo, cols);
        if (r < rows) score_rest(x + r * ldx, ldx, rows - r, panel, f, out + r * ldo + begin, ldo, cols);
    }
}

// sum_rows: columns a tile of 8 vectors at a time, the tile's sums in
// registers while the rows are added; the last columns one at a time with
// the same arithmetic (fmaf where the vectors fuse).
[[gnu::always_inline]] inline float sfma(float a, float b, float c) {
#if defined(__AVX2__) && defined(__FMA__)
    return __builtin_fmaf(a, b, c);
#else
    return c + a * b;
#endif
}

// Columns from which sum_rows_of streams rows into `out`, and its chunk.
constexpr Index kStreamAbove = 1024;
constexpr Index kStreamCols = 4096;  // 16 kB of sums

// One template for float32 and float16 values: `load` reads kLanes values
// as floats, `value` one.
template <typename T, typename Load, typename Value>
[[gnu::always_inline]] inline void sum_rows_of(const T* b, Index ldb, const uint32_t* rows, const float* w,
                                               Index count, Index n, float* out, Load load, Value value) {
    constexpr int kVecs = 8;
    constexpr Index kCols = kVecs * kLanes;
    Index c = 0;
    if (n >= kStreamAbove) {
        // Wide: the sums in `out`, a chunk of columns at a time (in L1),
        // each row's chunk read from start to end. Reading a few cache
        // lines from each of many rows in turn (the register tiles below)
        // defeats the hardware prefetcher and waits on memory when the
        // matrix is not cached (one user's recommend() from a large model).
        // The same steps per column, in the same order.
        const Index vectors = n / kLanes * kLanes;
        for (; c < vectors; c += kStreamCols) {
            const Index end = std::min(vectors, c + kStreamCols);
            for (Index j = c; j < end; j += kLanes) vstore(out + j, vzero());
            for (Index q = 0; q < count; ++q) {
                const T* row = b + Index(rows[q]) * ldb;
                // The row after next, requested while this one is summed:
                // the rows are scattered, so nothing else fetches it early.
                const T* ahead = b + Index(rows[std::min(q + 2, count - 1)]) * ldb;
                for (Index j = c; j < end; j += kLanes) {
                    __builtin_prefetch(ahead + j);
                    vstore(out + j, vfma(w[q], load(row + j), vload(out + j)));
                }
            }
        }
        c = vectors;
    }
    for (; c + kCols <= n; c += kCols) {
        Vec acc[kVecs];
        for (int v = 0; v < kVecs; ++v) acc[v] = vzero();
        for (Index q = 0; q < count; ++q) {
            const T* row = b + Index(rows[q]) * ldb + c;
            for (int v = 0; v < kVecs; ++v) acc[v] = vfma(w[q], load(row + v * kLanes), acc[v]);
        }
        for (int v = 0; v < kVecs; ++v) vstore(out + c + v * kLanes, acc[v]);
    }
    for (; c < n; ++c) {
        float acc = 0.0f;
        for (Index q = 0; q < count; ++q) acc = sfma(w[q], value(b[Index(rows[q]) * ldb + c]), acc);
        out[c] = acc;
    }
}

inline void sum_rows(const float* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                     float* out) {
    sum_rows_of(b, ldb, rows, w, count, n, out, [](const float* p) { return vload(p); }, [](float x) { return x; });
}

inline void sum_half_rows(const uint16_t* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                          float* out) {
    sum_rows_of(b, ldb, rows, w, count, n, out, [](const uint16_t* p) { return vload_half(p); },
                [](uint16_t h) { return widen(h); });
}

extern const Kernels kernels;
const Kernels kernels = {
    RECSYS_DENSE_ISA_NAME, cholesky, solve_right_lower_transposed, subtract_product_transposed, solve_lower,
    subtract_product,      multiply, add_gramian, score_panels, sum_rows, sum_half_rows,
};

}  // namespace recsys::dense::RECSYS_DENSE_ISA
