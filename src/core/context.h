// What a long-running core computation needs from its caller: a way to be
// cancelled, a place to report progress, a thread count and a memory limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace recsys {

struct Context {
    // Called often from the calling thread only; throws (Cancelled or the
    // caller's own exception) to stop the computation.
    std::function<void()> check_cancel = [] {};
    // Verbose progress lines ("iteration 3: loss 0.12, 0.4 s").
    std::function<void(const std::string&)> progress = [](const std::string&) {};
    int threads = 1;
    uint64_t memory_limit_bytes = uint64_t(1) << 30;

    // Throws ResourceLimit before an allocation of `bytes` for `what` that
    // would exceed the limit; `hint` says which parameter to lower.
    void reserve(uint64_t bytes, const std::string& what, const std::string& hint = {}) const;
};

}  // namespace recsys
