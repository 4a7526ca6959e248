// The dense kernels for x86-64 CPUs with AVX2, FMA and F16C; the build
// compiles this file with -mavx2 -mfma -mf16c. Eigen's namespace is renamed here, so that none of
// its template instances — AVX code in this file — can be merged by the linker
// with the baseline ones that every CPU must be able to run.
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define Eigen recsys_eigen_avx2
#define RECSYS_DENSE_ISA avx2
#define RECSYS_DENSE_ISA_NAME "avx2+fma"
#include "dense_kernels.h"
#endif
