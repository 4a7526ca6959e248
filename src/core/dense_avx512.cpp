// The dense kernels for x86-64 CPUs with AVX-512 (F, VL, BW, DQ), AVX2, FMA
// and F16C; the build compiles this file with those -m flags. Eigen's
// namespace is renamed here, as in dense_avx2.cpp, so that none of its
// AVX-512 template instances can be merged by the linker with those other
// CPUs run.
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && \
    defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define Eigen recsys_eigen_avx512
#define RECSYS_DENSE_ISA avx512
#define RECSYS_DENSE_ISA_NAME "avx512"
#include "dense_kernels.h"
#endif
