// parallel_for (coverage, exceptions, cancellation) and Context::reserve.
#include "parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "context.h"
#include "errors.h"

using namespace recsys;

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
    for (uint64_t n : {0, 1, 7, 1000}) {
        for (int threads = 1; threads <= 4; ++threads) {
            for (uint64_t chunk : {0, 1, 3, 7, 64, 256, 5000}) {
                Context ctx;
                ctx.threads = threads;
                std::vector<std::atomic<int>> hits(n);
                std::atomic<uint64_t> chunks{0};
                std::atomic<bool> bad_range{false};
                parallel_for(n, ctx, [&](uint64_t begin, uint64_t end) {
                    const uint64_t size = std::max<uint64_t>(chunk, 1);
                    if (begin >= end || end > n || begin % size != 0 || (end - begin > size))
                        bad_range = true;
                    for (uint64_t i = begin; i < end && i < n; ++i) hits[i]++;
                    chunks++;
                }, chunk);
                SCOPED_TRACE("n " + std::to_string(n) + " threads " + std::to_string(threads) + " chunk " +
                             std::to_string(chunk));
                EXPECT_FALSE(bad_range);
                const uint64_t size = std::max<uint64_t>(chunk, 1);
                EXPECT_EQ(chunks.load(), (n + size - 1) / size);
                for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i;
            }
        }
    }
}

TEST(ParallelForWithState, OneStatePerThreadReusedAcrossChunks) {
    for (int threads : {1, 2, 3}) {
        Context ctx;
        ctx.threads = threads;
        std::atomic<int> made{0};
        std::vector<std::atomic<int>> hits(1000);
        struct State {
            int chunks = 0;
        };
        std::mutex mutex;
        int chunks_seen = 0;
        parallel_for_with_state(
            1000, ctx, [&] { ++made; return State{}; },
            [&](State& s, uint64_t b, uint64_t e) {
                ++s.chunks;
                for (uint64_t i = b; i < e; ++i) ++hits[i];
                std::lock_guard<std::mutex> lock(mutex);
                chunks_seen = std::max(chunks_seen, s.chunks);
            },
            10);
        EXPECT_LE(made.load(), threads);
        EXPECT_GE(made.load(), 1);
        EXPECT_GE(chunks_seen * threads, 100);  // the states were reused: 100 chunks, at most `threads` states
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
}

TEST(ParallelFor, DefaultChunk) {
    Context ctx;
    ctx.threads = 3;
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(1000, ctx, [&](uint64_t b, uint64_t e) {
        for (uint64_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ParallelFor, ZeroOrNegativeThreadsRunSerially) {
    for (int threads : {0, -3}) {
        Context ctx;
        ctx.threads = threads;
        std::vector<int> hits(100, 0);  // not atomic: must be one thread
        const auto caller = std::this_thread::get_id();
        bool other_thread = false;
        parallel_for(100, ctx, [&](uint64_t b, uint64_t e) {
            if (std::this_thread::get_id() != caller) other_thread = true;
            for (uint64_t i = b; i < e; ++i) hits[i]++;
        }, 10);
        EXPECT_FALSE(other_thread);
        for (int h : hits) EXPECT_EQ(h, 1);
    }
}

TEST(ParallelFor, WorkerExceptionRethrownOnCaller) {
    for (int threads = 1; threads <= 4; ++threads) {
        for (uint64_t bad_chunk : {0, 5, 99}) {
            Context ctx;
            ctx.threads = threads;
            std::atomic<int> ran{0};
            try {
                parallel_for(100, ctx, [&](uint64_t b, uint64_t) {
                    ran++;
                    if (b == bad_chunk) throw std::runtime_error("chunk " + std::to_string(b) + " failed");
                }, 1);
                ADD_FAILURE() << "no exception, threads " << threads;
            } catch (const std::runtime_error& e) {
                EXPECT_EQ(std::string(e.what()), "chunk " + std::to_string(bad_chunk) + " failed");
            }
            EXPECT_LE(ran.load(), 100);
        }
    }
}

TEST(ParallelFor, RecsysErrorKeepsItsType) {
    Context ctx;
    ctx.threads = 2;
    try {
        parallel_for(50, ctx, [&](uint64_t b, uint64_t) {
            if (b == 30) throw invalid_input("bad row", "a hint");
        }, 1);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
        EXPECT_STREQ(e.what(), "bad row");
        EXPECT_EQ(e.hint(), "a hint");
    }
}

TEST(ParallelFor, ExceptionStopsRemainingChunks) {
    // One chunk per index; the first chunk fails at once and the others are
    // slow, so only a few chunks can start after the failure.
    for (int threads = 1; threads <= 3; ++threads) {
        Context ctx;
        ctx.threads = threads;
        std::atomic<int> ran{0};
        EXPECT_THROW(parallel_for(200, ctx, [&](uint64_t b, uint64_t) {
            ran++;
            if (b == 0) throw std::logic_error("stop");
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }, 1), std::logic_error);
        EXPECT_LT(ran.load(), 50) << "threads " << threads;
    }
}

TEST(ParallelFor, CancelStopsTheLoop) {
    for (int threads = 1; threads <= 4; ++threads) {
        Context ctx;
        ctx.threads = threads;
        int polls = 0;
        ctx.check_cancel = [&] {
            if (++polls > 3) throw Cancelled();
        };
        std::atomic<int> ran{0};
        EXPECT_THROW(parallel_for(500, ctx, [&](uint64_t, uint64_t) {
            ran++;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }, 1), Cancelled) << "threads " << threads;
        EXPECT_LT(ran.load(), 500) << "threads " << threads;
        if (threads == 1) {
            EXPECT_EQ(ran.load(), 3);  // polled before each chunk
        }
    }
}

TEST(ParallelFor, CancelFromTheStartRunsNothingSerially) {
    Context ctx;
    ctx.check_cancel = [] { throw Cancelled(); };
    int ran = 0;
    EXPECT_THROW(parallel_for(10, ctx, [&](uint64_t, uint64_t) { ++ran; }, 1), Cancelled);
    EXPECT_EQ(ran, 0);
}

TEST(ParallelFor, CallerOwnExceptionFromCancelPropagates) {
    Context ctx;
    ctx.threads = 2;
    ctx.check_cancel = [] { throw std::runtime_error("statement timeout"); };
    try {
        parallel_for(1000, ctx, [&](uint64_t, uint64_t) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }, 1);
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "statement timeout");
    }
}

TEST(ParallelFor, CancelPolledOnCallingThreadOnly) {
    Context ctx;
    ctx.threads = 4;
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> other{false};
    ctx.check_cancel = [&] {
        if (std::this_thread::get_id() != caller) other = true;
    };
    parallel_for(400, ctx, [&](uint64_t, uint64_t) {}, 1);
    EXPECT_FALSE(other.load());
}

// A chunk of a long computation that never ends by itself: it polls its
// cancel points until one throws. Gives up after a minute (then `gave_up` is
// counted), so a stop that never arrives fails the test instead of hanging it.
void run_until_stopped(const Context& ctx, std::atomic<int>& gave_up) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (std::chrono::steady_clock::now() < deadline) {
        ctx.cancel_point();
        std::this_thread::yield();
    }
    ++gave_up;
}

TEST(ParallelFor, CancelStopsChunksRunningOnEveryThread) {
    // Every thread is inside an endless chunk when the cancel comes, also
    // with far more threads than cores: the calling thread sees it at one of
    // its cancel points, the workers' chunks end at theirs.
    for (int threads : {2, 8, 64}) {
        Context ctx;
        ctx.threads = threads;
        std::atomic<int> running{0}, gave_up{0};
        ctx.check_cancel = [&] {
            if (running.load() == threads) throw Cancelled();
        };
        EXPECT_THROW(parallel_for(threads, ctx, [&](uint64_t, uint64_t) {
            ++running;
            run_until_stopped(ctx, gave_up);
        }, 1), Cancelled) << "threads " << threads;
        EXPECT_EQ(gave_up.load(), 0) << "threads " << threads;
    }
}

TEST(ParallelFor, CallingThreadPollsWhileWaitingForTheOthers) {
    // The calling thread's chunks end as soon as a worker runs one; the
    // workers' never do. Once every chunk is taken, the calling thread can
    // only see the cancel while it waits for the workers.
    Context ctx;
    ctx.threads = 4;
    const auto caller = std::this_thread::get_id();
    std::atomic<int> taken{0}, on_workers{0}, gave_up{0};
    int polls_after_all_taken = 0;
    ctx.check_cancel = [&] {
        if (taken.load() == 64 && ++polls_after_all_taken == 2) throw Cancelled();  // the first is between chunks
    };
    EXPECT_THROW(parallel_for(64, ctx, [&](uint64_t, uint64_t) {
        ++taken;
        if (std::this_thread::get_id() == caller) {
            while (on_workers.load() == 0) std::this_thread::yield();
            return;
        }
        ++on_workers;
        run_until_stopped(ctx, gave_up);
    }, 1), Cancelled);
    EXPECT_EQ(polls_after_all_taken, 2);
    EXPECT_EQ(gave_up.load(), 0);
}

TEST(ParallelFor, AnErrorStopsChunksRunningOnOtherThreads) {
    Context ctx;
    ctx.threads = 4;
    std::atomic<int> running{0}, gave_up{0};
    try {
        parallel_for(4, ctx, [&](uint64_t b, uint64_t) {
            if (b != 0) {
                ++running;
                run_until_stopped(ctx, gave_up);
                return;
            }
            while (running.load() < 3) std::this_thread::yield();
            throw std::runtime_error("chunk 0 failed");
        }, 1);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "chunk 0 failed");  // the error, not the others' stop
    }
    EXPECT_EQ(gave_up.load(), 0);
}

TEST(CancelPoint, OutsideParallelForIsTheCancelCheck) {
    Context ctx;
    int polls = 0;
    ctx.check_cancel = [&] { ++polls; };
    ctx.cancel_point();
    EXPECT_EQ(polls, 1);
    ctx.check_cancel = [] { throw Cancelled(); };
    EXPECT_THROW(ctx.cancel_point(), Cancelled);
}

// ---------------------------------------------------------------- Context::reserve

TEST(ContextReserve, WithinLimitIsFine) {
    Context ctx;
    ctx.memory_limit_bytes = 10 << 20;
    EXPECT_NO_THROW(ctx.reserve(0, "x"));
    EXPECT_NO_THROW(ctx.reserve(10 << 20, "x"));  // exactly the limit
}

TEST(ContextReserve, AboveLimitThrowsWithMegabytes) {
    Context ctx;
    ctx.memory_limit_bytes = 64ull << 20;
    try {
        ctx.reserve((300ull << 20) + 1, "item-kNN training", "Lower \"neighbours\", or raise recsys.memory_limit.");
        FAIL() << "expected ResourceLimit";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
        // 300 MB + 1 byte rounds up to 301 MB.
        EXPECT_STREQ(e.what(), "item-kNN training needs 301 MB, more than the memory limit of 64 MB");
        EXPECT_EQ(e.hint(), "Lower \"neighbours\", or raise recsys.memory_limit.");
    }
    try {
        ctx.reserve((64ull << 20) + 1, "collecting the interactions");
        FAIL() << "expected ResourceLimit";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
        EXPECT_STREQ(e.what(), "collecting the interactions needs 65 MB, more than the memory limit of 64 MB");
        EXPECT_NE(e.hint().find("recsys.memory_limit"), std::string::npos) << e.hint();
    }
}

TEST(ContextReserve, HugeRequests) {
    Context ctx;
    ctx.memory_limit_bytes = 1ull << 30;
    try {
        ctx.reserve(5ull << 40, "the Gram matrix");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "the Gram matrix needs 5242880 MB, more than the memory limit of 1024 MB");
    }
}

// Near the top of uint64 (e.g. an overflowing size estimate): the figure must
// not wrap round to a small number.
TEST(ContextReserve, NoWrapAroundInMegabytes) {
    Context ctx;
    ctx.memory_limit_bytes = 1ull << 30;
    try {
        ctx.reserve(UINT64_MAX, "everything");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "everything needs 17592186044416 MB, more than the memory limit of 1024 MB");
    }
}
