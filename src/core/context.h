// What a long-running core computation needs from its caller: a way to be
// cancelled, a place to report progress and notices, a thread count and a
// memory limit.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "errors.h"

namespace recsys {

namespace detail {
// The parallel_for loop whose chunks this thread runs, if any: its stop
// flag, and whether this thread is one of its workers (which must never
// call the caller's check_cancel).
struct LoopThread {
    const std::atomic<bool>* stop = nullptr;
    bool worker = false;
};
inline thread_local LoopThread loop_thread;
}  // namespace detail

struct Context {
    // Called often from the calling thread only; throws (Cancelled or the
    // caller's own exception) to stop the computation.
    std::function<void()> check_cancel = [] {};
    // Verbose progress lines ("iteration 3: loss 0.12, 0.4 s").
    std::function<void(const std::string&)> progress = [](const std::string&) {};
    // Something the user should know though nothing failed (a default that
    // had to give way to a limit), with a hint saying what to do about it.
    // Called from the calling thread only, never inside parallel_for.
    std::function<void(const std::string& message, const std::string& hint)> notice =
        [](const std::string&, const std::string&) {};
    int threads = 1;
    uint64_t memory_limit_bytes = uint64_t(1) << 30;

    // Throws ResourceLimit before an allocation of `bytes` for `what` that
    // would exceed the limit; `hint` says which parameter to lower.
    void reserve(uint64_t bytes, const std::string& what, const std::string& hint = {}) const;

    // A point inside a long piece of work where it may stop, on any thread
    // (call it every millisecond or so of work): throws Cancelled once the
    // parallel_for running it is stopping (a cancel, or an error in another
    // chunk), and on the calling thread also polls check_cancel().
    void cancel_point() const {
        const detail::LoopThread& loop = detail::loop_thread;
        if (loop.stop && loop.stop->load(std::memory_order_relaxed)) throw Cancelled();
        if (!loop.worker) check_cancel();
    }
};

}  // namespace recsys
