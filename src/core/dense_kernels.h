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

inline void cholesky_solve(const double* l, Index ldl, Index n, double* z, Index ldz, Index w) {
    ConstBlock lm(l, n, n, Eigen::OuterStride<>(ldl));
    Block zm(z, n, w, Eigen::OuterStride<>(ldz));
    lm.triangularView<Eigen::Lower>().solveInPlace(zm);
    lm.transpose().triangularView<Eigen::Upper>().solveInPlace(zm);
}

inline void multiply(const float* a, const float* b, float* c, Index m, Index k, Index n) {
    Eigen::Map<MatrixF>(c, m, n).noalias() = Eigen::Map<const MatrixF>(a, m, k) * Eigen::Map<const MatrixF>(b, k, n);
}

inline void gramian(const float* y, Index m, Index n, float* g) {
    Eigen::Map<MatrixF> gm(g, n, n);
    gm.setZero();
    gm.selfadjointView<Eigen::Lower>().rankUpdate(Eigen::Map<const MatrixF>(y, m, n).transpose());
    gm.triangularView<Eigen::StrictlyUpper>() = gm.transpose();
}

extern const Kernels kernels;
const Kernels kernels = {
    RECSYS_DENSE_ISA_NAME, cholesky, solve_right_lower_transposed, subtract_product_transposed, cholesky_solve,
    multiply, gramian,
};

}  // namespace recsys::dense::RECSYS_DENSE_ISA
