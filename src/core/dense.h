// Dense linear-algebra kernels on raw blocks, for the hot loops of EASE and
// ALS. Eigen vectorises only for the instruction set it is compiled for, and
// the library must run on any x86-64, so the kernels are compiled twice — for
// baseline x86-64 and for AVX2 + FMA — and the first call picks the best one
// the CPU supports. The two builds round differently: results are
// reproducible on one machine, not across CPU generations.
//
// double blocks are column-major with a leading dimension (ld); float
// matrices are row-major and contiguous. Threads are the caller's business:
// every kernel runs on the calling thread only.
#pragma once

#include <cstddef>
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
};

// Every build in this library that this CPU can run, the best last.
std::vector<const Kernels*> runnable_kernels();

// The kernels for this CPU: the best runnable build, chosen once.
const Kernels& kernels();

// "avx2+fma" or "baseline": which build kernels() chose.
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

}  // namespace recsys::dense
