#include "dense.h"

namespace recsys::dense {

namespace baseline {
extern const Kernels kernels;
}
#if defined(__x86_64__)
namespace avx2 {
extern const Kernels kernels;
}
namespace avx512 {
extern const Kernels kernels;
}
#endif

std::vector<const Kernels*> runnable_kernels() {
    std::vector<const Kernels*> all = {&baseline::kernels};
#if defined(__x86_64__)
    __builtin_cpu_init();  // idempotent; makes the checks safe however early they run
    // F16C is not checked: every CPU with AVX2 has it (as compression.cpp assumes).
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        all.push_back(&avx2::kernels);
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
            all.push_back(&avx512::kernels);
    }
#endif
    return all;
}

std::vector<float> pack_panels(const float* y, Index n, Index f) {
    const Index panels = (n + kPanelWidth - 1) / kPanelWidth;
    std::vector<float> out(size_t(panels * f * kPanelWidth), 0.0f);
    for (Index i = 0; i < n; ++i) {
        float* p = out.data() + (i / kPanelWidth) * f * kPanelWidth + i % kPanelWidth;
        for (Index k = 0; k < f; ++k) p[k * kPanelWidth] = y[i * f + k];
    }
    return out;
}

const Kernels& kernels() {
    static const Kernels& chosen = *runnable_kernels().back();
    return chosen;
}

}  // namespace recsys::dense
