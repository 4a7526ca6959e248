// For tests that stop a computation half-way: a cancel check that fires in a
// chosen phase, and a check that the stopped computation freed what it
// allocated. The heap is measured as blocks from operator new (counted
// exactly: this header replaces it, so include it in one test file per
// executable) and bytes malloc has in use in all arenas (Eigen allocates with
// malloc; freed small blocks that a thread keeps cached still count, hence a
// margin).
#pragma once

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>

#include "context.h"
#include "errors.h"

namespace stop_check {

inline std::atomic<int64_t> new_blocks{0};

// check_cancel throws Cancelled at its `polls`-th call after a progress line
// containing `phase` (e.g. "Gram matrix") was reported; `progress` records
// the lines.
// An empty `phase` arms it from the start.
inline void cancel_after(recsys::Context& ctx, std::string phase, int polls, std::string& progress) {
    progress.reserve(1 << 16);  // so that recording lines allocates nothing that outlives the run
    auto armed = std::make_shared<bool>(phase.empty());
    ctx.progress = [armed, phase, &progress](const std::string& line) {
        progress += line + "\n";
        if (line.find(phase) != std::string::npos) *armed = true;
    };
    ctx.check_cancel = [armed, polls, left = polls]() mutable {
        if (*armed && --left <= 0) throw recsys::Cancelled();
    };
}

// Runs `run`, which must end with Cancelled, and expects the heap to be as
// it was before.
template <typename Run>
void expect_cancelled_and_freed(Run run) {
    auto heap = [] {
        const struct mallinfo2 m = mallinfo2();
        return std::pair<int64_t, int64_t>(new_blocks.load(), int64_t(m.uordblks + m.hblkhd));
    };
    const auto before = heap();
    bool cancelled = false;
    try {
        run();
    } catch (const recsys::Cancelled&) {
        cancelled = true;
    }
    const auto after = heap();
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(after.first, before.first) << "operator new blocks not freed";
    EXPECT_LT(after.second - before.second, int64_t(1) << 20) << "malloc bytes not freed";
}

// For each count in `polls`: trains with train(ctx) on `threads` threads,
// cancelled at that check after the first iteration. Training stops before
// `never` is reported (and before the second iteration when cancelled at the
// first check) and frees what it allocated.
template <typename Train>
void expect_iterations_cancelled(int threads, std::initializer_list<int> polls, const std::string& never, Train train) {
    for (int p : polls) {
        SCOPED_TRACE("poll " + std::to_string(p));
        recsys::Context ctx;
        ctx.threads = threads;
        std::string progress;
        cancel_after(ctx, "iteration 1/", p, progress);
        expect_cancelled_and_freed([&] { train(ctx); });
        EXPECT_EQ(progress.find(never), std::string::npos) << progress;
        if (p == 1) EXPECT_EQ(progress.find("iteration 2/"), std::string::npos) << progress;
    }
}

}  // namespace stop_check

void* operator new(std::size_t size) {
    void* p = std::malloc(size ? size : 1);
    if (!p) throw std::bad_alloc();
    ++stop_check::new_blocks;
    return p;
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept {
    if (!p) return;
    --stop_check::new_blocks;
    std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
// The nothrow forms too (std::stable_sort's buffer, in libxgboost among
// others): otherwise their blocks come from the sanitizer's operator new and
// are freed by the free() above, which ASan reports as a mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    void* p = std::malloc(size ? size : 1);
    if (p) ++stop_check::new_blocks;
    return p;
}
void* operator new[](std::size_t size, const std::nothrow_t& t) noexcept { return operator new(size, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }
