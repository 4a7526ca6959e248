// Runs fn(begin, end) over [0, n) in chunks on `threads` std::threads.
// Worker threads run pure core code only. The calling thread takes chunks
// too and polls ctx.check_cancel() between them and, once they are all
// taken, while it waits for the others. A cancel or an exception in any
// chunk stops the loop: no chunk starts after it, running chunks end at
// their next ctx.cancel_point(), and the first exception is rethrown on the
// calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "context.h"

namespace recsys {

// As parallel_for below, with scratch state per thread: each thread makes one
// with make_state() and passes it to fn(state, begin, end) for every chunk it
// runs, so buffers are reused from chunk to chunk. Results must not depend on
// what a previous chunk left in the state.
template <typename MakeState, typename Fn>
void parallel_for_with_state(uint64_t n, const Context& ctx, MakeState&& make_state, Fn&& fn, uint64_t chunk) {
    if (n == 0) return;
    chunk = std::max<uint64_t>(1, chunk);
    const uint64_t n_chunks = (n + chunk - 1) / chunk;
    const int threads = int(std::min<uint64_t>(std::max(1, ctx.threads), n_chunks));
    if (threads <= 1) {
        auto state = make_state();
        for (uint64_t b = 0; b < n; b += chunk) {
            ctx.check_cancel();
            fn(state, b, std::min(n, b + chunk));
        }
        return;
    }
    std::atomic<uint64_t> next{0};
    std::atomic<bool> stop{false};
    std::exception_ptr error;
    std::mutex mutex;
    std::condition_variable finished;
    int running = threads - 1;  // workers not yet finished
    auto fail = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        stop = true;
    };
    // Every thread, the calling one included, takes chunks until none is
    // left; only the calling thread checks for cancellation (the check may
    // call into the caller's world, which other threads must not touch).
    auto work = [&](bool calling_thread) {
        const detail::LoopThread outer = detail::loop_thread;
        detail::loop_thread = {&stop, !calling_thread};
        try {
            auto state = make_state();
            for (;;) {
                if (calling_thread) ctx.check_cancel();
                if (stop.load(std::memory_order_relaxed)) break;
                uint64_t c = next.fetch_add(1);
                if (c >= n_chunks) break;
                fn(state, c * chunk, std::min(n, (c + 1) * chunk));
            }
        } catch (...) {
            fail();
        }
        detail::loop_thread = outer;
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (int t = 1; t < threads; ++t)
        pool.emplace_back([&] {
            work(false);
            std::lock_guard<std::mutex> lock(mutex);
            if (--running == 0) finished.notify_one();
        });
    work(true);
    // The others' last chunks may take long (many threads on few cores):
    // keep polling, so a cancel reaches them through their cancel points.
    {
        std::unique_lock<std::mutex> lock(mutex);
        while (running > 0) {
            finished.wait_for(lock, std::chrono::milliseconds(10));
            if (running == 0 || stop) continue;
            lock.unlock();
            try {
                ctx.check_cancel();
            } catch (...) {
                fail();
            }
            lock.lock();
        }
    }
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

template <typename Fn>
void parallel_for(uint64_t n, const Context& ctx, Fn&& fn, uint64_t chunk = 256) {
    struct NoState {};
    parallel_for_with_state(
        n, ctx, [] { return NoState{}; }, [&fn](NoState&, uint64_t b, uint64_t e) { fn(b, e); }, chunk);
}

}  // namespace recsys
