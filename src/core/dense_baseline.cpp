// The dense kernels for any x86-64 (or other) CPU, with the build's own flags.
#define RECSYS_DENSE_ISA baseline
#define RECSYS_DENSE_ISA_NAME "baseline"
#include "dense_kernels.h"
