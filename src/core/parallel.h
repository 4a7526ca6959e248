// Runs fn(begin, end) over [0, n) in chunks on `threads` std::threads.
// Worker threads run pure core code only; the calling thread polls
// ctx.check_cancel() between chunks, and an exception in any chunk (or a
// cancel) stops the remaining chunks and is rethrown on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "context.h"

namespace recsys {

template <typename Fn>
void parallel_for(uint64_t n, const Context& ctx, Fn&& fn, uint64_t chunk = 256) {
    if (n == 0) return;
    chunk = std::max<uint64_t>(1, chunk);
    const uint64_t n_chunks = (n + chunk - 1) / chunk;
    const int threads = int(std::min<uint64_t>(std::max(1, ctx.threads), n_chunks));
    if (threads <= 1) {
        for (uint64_t b = 0; b < n; b += chunk) {
            ctx.check_cancel();
            fn(b, std::min(n, b + chunk));
        }
        return;
    }
    std::atomic<uint64_t> next{0};
    std::atomic<bool> stop{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (;;) {
            if (stop.load(std::memory_order_relaxed)) return;
            uint64_t c = next.fetch_add(1);
            if (c >= n_chunks) return;
            try {
                fn(c * chunk, std::min(n, (c + 1) * chunk));
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                stop = true;
                return;
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    // The calling thread works too, and checks for cancellation between chunks.
    try {
        for (;;) {
            ctx.check_cancel();
            if (stop.load()) break;
            uint64_t c = next.fetch_add(1);
            if (c >= n_chunks) break;
            fn(c * chunk, std::min(n, (c + 1) * chunk));
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        stop = true;
    }
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace recsys
