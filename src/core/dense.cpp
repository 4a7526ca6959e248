#include "dense.h"

namespace recsys::dense {

namespace baseline {
extern const Kernels kernels;
}
#if defined(__x86_64__)
namespace avx2 {
extern const Kernels kernels;
}
#endif

std::vector<const Kernels*> runnable_kernels() {
    std::vector<const Kernels*> all = {&baseline::kernels};
#if defined(__x86_64__)
    __builtin_cpu_init();  // idempotent; makes the checks safe however early they run
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) all.push_back(&avx2::kernels);
#endif
    return all;
}

const Kernels& kernels() {
    static const Kernels& chosen = *runnable_kernels().back();
    return chosen;
}

}  // namespace recsys::dense
