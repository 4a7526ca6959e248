#include "als.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "data_shape.h"
#include "dense.h"
#include "errors.h"
#include "parallel.h"
#include "rng.h"
#include "simd.h"

namespace recsys::als {

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::MatrixXf;
using Eigen::VectorXd;
using Eigen::VectorXf;

constexpr uint32_t kMaxFactors = 1024;

// Kernels of the row solve. They are compiled twice (plain x86-64 and
// x86-64-v3, i.e. AVX2 + FMA) and the better one is picked at load time, so
// the library runs on any x86-64 and is fast on current ones. Rows are
// padded to `fp`, a multiple of 8 floats, with zeros. The two clones round
// differently: factors are reproducible on one machine, not across CPUs.
namespace kernel {

using simd::hsum;
using simd::load;
using simd::store;
using simd::v8;

// Lane-wise sums of neighbouring pairs, then quads, of two vectors' lanes.
// __builtin_shufflevector: GCC >= 12 and clang both have it.
[[gnu::always_inline]] inline v8 pair_sums(v8 x, v8 y) {
    return __builtin_shufflevector(x, y, 0, 8, 2, 10, 4, 12, 6, 14) +
           __builtin_shufflevector(x, y, 1, 9, 3, 11, 5, 13, 7, 15);
}
[[gnu::always_inline]] inline v8 quad_sums(v8 x, v8 y) {
    return __builtin_shufflevector(x, y, 0, 1, 8, 9, 4, 5, 12, 13) +
           __builtin_shufflevector(x, y, 2, 3, 10, 11, 6, 7, 14, 15);
}

// The eight horizontal sums of a[0..7], as one vector: a transposing
// reduction tree, far fewer shuffles than eight separate sums.
[[gnu::always_inline]] inline v8 hsum8(const v8* a) {
    const v8 c0 = quad_sums(pair_sums(a[0], a[1]), pair_sums(a[2], a[3]));
    const v8 c1 = quad_sums(pair_sums(a[4], a[5]), pair_sums(a[6], a[7]));
    return __builtin_shufflevector(c0, c1, 0, 1, 2, 3, 8, 9, 10, 11) +
           __builtin_shufflevector(c0, c1, 4, 5, 6, 7, 12, 13, 14, 15);
}

// out[k] = rows[k] . v (count a multiple of 8), eight rows at a time for
// independent accumulators and eight cache misses in flight.
[[gnu::always_inline]] inline void dots(const float* const* rows, size_t count, size_t fp, const float* v,
                                        float* out) {
    for (size_t k = 0; k < count; k += 8) {
        const float* const* r = rows + k;
        v8 a[8] = {};
        for (size_t s = 0; s < fp; s += 8) {
            const v8 vs = load(v + s);
#pragma GCC unroll 8
            for (int q = 0; q < 8; ++q) a[q] += load(r[q] + s) * vs;
        }
        store(out + k, hsum8(a));
    }
}

// out[s, s + 8B) += sum_k coef[k] rows[k][s, s + 8B), in registers.
template <int B>
[[gnu::always_inline]] inline void axpys_block(const float* const* rows, size_t count, size_t s, const float* coef,
                                               float* out) {
    v8 a[B];
#pragma GCC unroll 8
    for (int q = 0; q < B; ++q) a[q] = load(out + s + 8 * q);
    for (size_t k = 0; k < count; ++k) {
        const float c = coef[k];
        const float* row = rows[k] + s;
#pragma GCC unroll 8
        for (int q = 0; q < B; ++q) a[q] += c * load(row + 8 * q);
    }
#pragma GCC unroll 8
    for (int q = 0; q < B; ++q) store(out + s + 8 * q, a[q]);
}

// out += sum_k coef[k] rows[k].
[[gnu::always_inline]] inline void axpys(const float* const* rows, size_t count, size_t fp, const float* coef,
                                         float* out) {
    size_t s = 0;
    for (; s + 64 <= fp; s += 64) axpys_block<8>(rows, count, s, coef, out);
    for (; s + 32 <= fp; s += 32) axpys_block<4>(rows, count, s, coef, out);
    for (; s + 16 <= fp; s += 16) axpys_block<2>(rows, count, s, coef, out);
    for (; s < fp; s += 8) axpys_block<1>(rows, count, s, coef, out);
}

[[gnu::always_inline]] inline float dot(const float* a, const float* b, size_t fp) {
    v8 s = {};
    for (size_t i = 0; i < fp; i += 8) s += load(a + i) * load(b + i);
    return hsum(s);
}

// out += sum_k g(k, rows[k].v) rows[k], eight rows at a time: each row is
// read from memory once, and its second use, right after, hits the L1 cache.
template <typename G>
[[gnu::always_inline]] inline void dots_axpys(const float* const* rows, size_t count, size_t fp, const float* v, G g,
                                              float* out) {
    for (size_t k = 0; k < count; k += 8) {
        float t[8];
        dots(rows + k, 8, fp, v, t);
        for (size_t q = 0; q < 8; ++q) t[q] = g(k + q, t[q]);
        axpys(rows + k, 8, fp, t, out);
    }
}

// out += Yu^T (1 + conf (1 - Yu x)), for Yu's rows (count a multiple of 8).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void add_rhs(const float* const* rows, size_t count,
                                                                         size_t fp, const float* conf, const float* x,
                                                                         float* out) {
    dots_axpys(rows, count, fp, x, [conf](size_t k, float s) { return 1.0f + conf[k] * (1.0f - s); }, out);
}

// out += Yu^T diag(conf) Yu v.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void add_correction(const float* const* rows,
                                                                                size_t count, size_t fp,
                                                                                const float* conf, const float* v,
                                                                                float* out) {
    dots_axpys(rows, count, fp, v, [conf](size_t k, float s) { return conf[k] * s; }, out);
}

// out += sum_k coef[k] rows[k] (count a multiple of 8).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void row_axpys(const float* const* rows, size_t count,
                                                                           size_t fp, const float* coef, float* out) {
    axpys(rows, count, fp, coef, out);
}

// The CG kernels' bodies are always-inline functions with no vector in their
// signature, wrapped by the clones below (like the kernels above): clang
// rejects a vector passed directly between a clone compiled for AVX and a
// helper that is not (an ABI mismatch it checks before inlining).

// One conjugate-gradient step from the product ap = A p: moves x along p and
// updates the residual r and the direction p. Returns the new |r|².
[[gnu::always_inline]] inline float cg_step(float* x, float* r, float* p, const float* ap, size_t fp, float rs) {
    const float alpha = rs / dot(p, ap, fp);
    for (size_t i = 0; i < fp; i += 8) {
        store(x + i, load(x + i) + alpha * load(p + i));
        store(r + i, load(r + i) - alpha * load(ap + i));
    }
    const float rs_next = dot(r, r, fp);
    const float beta = rs_next / rs;
    for (size_t i = 0; i < fp; i += 8) store(p + i, load(r + i) + beta * load(p + i));
    return rs_next;
}

// The starting residual r = b - ap and direction p = r. Returns |r|².
[[gnu::always_inline]] inline float cg_first(const float* b, const float* ap, float* r, float* p, size_t fp) {
    for (size_t i = 0; i < fp; i += 8) {
        store(r + i, load(b + i) - load(ap + i));
        store(p + i, load(r + i));
    }
    return dot(r, r, fp);
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) float cg_update(float* x, float* r, float* p,
                                                                           const float* ap, size_t fp, float rs) {
    return cg_step(x, r, p, ap, fp, rs);
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) float cg_start(const float* b, const float* ap, float* r,
                                                                          float* p, size_t fp) {
    return cg_first(b, ap, r, p, fp);
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) void row_dots(const float* const* rows, size_t count,
                                                                          size_t fp, const float* v, float* out) {
    dots(rows, count, fp, v, out);
}

}  // namespace kernel

size_t padded(Index f) { return (size_t(f) + 7) / 8 * 8; }

// Factors stored with rows padded to a multiple of 8 floats (zeros), the
// layout the kernels read; training works on these. The first constructor
// leaves the rows unset for the caller to fill, padding included (zeroing
// a large matrix here would touch every page before any cancel check).
struct Padded {
    Padded(Index rows, Index f) : f(f), m(rows, Index(padded(f))) {}
    explicit Padded(const Factors& y) : Padded(y.rows(), y.cols()) {
        m.leftCols(f) = y;
        m.rightCols(m.cols() - f).setZero();
    }
    Factors unpadded() const { return m.leftCols(f); }
    Index f;
    Factors m;
};

// Rows of Y added to its Gramian between two cancel checks: at most 4096 x
// 1024² / 2 multiply-adds. Fixed, so the sum does not depend on the threads.
constexpr Index kGramianRows = 4096;

// Y^T Y (without lambda), by symmetric rank updates: half a product's work.
MatrixXf gramian(const Factors& y, const Context& ctx = {}) {
    MatrixXf g = MatrixXf::Zero(y.cols(), y.cols());
    for (Index r = 0; r < y.rows(); r += kGramianRows) {
        ctx.check_cancel();
        dense::add_gramian(y.row(r).data(), std::min(kGramianRows, y.rows() - r), y.cols(), g.data());
    }
    // The kernel filled the lower triangle of the row-major view: this one's upper.
    g.triangularView<Eigen::StrictlyLower>() = g.transpose();
    return g;
}

MatrixXd gramian_exact(const Factors& y, Index f, float lambda) {
    const MatrixXd yd = y.leftCols(f).cast<double>();
    MatrixXd g = yd.transpose() * yd;
    g.diagonal().array() += double(lambda);
    return g;
}

// A0 = Y^T Y + lambda I from the padded Gramian.
MatrixXf regularized(MatrixXf g, Index f, float lambda) {
    g.diagonal().head(f).array() += lambda;
    return g;
}

// A row's observed pairs' part of the objective beyond the all-pairs term
// x^T Y^T Y x: the sum over its n items of c (1 - s)^2 - s^2, s = x.y. `rows`
// and `conf` (c - 1) are padded to `padded_n`, a multiple of 8.
double observed_loss(const float* const* rows, const float* conf, size_t n, size_t padded_n, size_t fp,
                     const float* x, std::vector<float>& t) {
    t.resize(padded_n);
    kernel::row_dots(rows, padded_n, fp, x, t.data());
    double sum = 0;
    for (size_t k = 0; k < n; ++k) {
        const double s = t[k], c = 1.0 + conf[k];
        sum += c * (1 - s) * (1 - s) - s * s;
    }
    return sum;
}

// One row's data against the fixed side's factors `y` (rows of stride fp,
// read through pointers), and buffers reused from row to row.
struct RowWork {
    RowWork(Index f, size_t fp) : f(f), fp(fp), zero(fp, 0.0f), x(fp, 0.0f) {}

    // The row's items, and c - 1 for each, padded to a multiple of 8 with a
    // zero row of zero confidence (which changes nothing), so the kernels
    // need no tail loops.
    void gather(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights, float alpha) {
        n = Index(items.size());
        const size_t n8 = (size_t(n) + 7) / 8 * 8;
        rows.resize(n8);
        conf.resize(n8);
        for (Index k = 0; k < n; ++k) {
            rows[k] = y.row(items[k]).data();
            conf[k] = alpha * weights[k];
        }
        for (size_t k = size_t(n); k < n8; ++k) {
            rows[k] = zero.data();
            conf[k] = 0.0f;
        }
    }
    MatrixXd ys() const {
        MatrixXd yd(n, f);
        for (Index k = 0; k < n; ++k) yd.row(k) = Eigen::Map<const VectorXf>(rows[k], f).cast<double>();
        return yd;
    }
    Eigen::Map<VectorXf> xs() { return Eigen::Map<VectorXf>(x.data(), f); }

    // The exact solve, in double: x = (A0 + Yu^T diag(c - 1) Yu)^-1 Yu^T c.
    Eigen::LLT<MatrixXd> normal_equations(const MatrixXd& a0, VectorXd& b) const {
        const MatrixXd yd = ys();
        const VectorXd c = Eigen::Map<const VectorXf>(conf.data(), n).cast<double>();
        MatrixXd a = a0;
        a.noalias() += yd.transpose() * c.asDiagonal() * yd;
        b.noalias() = yd.transpose() * (c.array() + 1.0).matrix();
        return Eigen::LLT<MatrixXd>(a);
    }
    void exact(const MatrixXd& a0) {
        if (n == 0) {
            std::fill(x.begin(), x.end(), 0.0f);
            return;
        }
        VectorXd b;
        xs() = normal_equations(a0, b).solve(b).cast<float>();
    }

    Index f;
    size_t fp;
    Index n = 0;
    std::vector<const float*> rows;
    std::vector<float> zero, conf;
    std::vector<float> x;  // fp floats: the row being solved
};

// Conjugate gradient (Takács et al.) for a block of rows at once: each row
// solves (A0 + Yu^T diag(conf) Yu) x = Yu^T (1 + conf), warm-started from x,
// where A0 = Y^T Y + lambda I (fp x fp, padded with zeros) and Yu the row's
// item factors. The f² part of every step, A0 p for all the block's rows, is
// one matrix product (dense::multiply runs it near the CPU's peak); the rest
// costs O(n fp) per row of n items. With alpha = 0 every conf is 0, the
// Yu^T diag(conf) Yu term vanishes, and its products are skipped.
class BlockSolver {
public:
    BlockSolver(size_t fp, float alpha) : fp_(fp), alpha_(alpha), zero_(fp, 0.0f) {}
    // With frequency-scaled regularisation each row adds its own lambda to
    // A0 (which then holds none): (A0 + extra I) p, per row.

    // Starts a new block, keeping the buffers.
    void clear() {
        rows_.clear();
        conf_.clear();
        start_.assign(1, 0);
        count_.clear();
        extra_.clear();
    }

    // Adds a row: its items, with their weights, against the factors `y`
    // (rows of fp floats). The row's list is padded to a multiple of 8 with
    // a zero row of zero confidence, which changes nothing.
    void add(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights, float extra = 0.0f) {
        const size_t begin = rows_.size(), n = items.size(), end = begin + (n + 7) / 8 * 8;
        rows_.resize(end, zero_.data());
        conf_.resize(end, 0.0f);
        const float* base = y.data();
        const size_t stride = size_t(y.cols());
        for (size_t k = 0; k < n; ++k) {
            rows_[begin + k] = base + items[k] * stride;
            conf_[begin + k] = alpha_ * weights[k];
        }
        start_.push_back(end);
        count_.push_back(n);
        extra_.push_back(extra);
    }

    // Improves the block's rows x (one per add(), fp floats each) in place.
    // A row may have very many items: a cancel point per row.
    void solve(const float* a0, float* x, uint32_t steps, const Context& ctx) {
        const size_t n_rows = count_.size(), size = n_rows * fp_;
        b_.resize(size);
        r_.resize(size);
        p_.resize(size);
        ap_.resize(size);
        rs_.resize(n_rows);
        const bool correction = alpha_ != 0.0f;
        dense::multiply(x, a0, ap_.data(), Index(n_rows), Index(fp_), Index(fp_));
        add_extra(x, n_rows);
        for (size_t q = 0; q < n_rows; ++q) {
            ctx.cancel_point();
            const auto [yu, m] = items(q);
            if (m == 0) {  // no items: the exact solution is 0
                std::fill_n(x + q * fp_, fp_, 0.0f);
                std::fill_n(&b_[q * fp_], fp_, 0.0f);
                rs_[q] = 0.0f;
                continue;
            }
            // b_q = Yu^T (1 + conf (1 - Yu x)): the right-hand side minus the
            // correction term at x (the right-hand side Yu^T 1 if alpha = 0)
            float* bq = &b_[q * fp_];
            std::fill_n(bq, fp_, 0.0f);
            if (correction) {
                kernel::add_rhs(yu, m, fp_, conf_.data() + start_[q], x + q * fp_, bq);
            } else {
                ones_.resize(std::max(ones_.size(), m), 1.0f);
                kernel::row_axpys(yu, m, fp_, ones_.data(), bq);
            }
            rs_[q] = kernel::cg_start(bq, &ap_[q * fp_], &r_[q * fp_], &p_[q * fp_], fp_);
        }
        for (uint32_t step = 0; step < steps; ++step) {
            dense::multiply(p_.data(), a0, ap_.data(), Index(n_rows), Index(fp_), Index(fp_));
            add_extra(p_.data(), n_rows);
            for (size_t q = 0; q < n_rows; ++q) {
                ctx.cancel_point();
                if (!(rs_[q] > 1e-20f)) continue;  // converged
                float* p = &p_[q * fp_];
                float* ap = &ap_[q * fp_];
                if (correction) {
                    const auto [yu, m] = items(q);
                    kernel::add_correction(yu, m, fp_, conf_.data() + start_[q], p, ap);
                }
                rs_[q] = kernel::cg_update(x + q * fp_, &r_[q * fp_], p, ap, fp_, rs_[q]);
            }
        }
    }

    // Row q's observed_loss() at its solution x. Call after solve().
    double observed_loss(size_t q, const float* x) {
        if (alpha_ == 0.0f) {
            // Every c is 1: the sum is n - 2 sum s = n - 2 x.(Yu^T 1), and
            // Yu^T 1 is the right-hand side b_q kept from solve().
            double xb = 0;
            for (size_t i = 0; i < fp_; ++i) xb += double(x[i]) * b_[q * fp_ + i];
            return double(count_[q]) - 2.0 * xb;
        }
        const auto [yu, m] = items(q);
        return recsys::als::observed_loss(yu, conf_.data() + start_[q], count_[q], m, fp_, x, scratch_);
    }

private:
    std::pair<const float* const*, size_t> items(size_t q) const {
        return {rows_.data() + start_[q], start_[q + 1] - start_[q]};
    }
    // ap_ += extra_q v_q for every row q (padding stays 0: v's is 0).
    void add_extra(const float* v, size_t n_rows) {
        for (size_t q = 0; q < n_rows; ++q) {
            const float e = extra_[q];
            if (e == 0.0f) continue;
            for (size_t k = 0; k < fp_; ++k) ap_[q * fp_ + k] += e * v[q * fp_ + k];
        }
    }

    size_t fp_;
    float alpha_;
    std::vector<float> zero_;
    std::vector<const float*> rows_;  // every row's item factor rows, padded
    std::vector<float> conf_;         // c - 1 of each
    std::vector<size_t> start_{0};    // row q's items: [start_[q], start_[q + 1])
    std::vector<size_t> count_;       // row q's real (unpadded) item count
    std::vector<float> extra_;        // row q's lambda beyond A0's
    std::vector<float> ones_, b_, r_, p_, ap_, rs_, scratch_;
};

// Rows per block of the CG solve: enough for the A0 products to be an
// efficient matrix product. Fixed, so results do not depend on the threads.
constexpr uint64_t kSolveBlock = 64;

// Solves every row of `out` against the fixed factors `y` (Gramian `g`).
// Each row depends only on its own data and its fixed block, so the result
// does not depend on the thread count or scheduling.
// `row_lambda`: each row's lambda (frequency-scaled regularisation), or
// empty: opt.regularization for all.
void half_step(const CsrMatrix& x, const Padded& y, const MatrixXf& g, Padded& out, const Options& opt,
               const Context& ctx, std::vector<double>* row_loss, std::span<const float> row_lambda) {
    const float base = row_lambda.empty() ? opt.regularization : 0.0f;  // the lambda in A0
    auto extra = [&](uint64_t row) { return row_lambda.empty() ? 0.0f : row_lambda[row]; };
    if (opt.cholesky) {
        const MatrixXd a0_exact = gramian_exact(y.m, y.f, base);
        parallel_for(x.rows, ctx, [&](uint64_t begin, uint64_t end) {
            RowWork w(y.f, size_t(y.m.cols()));
            std::vector<float> t;
            MatrixXd a0_row;
            for (uint64_t row = begin; row < end; ++row) {
                ctx.cancel_point();
                w.gather(y.m, x.row_indices(uint32_t(row)), x.row_values(uint32_t(row)), opt.alpha);
                if (row_lambda.empty()) {
                    w.exact(a0_exact);
                } else {
                    a0_row = a0_exact;
                    a0_row.diagonal().array() += double(extra(row));
                    w.exact(a0_row);
                }
                std::copy_n(w.x.data(), w.fp, out.m.row(Index(row)).data());
                if (row_loss)
                    (*row_loss)[row] = observed_loss(w.rows.data(), w.conf.data(), size_t(w.n), w.rows.size(), w.fp,
                                                     w.x.data(), t);
            }
        }, 64);
        return;
    }
    const MatrixXf a0 = regularized(g, y.f, base);
    const size_t fp = size_t(y.m.cols());
    auto solver = [&] { return BlockSolver(fp, opt.alpha); };
    parallel_for_with_state(x.rows, ctx, solver, [&](BlockSolver& s, uint64_t begin, uint64_t end) {
        s.clear();
        for (uint64_t row = begin; row < end; ++row)
            s.add(y.m, x.row_indices(uint32_t(row)), x.row_values(uint32_t(row)), extra(row));
        float* rows = out.m.row(Index(begin)).data();  // contiguous: the factors are row-major
        s.solve(a0.data(), rows, opt.cg_steps, ctx);
        if (row_loss)
            for (uint64_t row = begin; row < end; ++row)
                (*row_loss)[row] = s.observed_loss(row - begin, rows + (row - begin) * fp);
    }, kSolveBlock);
}

void check_sizes(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights, const Options& opt) {
    if (items.size() != weights.size() || y.cols() != Index(opt.factors))
        throw Error(ErrorKind::Internal, "ALS row solve: inconsistent sizes");
    for (uint32_t i : items)
        if (i >= y.rows()) throw Error(ErrorKind::Internal, "ALS row solve: item out of range");
}

constexpr const char* kScaleHint =
    "Scale the weights down (log_weight, clip_weight) or lower \"alpha\"; with \"binary\": true (the default) "
    "every pair weighs 1.";

// Refuses weights whose confidence 1 + alpha * weight is not a finite float.
void check_confidence(const CsrMatrix& x, const Options& opt) {
    float heaviest = 0.0f;
    bool finite = true;
    for (float w : x.values) {
        finite &= std::isfinite(w);
        heaviest = std::max(heaviest, w);
    }
    if (finite && std::isfinite(1.0f + opt.alpha * heaviest)) return;
    char text[96];
    std::snprintf(text, sizeof text, "weight %g with alpha %g", double(heaviest), double(opt.alpha));
    throw invalid_input(std::string("ALS confidence 1 + alpha * weight overflows: ") + text, kScaleHint);
}

std::string format_progress(uint32_t it, uint32_t iterations, double loss, double seconds) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "iteration %u/%u: loss %.6g, %.3f s", it, iterations, loss, seconds);
    return buf;
}

}  // namespace

namespace {

// Defaults measured on real purchase data (README, "Choosing a model").
constexpr ParamSpec kFactors{"factors", ParamType::Int, "128", 1, kMaxFactors, "", "[32, 64, 128, 256]",
                             "latent factors per user and item"};
// Fixed in tune(): more iterations rarely change the ranking and only cost time.
constexpr ParamSpec kIterations{"iterations", ParamType::Int, "15", 1, 100000, "", "15", "alternating sweeps"};
constexpr ParamSpec kRegularization{"regularization", ParamType::Double, "10", 0, 1e9, "",
                                    "[0.01, 0.1, 1, 10, 100]",
                                    "L2 regularisation λ of both factor matrices (20 on sparse data, 30 on dense)"};
// Sparse data (data_shape.h): λ 20. There λ 10 fits noise (nDCG@10 0.019
// on complete-journey, 0.165 on the synthetic long tail, both below
// popularity's 0.044 and 0.171), and from about 30 on every factor shrinks
// to nothing and ALS ranks at popularity's level (0.044, 0.17); 20 ranks
// above popularity on both (0.044, 0.204). bench/accuracy.sh defaults.
constexpr double kSparseRegularization = 20;
// Dense data (data_shape.h): λ 30. There λ 10 fits noise with 128 factors
// (nDCG@10 0.385 on the synthetic dense set, 0.213 on dense-2k, against
// popularity's 0.411 and 0.353); λ 30 ranks above popularity on all six
// dense sets (0.419, 0.416), and from about 50-100 on ALS falls to
// popularity's level (dense 0.410 at λ 50, dense-2k 0.353 at λ 100).
constexpr double kDenseRegularization = 30;
constexpr ParamSpec kAlpha{"alpha", ParamType::Double, "1", 0, 1e9, "", "[0.1, 1, 10]",
                           "confidence of an observed pair: 1 + alpha · weight (the others: 1)"};
constexpr ParamSpec kSeed{"seed", ParamType::Int, "42", 0, 9223372036854775807.0, "", "",
                          "initialisation of the factors"};
constexpr ParamSpec kCgSteps{"cg_steps", ParamType::Int, "3", 1, 1000, "", "",
                             "conjugate-gradient steps per row and iteration"};
constexpr ParamSpec kSolver{"solver", ParamType::Choice, "\"cg\"", 0, 0, "cg|cholesky", "",
                            "\"cholesky\": the exact solve, slow, for checking"};
constexpr ParamSpec kBinary{"binary", ParamType::Bool, "true", 0, 0, "", "",
                            "every observed pair weighs 1, also in folded-in baskets"};
constexpr ParamSpec kRegularizationExponent{
    "regularization_exponent", ParamType::Double, "0", 0, 4, "", "",
    "ν: a user's or item's λ scales with its total confidence^ν (Rendle et al. 2022); 0: the same λ for all"};
constexpr const ParamSpec* kParams[] = {&kFactors, &kIterations, &kRegularization, &kAlpha,
                                        &kSeed,    &kCgSteps,    &kSolver,         &kBinary,
                                        &kRegularizationExponent, &kCompression};

// Both factor matrices in the kernels' padded layout plus as returned.
MemoryEstimate training_memory(uint64_t n_users, uint64_t n_items, uint64_t f) {
    return recsys::factor_memory(n_users, n_items, padded(Index(f)) + f,
                                 std::to_string(padded(Index(f))) + " + " + std::to_string(f));
}

MemoryEstimate memory(const Params& params, uint64_t n_users, uint64_t n_items) {
    return training_memory(n_users, n_items, uint64_t(params.integer(kFactors)));
}

// Each row's lambda: rows of x against its columns (the other side).
std::vector<float> row_lambdas(const CsrMatrix& x, const RowRegularization& reg, float alpha) {
    std::vector<float> out(x.rows);
    for (uint32_t r = 0; r < x.rows; ++r) {
        double w = 0;
        for (float v : x.row_values(r)) w += v;
        out[r] = float(reg.lambda(double(x.cols), w, alpha));
    }
    return out;
}

}  // namespace

Options read_options(const Params& params, Shape shape) {
    Options o;
    o.factors = uint32_t(params.integer(kFactors));
    o.iterations = uint32_t(params.integer(kIterations));
    o.regularization = float(shape == Shape::Sparse  ? params.number(kRegularization, kSparseRegularization)
                             : shape == Shape::Dense ? params.number(kRegularization, kDenseRegularization)
                                                     : params.number(kRegularization));
    o.alpha = float(params.number(kAlpha));
    o.seed = uint64_t(params.integer(kSeed));
    o.cg_steps = uint32_t(params.integer(kCgSteps));
    o.cholesky = params.choice(kSolver) == "cholesky";
    o.binary = params.boolean(kBinary);
    o.regularization_exponent = float(params.number(kRegularizationExponent));
    o.compression = encoding_of(params.choice(kCompression));
    params.reject_unknown("als");
    return o;
}

FactorPair fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const FactorPair&, double)>& after_iteration) {
    const Index f = opt.factors;
    ctx.reserve(training_memory(x.rows, x.cols, uint64_t(f)).bytes + x.bytes() + uint64_t(x.cols) * sizeof(double),
                "ALS training", "Lower \"factors\", or raise recsys.memory_limit.");
    check_confidence(x, opt);
    const CsrMatrix xt = x.transpose();

    // Small positive random factors, drawn in a fixed order from the seed.
    Padded users(x.rows, f), items(x.cols, f);
    SplitMix64 rng(opt.seed);
    for (Padded* side : {&users, &items})
        for (Index r = 0; r < side->m.rows(); ++r) {
            if (r % 4096 == 0) ctx.check_cancel();
            for (Index c = 0; c < f; ++c) side->m(r, c) = rng.uniform() * 0.01f;
            side->m.row(r).tail(side->m.cols() - f).setZero();
        }

    double total_confidence = double(x.rows) * x.cols;
    for (float w : x.values) total_confidence += double(opt.alpha) * w;
    const RowRegularization reg = row_regularization(x, opt);
    std::vector<float> user_lambda, item_lambda;  // empty: plain lambda
    if (opt.regularization_exponent != 0.0f) {
        user_lambda = row_lambdas(x, reg, opt.alpha);
        item_lambda = row_lambdas(xt, reg, opt.alpha);
    }
    // The penalty sum_r lambda_r |v_r|^2 of one side.
    auto penalty = [&](const Padded& side, const MatrixXf& gramian_of_side, const std::vector<float>& lambdas) {
        if (lambdas.empty()) return double(opt.regularization) * double(gramian_of_side.trace());
        double sum = 0;
        for (Index r = 0; r < side.m.rows(); ++r) sum += double(lambdas[size_t(r)]) * double(side.m.row(r).squaredNorm());
        return sum;
    };
    std::vector<double> item_loss(x.cols);
    MatrixXf gy = gramian(items.m, ctx);
    for (uint32_t it = 1; it <= opt.iterations; ++it) {
        const auto start = std::chrono::steady_clock::now();
        half_step(x, items, gy, users, opt, ctx, nullptr, user_lambda);
        const MatrixXf gx = gramian(users.m, ctx);
        half_step(xt, users, gx, items, opt, ctx, &item_loss, item_lambda);
        gy = gramian(items.m, ctx);
        // Objective = sum_u x_u^T (Y^T Y) x_u + observed corrections + penalty,
        // and sum_u x_u^T G x_u = <X^T X, G>: both Gramians are at hand.
        double loss = gx.cast<double>().cwiseProduct(gy.cast<double>()).sum() + penalty(users, gx, user_lambda) +
                      penalty(items, gy, item_lambda);
        for (double l : item_loss) loss += l;
        // A non-finite factor makes a Gramian, and so the loss, non-finite.
        if (!std::isfinite(loss))
            throw invalid_input("ALS diverged: the factors became non-finite at iteration " + std::to_string(it),
                                kScaleHint);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ctx.progress(format_progress(it, opt.iterations, loss / total_confidence, seconds));
        if (after_iteration) after_iteration(it, FactorPair{users.unpadded(), items.unpadded(), reg}, loss);
    }
    return {users.unpadded(), items.unpadded(), reg};
}

RowRegularization row_regularization(const CsrMatrix& x, const Options& opt) {
    RowRegularization reg;
    reg.exponent = opt.regularization_exponent;
    reg.scale = opt.regularization;
    if (opt.regularization_exponent == 0.0f) return reg;
    // sum over users and items of n_r^nu, n_r the row's total confidence.
    std::vector<double> item_weight(x.cols, 0.0);
    double sum = 0;
    for (uint32_t u = 0; u < x.rows; ++u) {
        double w = 0;
        auto items = x.row_indices(u);
        auto weights = x.row_values(u);
        for (size_t k = 0; k < items.size(); ++k) {
            w += weights[k];
            item_weight[items[k]] += weights[k];
        }
        sum += std::pow(double(x.cols) + double(opt.alpha) * w, double(opt.regularization_exponent));
    }
    for (double w : item_weight)
        sum += std::pow(double(x.rows) + double(opt.alpha) * w, double(opt.regularization_exponent));
    if (sum > 0) reg.scale = double(opt.regularization) * (double(x.rows) + double(x.cols)) / sum;
    return reg;
}

double loss(const CsrMatrix& x, const FactorPair& m, const Options& opt) {
    const MatrixXd gy = m.items.cast<double>().transpose() * m.items.cast<double>();
    const RowRegularization reg = row_regularization(x, opt);
    const CsrMatrix xt = x.transpose();
    double sum = 0;
    for (uint32_t u = 0; u < x.rows; ++u) {
        const VectorXd xu = m.users.row(u).transpose().cast<double>();
        double w = 0;
        for (float v : x.row_values(u)) w += v;
        sum += xu.dot(gy * xu) + reg.lambda(double(x.cols), w, opt.alpha) * xu.squaredNorm();
        auto items = x.row_indices(u);
        auto weights = x.row_values(u);
        for (size_t k = 0; k < items.size(); ++k) {
            const double s = xu.dot(m.items.row(items[k]).transpose().cast<double>());
            const double c = 1.0 + double(opt.alpha) * weights[k];
            sum += c * (1 - s) * (1 - s) - s * s;
        }
    }
    for (uint32_t i = 0; i < xt.rows; ++i) {
        double w = 0;
        for (float v : xt.row_values(i)) w += v;
        sum += reg.lambda(double(x.rows), w, opt.alpha) * m.items.row(i).cast<double>().squaredNorm();
    }
    return sum;
}

Eigen::VectorXf solve_row_cg(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights,
                             const Options& opt, const Eigen::VectorXf& start, uint32_t steps,
                             std::optional<float> row_lambda) {
    check_sizes(y, items, weights, opt);
    const Padded yp(y);
    BlockSolver s(size_t(yp.m.cols()), opt.alpha);
    s.add(yp.m, items, weights);
    Padded x(1, yp.f);
    x.m.setZero();
    x.m.row(0).head(yp.f) = start.transpose();
    s.solve(regularized(gramian(yp.m), yp.f, row_lambda.value_or(opt.regularization)).data(), x.m.data(), steps,
            Context{});
    return x.m.row(0).head(yp.f).transpose();
}

Eigen::VectorXf solve_row_exact(const Factors& y, std::span<const uint32_t> items, std::span<const float> weights,
                                const Options& opt, std::optional<float> row_lambda) {
    check_sizes(y, items, weights, opt);
    RowWork w(y.cols(), padded(y.cols()));
    w.gather(y, items, weights, opt.alpha);
    w.exact(gramian_exact(y, y.cols(), row_lambda.value_or(opt.regularization)));
    return w.xs();
}

namespace {

class AlsScorer : public Scorer {
public:
    const FactorPair& factors() const { return m_; }  // factors_of()

    AlsScorer(FactorPair m, float alpha, float regularization, bool binary, Encoding compression)
        : m_(std::move(m)), alpha_(alpha), regularization_(regularization), binary_(binary), compression_(compression),
          norms_(m_.items.rowwise().norm()) {
        if (m_.regularization.scale < 0) m_.regularization = RowRegularization{0.0f, regularization};
        // Item factors packed for dense::score_panels.
        panels_ = dense::pack_panels(m_.items.data(), m_.items.rows(), m_.items.cols());
    }

    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override {
        if (user && *user < m_.users.rows()) {
            score_items(*user, out.data());
            return;
        }
        Eigen::Map<VectorXf> scores(out.data(), Index(out.size()));
        RowWork w = fold_in(basket);
        scores.noalias() = m_.items * w.xs();
    }

    // Known users by one blocked matrix product (their factors, gathered,
    // times the item factors); each score is computed exactly as score()
    // computes it (dense::score_panels sums each one alone, in a fixed order).
    void score_block(std::span<const Basket> baskets, std::span<const uint32_t> users, uint32_t n_items,
                     std::span<float> out) const override {
        const Index f = m_.users.cols();
        std::vector<float> x(users.size() * size_t(f), 0.0f);
        for (size_t r = 0; r < users.size(); ++r)
            if (users[r] < m_.users.rows()) std::copy_n(m_.users.row(users[r]).data(), f, x.data() + r * size_t(f));
        dense::score_panels(x.data(), f, Index(users.size()), panels_.data(), f, Index(n_items), out.data(),
                            Index(n_items));
        for (size_t r = 0; r < users.size(); ++r)
            if (users[r] >= m_.users.rows()) {
                auto row = out.subspan(r * size_t(n_items), n_items);
                std::fill(row.begin(), row.end(), 0.0f);
                score(baskets[r], users[r], row);
            }
    }

    bool similar(uint32_t item, std::span<float> out) const override {
        if (item >= m_.items.rows()) return true;
        const float ni = norms_[item];
        for (Index j = 0; j < m_.items.rows(); ++j) {
            const float d = ni * norms_[j];
            out[j] = d > 0 ? m_.items.row(j).dot(m_.items.row(item)) / d : 0.0f;
        }
        return true;
    }

    bool explain(const Basket& basket, std::optional<uint32_t>, uint32_t item,
                 std::vector<Contribution>& out) const override {
        if (item >= m_.items.rows()) return true;
        // score = y_i^T A^-1 Yu^T c = sum_j (A^-1 y_i).y_j c_j, A symmetric.
        std::vector<uint32_t> items;
        RowWork w = basket_work(basket, items);
        if (w.n == 0) return true;
        VectorXd b;
        auto llt = w.normal_equations(basket_a0(w), b);
        const VectorXd z = llt.solve(m_.items.row(item).transpose().cast<double>());
        const VectorXd s = w.ys() * z;
        for (Index k = 0; k < w.n; ++k)
            out.push_back({items[k], float(s[k] * (1.0 + w.conf[k]))});
        std::sort(out.begin(), out.end(), [](const Contribution& a, const Contribution& b) {
            return a.score > b.score || (a.score == b.score && a.item < b.item);
        });
        return true;
    }

    bool zero_means_unknown() const override { return false; }

    uint64_t memory_bytes() const override {
        const uint64_t f = uint64_t(m_.items.cols());  // a0_, made or not
        return uint64_t(m_.users.size() + m_.items.size() + norms_.size() + panels_.size()) * sizeof(float) +
               f * f * sizeof(double);
    }

    void write(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(m_.items.cols()));
        w.put<float>(alpha_);
        w.put<float>(regularization_);
        w.put<uint8_t>(binary_);
        // Format 3: each side as compressed weight rows (before: u64 count, f32s).
        for (const Factors* side : {&m_.users, &m_.items})
            write_factors(w, side->data(), uint64_t(side->rows()), uint64_t(side->cols()), compression_);
        // Added in 0.2.0 after what 0.1.0 wrote (plain lambda): nu and the scale.
        w.put<float>(m_.regularization.exponent);
        w.put<double>(m_.regularization.scale);
    }

private:
    // out[i] = x_user . y_i for every item, by the dispatched kernel.
    void score_items(uint32_t user, float* out) const {
        const Index f = m_.users.cols();
        dense::score_panels(m_.users.row(user).data(), f, 1, panels_.data(), f, m_.items.rows(), out,
                            m_.items.rows());
    }

    // The basket's items (duplicates summed, unknown items dropped, sorted)
    // gathered for a solve against the item factors.
    RowWork basket_work(const Basket& basket, std::vector<uint32_t>& items) const {
        std::vector<std::pair<uint32_t, float>> v;
        for (size_t k = 0; k < basket.items.size(); ++k)
            if (basket.items[k] < m_.items.rows())
                v.push_back({basket.items[k], k < basket.weights.size() && !binary_ ? basket.weights[k] : 1.0f});
        std::sort(v.begin(), v.end());
        std::vector<float> weights;
        items.clear();
        for (auto& [i, wt] : v) {
            if (!items.empty() && items.back() == i) {
                if (!binary_) weights.back() += wt;
            } else {
                items.push_back(i);
                weights.push_back(wt);
            }
        }
        RowWork w(m_.items.cols(), padded(m_.items.cols()));
        w.gather(m_.items, items, weights, alpha_);
        return w;
    }
    // Y^T Y in double, made at the first fold-in or explanation: serving
    // known users, and updating the model, never need its items x f^2 work.
    const MatrixXd& a0() const {
        std::call_once(a0_made_, [this] { a0_ = gramian_exact(m_.items, m_.items.cols(), 0.0f); });
        return a0_;
    }
    // Y^T Y + lambda_b I, lambda_b the basket's own (its row's in training).
    MatrixXd basket_a0(const RowWork& w) const {
        double weight = 0;
        for (Index k = 0; k < w.n; ++k) weight += double(w.conf[size_t(k)]) / double(alpha_ == 0 ? 1 : alpha_);
        if (alpha_ == 0) weight = double(w.n);  // conf is 0: the weights are not needed (lambda ignores them)
        MatrixXd a = a0();
        a.diagonal().array() += m_.regularization.lambda(double(m_.items.rows()), weight, alpha_);
        return a;
    }
    RowWork fold_in(const Basket& basket) const {
        std::vector<uint32_t> items;
        RowWork w = basket_work(basket, items);
        if (w.n > 0) w.exact(basket_a0(w));
        else w.exact(a0());
        return w;
    }

    FactorPair m_;
    float alpha_;
    float regularization_;
    bool binary_;
    Encoding compression_;       // of the factors as written (they are held quantised)
    std::vector<float> panels_;  // item factors packed for dense::score_panels
    mutable std::once_flag a0_made_;
    mutable MatrixXd a0_;  // Y^T Y, for exact fold-in (plus the basket's lambda): a0()
    VectorXf norms_; // item factor norms, for cosine similarity
};

}  // namespace

std::unique_ptr<Scorer> make_scorer(FactorPair factors, float alpha, float regularization, bool binary,
                                    Encoding compression) {
    for (Factors* side : {&factors.users, &factors.items})
        quantise(side->data(), uint64_t(side->rows()), uint64_t(side->cols()), compression);
    return std::make_unique<AlsScorer>(std::move(factors), alpha, regularization, binary, compression);
}

const FactorPair* factors_of(const Scorer& scorer) {
    const auto* als = dynamic_cast<const AlsScorer*>(&scorer);
    return als ? &als->factors() : nullptr;
}

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const Options opt = read_options(params, shape_of(data.matrix));
    if (!opt.binary)
        return make_scorer(fit(data.matrix, opt, ctx), opt.alpha, opt.regularization, false, opt.compression);
    CsrMatrix ones = data.matrix;
    std::fill(ones.values.begin(), ones.values.end(), 1.0f);
    return make_scorer(fit(ones, opt, ctx), opt.alpha, opt.regularization, true, opt.compression);
}

namespace {

// The rows of x flagged in `flags`, as a matrix of their own (their
// indexes in `picked`); weights 1 if `binary`. Columns: with `columns`, the
// flagged columns of x, each as a row over x's rows (a partial transpose).
CsrMatrix pick(const CsrMatrix& x, std::span<const uint8_t> flags, bool columns, bool binary,
               std::vector<uint32_t>& picked, const Context& ctx) {
    picked.clear();
    for (uint32_t r = 0; r < flags.size(); ++r)
        if (flags[r]) picked.push_back(r);
    CsrMatrix out;
    out.rows = uint32_t(picked.size());
    out.cols = columns ? x.rows : x.cols;
    out.indptr.assign(uint64_t(out.rows) + 1, 0);
    if (!columns) {
        for (size_t k = 0; k < picked.size(); ++k) out.indptr[k + 1] = out.indptr[k] + x.row_size(picked[k]);
        out.indices.reserve(out.indptr.back());
        out.values.reserve(out.indptr.back());
        for (uint32_t r : picked) {
            auto idx = x.row_indices(r);
            auto val = x.row_values(r);
            out.indices.insert(out.indices.end(), idx.begin(), idx.end());
            if (binary) out.values.insert(out.values.end(), idx.size(), 1.0f);
            else out.values.insert(out.values.end(), val.begin(), val.end());
        }
        return out;
    }
    std::vector<int64_t> slot(x.cols, -1);
    for (size_t k = 0; k < picked.size(); ++k) slot[picked[k]] = int64_t(k);
    for (uint32_t c : x.indices)
        if (slot[c] >= 0) ++out.indptr[uint64_t(slot[c]) + 1];
    for (uint32_t k = 0; k < out.rows; ++k) out.indptr[k + 1] += out.indptr[k];
    out.indices.resize(out.indptr.back());
    out.values.resize(out.indptr.back());
    std::vector<uint64_t> next(out.indptr.begin(), out.indptr.end() - 1);
    // Rows are visited in order, so each column comes out sorted.
    for (uint32_t r = 0; r < x.rows; ++r) {
        if (r % 4096 == 0) ctx.check_cancel();
        for (uint64_t p = x.indptr[r]; p < x.indptr[r + 1]; ++p)
            if (const int64_t k = slot[x.indices[p]]; k >= 0) {
                const uint64_t q = next[uint64_t(k)]++;
                out.indices[q] = r;
                out.values[q] = binary ? 1.0f : x.values[p];
            }
    }
    return out;
}

}  // namespace

// update_model (update.h): the union's users and items start from the
// active factors (new ones from small random values, as in fit), then
// `iterations` passes solve the touched users (with new rows) against all
// items and the touched items against all users, CG warm-started from where
// they are; the other rows keep their factors. The regularisation is the
// union's. Only the touched users' rows and touched items' columns are read
// (gathered once): a pass costs their pairs and the two Gramians, not a
// sweep over the union.
std::unique_ptr<Scorer> update(const UpdateInput& in, const Params& params, const Context& ctx) {
    const CsrMatrix& x = in.data.matrix;
    const Options opt = read_options(params, shape_of(x));
    const FactorPair* from = factors_of(*in.active.scorer);
    if (!from) throw Error(ErrorKind::Internal, "als update: the active model's scorer is not an ALS scorer");
    const Index f = from->users.cols();
    // The touched rows and columns hold at most twice the union's pairs.
    ctx.reserve(training_memory(x.rows, x.cols, uint64_t(f)).bytes + 2 * x.bytes(), "ALS update",
                "Lower \"factors\", or raise recsys.memory_limit.");
    std::vector<uint32_t> user_index, item_index;
    const CsrMatrix user_rows = pick(x, in.touched_user, false, opt.binary, user_index, ctx);
    const CsrMatrix item_rows = pick(x, in.touched_item, true, opt.binary, item_index, ctx);
    // Every new weight is in both; a seen one passed when the model was trained.
    check_confidence(user_rows, opt);
    RowRegularization reg;
    std::vector<float> user_lambda, item_lambda;  // empty: plain lambda
    if (opt.regularization_exponent == 0.0f) {
        reg = row_regularization(x, opt);
    } else {
        CsrMatrix weights = x;
        if (opt.binary) std::fill(weights.values.begin(), weights.values.end(), 1.0f);
        reg = row_regularization(weights, opt);
        user_lambda = row_lambdas(user_rows, reg, opt.alpha);
        item_lambda = row_lambdas(item_rows, reg, opt.alpha);
    }
    Padded users(x.rows, f), items(x.cols, f);
    SplitMix64 rng(mix_seed(opt.seed, 0x0BDA7E));
    auto start = [&](Padded& side, const Factors& old_side, std::span<const int64_t> old_index) {
        for (Index r = 0; r < side.m.rows(); ++r) {
            if (r % 4096 == 0) ctx.check_cancel();
            const int64_t o = old_index[size_t(r)];
            if (o >= 0) side.m.row(r).head(f) = old_side.row(Index(o));
            else
                for (Index c = 0; c < f; ++c) side.m(r, c) = rng.uniform() * 0.01f;
            side.m.row(r).tail(side.m.cols() - f).setZero();
        }
    };
    start(users, from->users, in.old_user);
    start(items, from->items, in.old_item);
    // Solves the picked rows of `side` (their pairs in `rows`) against `fixed`.
    auto refine = [&](const CsrMatrix& rows, std::span<const uint32_t> picked, std::span<const float> lambdas,
                      const Padded& fixed, Padded& side) {
        if (picked.empty()) return;
        Padded out(Index(picked.size()), f);
        for (size_t k = 0; k < picked.size(); ++k) out.m.row(Index(k)) = side.m.row(Index(picked[k]));
        half_step(rows, fixed, gramian(fixed.m, ctx), out, opt, ctx, nullptr, lambdas);
        for (size_t k = 0; k < picked.size(); ++k) side.m.row(Index(picked[k])) = out.m.row(Index(k));
    };
    for (uint32_t it = 1; it <= in.iterations; ++it) {
        refine(user_rows, user_index, user_lambda, items, users);
        refine(item_rows, item_index, item_lambda, users, items);
        ctx.progress("update pass " + std::to_string(it) + " of " + std::to_string(in.iterations));
    }
    if (!users.m.allFinite() || !items.m.allFinite())
        throw invalid_input("the ALS update diverged: the factors became non-finite", kScaleHint);
    return make_scorer({users.unpadded(), items.unpadded(), reg}, opt.alpha, opt.regularization, opt.binary,
                       opt.compression);
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items) {
    const uint32_t f = r.get<uint32_t>();
    const float alpha = r.get<float>();
    const float regularization = r.get<float>();
    const uint8_t binary = r.get<uint8_t>();
    if (f == 0 || f > kMaxFactors || !std::isfinite(alpha) || alpha < 0 || !std::isfinite(regularization) ||
        regularization < 0 || binary > 1)
        throw corrupted("model is corrupted (ALS parameters)");
    FactorPair m{Factors(n_users, f), Factors(n_items, f), RowRegularization{0.0f, regularization}};
    Encoding compression = Encoding::Float32;
    for (Factors* side : {&m.users, &m.items}) {
        if (r.format() < 3) {
            r.get_array_into(side->data(), uint64_t(side->size()));
        } else {
            const Encoding e = read_factors(r, side->data(), uint64_t(side->rows()), f);
            if (side == &m.items) {
                if (e != compression) throw corrupted("model is corrupted (ALS factor encodings differ)");
            } else {
                compression = e;
            }
        }
        if (!std::all_of(side->data(), side->data() + side->size(), [](float x) { return std::isfinite(x); }))
            throw corrupted("model is corrupted (ALS factors not finite)");
    }
    if (r.remaining() > 0) {  // models of 0.1.0 end above
        m.regularization.exponent = r.get<float>();
        m.regularization.scale = r.get<double>();
        if (!(m.regularization.exponent >= 0 && m.regularization.exponent <= 4) ||
            !(m.regularization.scale >= 0 && std::isfinite(m.regularization.scale)))
            throw corrupted("model is corrupted (ALS regularisation)");
    }
    return make_scorer(std::move(m), alpha, regularization, binary != 0, compression);
}

const Algorithm algorithm{
    "als", "implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008), conjugate-gradient solver", kParams,
    train, read, memory,
    {.learns_users = true, .fold_in = true, .similar_items = true, .explain = true, .incremental = true}, update};

}  // namespace recsys::als
