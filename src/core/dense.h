// Dense linear-algebra kernels on raw blocks, for the hot loops of EASE and
// ALS. Eigen vectorises only for the instruction set it is compiled for, and
// the library must run on any x86-64, so the kernels are compiled three times
// — for baseline x86-64, for AVX2 + FMA + F16C and for AVX-512 (F, VL, BW,
// DQ) —
// and the first call picks the best one the CPU supports. The builds round
// differently: results are reproducible on one machine, not across CPU
// generations (score_panels and sum_rows excepted: their AVX2 and AVX-512
// builds give the same bits).
//
// double blocks are column-major with a leading dimension (ld); float
// matrices are row-major and contiguous. Threads are the caller's business:
// every kernel runs on the calling thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace recsys::dense {

using Index = std::ptrdiff_t;

struct Kernels {
    const char* isa;
    bool (*cholesky)(double* a, Index lda, Index n);
    void (*solve_right_lower_transposed)(const double* l, Index ldl, Index n, double* b, Index ldb, Index m);
    void (*subtract_product_transposed)(const double* a, Index lda, const double* b, Index ldb, Index k, double* c,
                                        Index ldc, Index m, Index n);
    void (*solve_lower)(const double* l, Index ldl, Index n, double* b, Index ldb, Index w, bool transposed);
    void (*subtract_product)(const double* a, Index lda, bool transposed, const double* b, Index ldb, Index k,
                             double* c, Index ldc, Index m, Index n);
    void (*multiply)(const float* a, const float* b, float* c, Index m, Index k, Index n);
    void (*add_gramian)(const float* y, Index m, Index n, float* g);
    void (*score_panels)(const float* x, Index ldx, Index rows, const float* panels, Index f, Index n, float* out,
                         Index ldo);
    void (*sum_rows)(const float* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                     float* out);
    void (*sum_half_rows)(const uint16_t* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                          float* out);
};

// Every build in this library that this CPU can run, the best last.
std::vector<const Kernels*> runnable_kernels();

// The kernels for this CPU: the best runnable build, chosen once.
const Kernels& kernels();

// "avx512", "avx2+fma" or "baseline": which build kernels() chose.
inline const char* isa() { return kernels().isa; }

// Overwrites the lower triangle of the symmetric positive definite n x n
// matrix `a` with its Cholesky factor L (a = L Lᵀ). False if `a` is not
// positive definite. The strict upper triangle is left alone.
inline bool cholesky(double* a, Index lda, Index n) { return kernels().cholesky(a, lda, n); }

// b (m x n) := b L⁻ᵀ, for L (n x n) lower triangular.
inline void solve_right_lower_transposed(const double* l, Index ldl, Index n, double* b, Index ldb, Index m) {
    kernels().solve_right_lower_transposed(l, ldl, n, b, ldb, m);
}

// c (m x n) -= a bᵀ, for a (m x k) and b (n x k).
inline void subtract_product_transposed(const double* a, Index lda, const double* b, Index ldb, Index k, double* c,
                                        Index ldc, Index m, Index n) {
    kernels().subtract_product_transposed(a, lda, b, ldb, k, c, ldc, m, n);
}

// b (n x w) := L⁻¹ b, or L⁻ᵀ b if `transposed`, for L (n x n) lower triangular.
inline void solve_lower(const double* l, Index ldl, Index n, double* b, Index ldb, Index w, bool transposed) {
    kernels().solve_lower(l, ldl, n, b, ldb, w, transposed);
}

// c (m x n) -= a b for a (m x k), or aᵀ b for a (k x m) if `transposed`;
// b is k x n.
inline void subtract_product(const double* a, Index lda, bool transposed, const double* b, Index ldb, Index k,
                             double* c, Index ldc, Index m, Index n) {
    kernels().subtract_product(a, lda, transposed, b, ldb, k, c, ldc, m, n);
}

// c (m x n) = a (m x k) b (k x n), row-major.
inline void multiply(const float* a, const float* b, float* c, Index m, Index k, Index n) {
    kernels().multiply(a, b, c, m, k, n);
}

// The lower triangle of g (n x n) += yᵀ y for y (m x n), row-major; the
// strict upper triangle is left alone.
inline void add_gramian(const float* y, Index m, Index n, float* g) { kernels().add_gramian(y, m, n, g); }

// Items per panel of pack_panels.
constexpr Index kPanelWidth = 32;

// The n x f row-major matrix y (one row per item) packed for score_panels:
// ceil(n / 32) panels of f x 32 floats, panel p holding items [32p, 32p + 32)
// factor by factor (row k: factor k of its 32 items), zero past item n.
std::vector<float> pack_panels(const float* y, Index n, Index f);

// out[r * ldo + i] = x_r . y_i for the rows x_r of x (rows x f, leading
// dimension ldx) and the items i < n of `panels` (pack_panels of y, n x f):
// a matrix product x yᵀ blocked for the cache (a panel of 32 items is read
// once per block of rows, the rows' factors stay in registers; a row alone,
// as one user's recommend(), is scored against several panels at once, to
// keep the FMA units busy). Each score is
// summed over k = 0 .. f-1 in order from 0, with one fused multiply-add per
// step in the AVX2 and AVX-512 builds: a score does not depend on the other
// rows or items of the call, so scoring one row alone gives the same bits as
// scoring it in a block, and the two builds agree bit for bit.
inline void score_panels(const float* x, Index ldx, Index rows, const float* panels, Index f, Index n, float* out,
                         Index ldo) {
    kernels().score_panels(x, ldx, rows, panels, f, n, out, ldo);
}

// out[c] = sum over q < count of w[q] b[rows[q] * ldb + c], for c < n: a
// sparse row (weights w at columns rows) times the dense matrix b. Each
// out[c] is summed over q in order from 0, with one fused multiply-add per
// step in the AVX2 and AVX-512 builds, so it does not depend on n or on the
// other columns (a batch may call this on column tiles, b + c0 and out + c0,
// and get the bits of one call over all columns), and the two builds agree.
// A wide call (one basket's scores) reads each row from start to end, the
// row after next prefetched: scattered rows of a large matrix come from
// memory, and a few lines of each in turn kept the prefetchers idle.
inline void sum_rows(const float* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                     float* out) {
    kernels().sum_rows(b, ldb, rows, w, count, n, out);
}

// sum_rows of a matrix b stored as IEEE float16 (binary16 bits): each
// value is widened to float32 (exactly) as it is read, by F16C in the AVX2
// and AVX-512 builds, so the sums have the bits sum_rows gives on the
// widened matrix, at half its memory traffic.
inline void sum_half_rows(const uint16_t* b, Index ldb, const uint32_t* rows, const float* w, Index count, Index n,
                          float* out) {
    kernels().sum_half_rows(b, ldb, rows, w, count, n, out);
}

}  // namespace recsys::dense
