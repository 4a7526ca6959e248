// The kernels of dense.h, compiled once per instruction set: the including
// file defines RECSYS_DENSE_ISA, the namespace of its build, and includes
// nothing before this header. Nothing but Eigen is instantiated here, so the
// linker has no template instance to share with other translation units.
#pragma once

#include <Eigen/Dense>

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

extern const Kernels kernels;
const Kernels kernels = {
    RECSYS_DENSE_ISA_NAME, cholesky, solve_right_lower_transposed, subtract_product_transposed, solve_lower,
    subtract_product,      multiply, add_gramian,
};

}  // namespace recsys::dense::RECSYS_DENSE_ISA
