#include "ease.h"

#include <Eigen/Dense>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "compression.h"
#include "data_shape.h"
#include "dense.h"
#include "errors.h"
#include "parallel.h"

namespace recsys::ease {

namespace {

using dense::Index;
// The arithmetic of the factorisation and inverse. On the online-retail
// data float32 gives the same nDCG@10 (0.2868 both ways, weights within
// 2.5e-7; bench/ease_precision_core) and Eigen's LLT runs 3.7x faster in
// float32 than in float64, but even so slower than the float64 blocked
// kernels used here (dense.h), which exist in float64 only; double also
// keeps a margin for small lambdas and large catalogues.
using Real = double;
using Dense = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic>;

// Block width of the dense factorisation and inverse: the unit of work
// handed to a thread. Wide enough for the dense kernels to run near full
// speed (256 beat 64 and 128 on 3,665 items), narrow enough to balance a few
// threads. Fixed, so results do not depend on the thread count.
constexpr Index kBlock = 256;
// Rows of a block update done between two cancel points: about 1024 x 256 x
// 256 multiply-adds, a few milliseconds. A whole update (up to items x 256 x
// 256) would keep many threads on few cores from stopping for seconds.
constexpr Index kPollRows = 1024;
constexpr uint32_t kNotModeled = UINT32_MAX;

class EaseScorer : public Scorer {
public:
    // weights: B row by row (row j: what item j adds to every modeled item),
    // dense or compressed (compression.h).
    EaseScorer(uint32_t n_items, std::vector<uint32_t> items, WeightRows weights, bool binary)
        : items_(std::move(items)), weights_(std::move(weights)), binary_(binary), position_(n_items, kNotModeled) {
        for (uint32_t k = 0; k < items_.size(); ++k) position_[items_[k]] = k;
    }

    // The basket's modeled items' rows of B, summed with the basket's
    // weights (1 if binary), in basket order.
    void score(const Basket& basket, std::optional<uint32_t>, std::span<float> out) const override {
        score_block(std::span<const Basket>(&basket, 1), {}, uint32_t(out.size()), out);
    }

    // Rows of B summed by dense::sum_rows, a tile of columns at a time for
    // the whole block, so that the tile's rows that several users share are
    // read from the cache; each score has the bits score() gives (sum_rows
    // sums each column alone, in basket order). Compressed weights are
    // scored as they are stored: dense float16 ones by sum_half_rows, which
    // widens them as it reads; dense int8 ones decoded a tile of a basket's
    // rows at a time and summed the same way (the scores of the de-quantised
    // weights, bit for bit, either way); sparse ones by adding each kept
    // weight (fused, as the vector kernels do), touching only the kept
    // entries.
    void score_block(std::span<const Basket> baskets, std::span<const uint32_t>, uint32_t n_items,
                     std::span<float> out) const override {
        const size_t m = items_.size(), n_rows = baskets.size();
        std::vector<uint32_t> rows;
        std::vector<float> w;
        std::vector<size_t> start(n_rows + 1, 0);
        for (size_t r = 0; r < n_rows; ++r) {
            const Basket& basket = baskets[r];
            for (size_t q = 0; q < basket.items.size(); ++q) {
                const uint32_t j = position_[basket.items[q]];
                if (j == kNotModeled) continue;
                rows.push_back(j);
                w.push_back(binary_ ? 1.0f : basket.weights[q]);
            }
            start[r + 1] = rows.size();
        }
        // All items modeled (items_ is 0, 1, ...): the sums go straight into out.
        const bool all = m == n_items;
        std::vector<float> acc(all ? 0 : n_rows * m);
        float* dst = all ? out.data() : acc.data();
        const size_t ld = all ? size_t(n_items) : m;
        constexpr size_t kTile = 256;
        // One basket shares no rows: all columns in one call, which reads
        // each row from start to end (sum_rows streams wide calls).
        const size_t span = n_rows == 1 ? std::max<size_t>(m, 1) : kTile;
        if (const float* b = weights_.floats()) {
            for (size_t c = 0; c < m; c += span)
                for (size_t r = 0; r < n_rows; ++r)
                    dense::sum_rows(b + c, Index(m), rows.data() + start[r], w.data() + start[r],
                                    Index(start[r + 1] - start[r]), Index(std::min(span, m - c)), dst + r * ld + c);
        } else if (const uint16_t* h = weights_.halves()) {
            for (size_t c = 0; c < m; c += span)
                for (size_t r = 0; r < n_rows; ++r)
                    dense::sum_half_rows(h + c, Index(m), rows.data() + start[r], w.data() + start[r],
                                         Index(start[r + 1] - start[r]), Index(std::min(span, m - c)),
                                         dst + r * ld + c);
        } else if (!weights_.sparse()) {
            size_t most = 0;
            for (size_t r = 0; r < n_rows; ++r) most = std::max(most, start[r + 1] - start[r]);
            std::vector<float> tile(most * kTile);
            std::vector<uint32_t> local(most);
            std::iota(local.begin(), local.end(), 0u);
            for (size_t c = 0; c < m; c += kTile) {
                const size_t n = std::min(kTile, m - c);
                for (size_t r = 0; r < n_rows; ++r) {
                    for (size_t q = start[r]; q < start[r + 1]; ++q)
                        weights_.decode(rows[q], c, n, tile.data() + (q - start[r]) * kTile);
                    dense::sum_rows(tile.data(), Index(kTile), local.data(), w.data() + start[r],
                                    Index(start[r + 1] - start[r]), Index(n), dst + r * ld + c);
                }
            }
        } else {
            std::vector<float> values(weights_.kept());
            for (size_t r = 0; r < n_rows; ++r)
                for (size_t q = start[r]; q < start[r + 1]; ++q) {
                    weights_.decode(rows[q], 0, values.size(), values.data());
                    auto cols = weights_.row_columns(rows[q]);
                    float* d = dst + r * ld;
                    for (size_t k = 0; k < cols.size(); ++k) d[cols[k]] = std::fma(w[q], values[k], d[cols[k]]);
                }
        }
        if (!all)
            for (size_t r = 0; r < n_rows; ++r)
                for (size_t k = 0; k < m; ++k) out[r * size_t(n_items) + items_[k]] = acc[r * m + k];
    }

    bool similar(uint32_t item, std::span<float> out) const override {
        const uint32_t j = position_[item];
        if (j == kNotModeled) return true;  // no EASE weights: nothing is similar
        std::vector<float> row(weights_.kept());
        weights_.decode(j, 0, row.size(), row.data());
        for (size_t k = 0; k < row.size(); ++k) out[items_[weights_.sparse() ? weights_.row_columns(j)[k] : k]] = row[k];
        return true;
    }

    bool explain(const Basket& basket, std::optional<uint32_t>, uint32_t item,
                 std::vector<Contribution>& out) const override {
        const uint32_t k = position_[item];
        if (k == kNotModeled) return true;  // its score is 0: no contributions
        for (size_t q = 0; q < basket.items.size(); ++q) {
            const uint32_t j = position_[basket.items[q]];
            if (j == kNotModeled || j == k) continue;
            const float x = binary_ ? 1.0f : basket.weights[q];
            out.push_back({basket.items[q], x * weight(j, k)});
        }
        return true;
    }

    bool zero_means_unknown() const override { return true; }

    uint64_t memory_bytes() const override {
        return (items_.size() + position_.size()) * sizeof(uint32_t) + weights_.memory_bytes();
    }

    // Format 3: the weights as WeightRows writes them (their values at a
    // 64-byte offset of the model bytes); format 2 had the float32 matrix
    // alone, padded the same way, and format 1 had no padding.
    void write(ByteWriter& w) const override {
        w.put<uint8_t>(binary_);
        w.put_array(items_);
        weights_.write(w);
    }

    static std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_items) {
        const uint8_t binary = r.get<uint8_t>();
        if (binary > 1) throw corrupted("model is corrupted (EASE binary flag)");
        auto items = r.get_array<uint32_t>(n_items);
        for (size_t k = 0; k < items.size(); ++k)
            if (items[k] >= n_items || (k > 0 && items[k] <= items[k - 1]))
                throw corrupted("model is corrupted (EASE item index)");
        const uint64_t m = items.size();
        if (r.format() >= 3)
            return std::make_unique<EaseScorer>(n_items, std::move(items), WeightRows::read(r, m, m), binary != 0);
        if (r.format() == 2) {
            const uint8_t pad = r.get<uint8_t>();
            if (pad >= 64) throw corrupted("model is corrupted (EASE padding)");
            r.skip_zeros(pad);
        }
        if (m != 0 && m > r.remaining() / sizeof(float) / m) throw corrupted("model is corrupted (EASE weight matrix size)");
        if (const float* view = r.view_array<float>(m * m))
            return std::make_unique<EaseScorer>(n_items, std::move(items), WeightRows::dense_floats(view, m, m, r.backing()),
                                                binary != 0);
        std::unique_ptr<float[]> weights(new float[m * m]);
        r.get_array_into(weights.get(), m * m);
        return std::make_unique<EaseScorer>(n_items, std::move(items),
                                            WeightRows::dense_floats(std::move(weights), m, m), binary != 0);
    }

private:
    // B[j, k], stored or not.
    float weight(uint32_t j, uint32_t k) const {
        if (!weights_.sparse()) return weights_.at(j, k);
        auto cols = weights_.row_columns(j);
        auto it = std::lower_bound(cols.begin(), cols.end(), k);
        return it != cols.end() && *it == k ? weights_.at(j, uint64_t(it - cols.begin())) : 0.0f;
    }

    std::vector<uint32_t> items_;    // the modeled items, ascending
    WeightRows weights_;             // B, items_.size()², zero diagonal
    bool binary_;
    std::vector<uint32_t> position_;  // item -> its index in items_, or kNotModeled
};

// The items to model, ascending: all, or the max_items bought by the most
// distinct users (ties: the smaller index).
std::vector<uint32_t> modeled_items(const CsrMatrix& x, uint32_t max_items) {
    std::vector<uint32_t> items(x.cols);
    std::iota(items.begin(), items.end(), 0u);
    if (max_items >= x.cols) return items;
    std::vector<uint64_t> buyers(x.cols, 0);
    for (uint32_t i : x.indices) ++buyers[i];
    std::nth_element(items.begin(), items.begin() + max_items, items.end(), [&](uint32_t a, uint32_t b) {
        return buyers[a] > buyers[b] || (buyers[a] == buyers[b] && a < b);
    });
    items.resize(max_items);
    std::sort(items.begin(), items.end());
    return items;
}

// X restricted to the modeled items (columns renumbered), 1 per pair if binary.
CsrMatrix restrict_columns(const CsrMatrix& x, const std::vector<uint32_t>& items, bool binary) {
    std::vector<uint32_t> position(x.cols, kNotModeled);
    for (uint32_t k = 0; k < items.size(); ++k) position[items[k]] = k;
    CsrMatrix r;
    r.rows = x.rows;
    r.cols = uint32_t(items.size());
    r.indptr.reserve(uint64_t(x.rows) + 1);
    for (uint32_t u = 0; u < x.rows; ++u) {
        auto idx = x.row_indices(u);
        auto val = x.row_values(u);
        for (size_t p = 0; p < idx.size(); ++p) {
            if (position[idx[p]] == kNotModeled) continue;
            r.indices.push_back(position[idx[p]]);  // stays sorted: positions follow item order
            r.values.push_back(binary ? 1.0f : val[p]);
        }
        r.indptr.push_back(r.indices.size());
    }
    return r;
}

// The lower triangle of XᵀX + λI (upper triangle zero), one column per task,
// so the sums do not depend on the thread count.
Dense regularised_gram(const CsrMatrix& x, double lambda, const Context& ctx) {
    const CsrMatrix xt = x.transpose();
    const Index m = x.cols;
    Dense g(m, m);
    parallel_for(uint64_t(m), ctx, [&](uint64_t begin, uint64_t end) {
        for (uint64_t i = begin; i < end; ++i) {
            ctx.cancel_point();
            Real* col = &g(0, Index(i));
            std::fill(col, col + m, Real(0));
            auto users = xt.row_indices(uint32_t(i));
            auto xi = xt.row_values(uint32_t(i));
            for (size_t q = 0; q < users.size(); ++q) {
                auto idx = x.row_indices(users[q]);
                auto val = x.row_values(users[q]);
                for (size_t p = std::lower_bound(idx.begin(), idx.end(), uint32_t(i)) - idx.begin(); p < idx.size(); ++p)
                    col[idx[p]] += Real(xi[q]) * Real(val[p]);
            }
            col[i] += Real(lambda);
        }
    }, 64);
    return g;
}

// Overwrites the lower triangle of the symmetric positive definite `a` with
// its Cholesky factor L (a = LLᵀ). Right-looking and blocked: each diagonal
// block is factorised, then the panel solve and the trailing update are split
// into column blocks run on the threads. The blocks are fixed, so the result
// does not depend on the thread count. The upper triangle is scratch.
void cholesky_in_place(Dense& a, const Context& ctx) {
    const Index n = a.rows();
    for (Index k = 0; k < n; k += kBlock) {
        const Index kb = std::min(kBlock, n - k), rest = n - k - kb;
        if (!dense::cholesky(&a(k, k), n, kb))
            throw invalid_input("EASE: the regularised Gram matrix is not positive definite",
                                "Raise \"lambda\".");
        if (rest == 0) break;
        const Index p0 = k + kb;  // the panel: rows [p0, n) of columns [k, k + kb)
        parallel_for(uint64_t(rest), ctx, [&](uint64_t b, uint64_t e) {
            dense::solve_right_lower_transposed(&a(k, k), n, kb, &a(p0 + Index(b), k), n, Index(e - b));
        }, kBlock);
        parallel_for(uint64_t(rest), ctx, [&](uint64_t b, uint64_t e) {
            // columns [b, e) of the trailing matrix, from row b down
            const Index r = p0 + Index(b);
            for (Index i = r; i < n; i += kPollRows) {
                ctx.cancel_point();
                const Index rows = std::min(kPollRows, n - i);
                dense::subtract_product_transposed(&a(i, k), n, &a(r, k), n, kb, &a(i, r), n, rows, Index(e - b));
            }
        }, kBlock);
    }
}

// z (n x w) := (L Lᵀ)⁻¹ z for L (n x n) lower triangular, both leading
// dimension ld: forward then back substitution by blocks of kBlock rows, each
// update kPollRows rows at a time between cancel points.
void cholesky_solve(const Real* l, Index n, Real* z, Index w, Index ld, const Context& ctx) {
    auto update = [&](Index i, Index b, bool transposed) {  // the rows below block [i, i + b)
        for (Index r = i + b; r < n; r += kPollRows) {
            ctx.cancel_point();
            const Index rows = std::min(kPollRows, n - r);
            if (transposed)  // z_i -= L[r.., i..]ᵀ z_r
                dense::subtract_product(&l[r + i * ld], ld, true, &z[r], ld, rows, &z[i], ld, b, w);
            else  // z_r -= L[r.., i..] z_i
                dense::subtract_product(&l[r + i * ld], ld, false, &z[i], ld, b, &z[r], ld, rows, w);
        }
    };
    for (Index i = 0; i < n; i += kBlock) {
        const Index b = std::min(kBlock, n - i);
        dense::solve_lower(&l[i + i * ld], ld, b, &z[i], ld, w, false);
        update(i, b, false);
    }
    for (Index i = (n - 1) / kBlock * kBlock; i >= 0; i -= kBlock) {
        const Index b = std::min(kBlock, n - i);
        update(i, b, true);
        dense::solve_lower(&l[i + i * ld], ld, b, &z[i], ld, w, true);
    }
}

// The lower triangle of P = (LLᵀ)⁻¹ (the upper one is left undefined). Column
// block [c, c + w) of the identity is zero above row c, so its rows ≥ c of P
// solve L' L'ᵀ z = e with L' the trailing part of L from row and column c.
// Over all blocks each of the two solves costs about n³/6 multiply-adds (as
// much as the factorisation); one block per task.
Dense inverse_from_cholesky(const Dense& l, const Context& ctx) {
    const Index n = l.rows();
    Dense p(n, n);
    parallel_for(uint64_t(n), ctx, [&](uint64_t b, uint64_t e) {
        const Index c = Index(b), w = Index(e - b);
        auto z = p.block(c, c, n - c, w);
        for (Index r = 0; r < n - c; r += kPollRows) {  // P's first touch: slow, so checked too
            ctx.cancel_point();
            z.middleRows(r, std::min(kPollRows, n - c - r)).setZero();
        }
        z.diagonal().setOnes();
        cholesky_solve(&l(c, c), n - c, &p(c, c), w, n, ctx);
    }, kBlock);
    return p;
}

// B = I − P·diag(1/diag(P)) as float32, row-major, from P's lower triangle.
// Throws if a weight is not a finite float (an ill-conditioned solve).
std::unique_ptr<float[]> ease_weights(const Dense& p, const Context& ctx) {
    const uint64_t m = uint64_t(p.rows());
    std::vector<double> inv_diag(m);
    for (uint64_t j = 0; j < m; ++j) inv_diag[j] = 1.0 / double(p(Index(j), Index(j)));
    std::unique_ptr<float[]> b(new float[m * m]);  // every element is written below
    std::atomic<bool> finite{true};
    // Row by row (P[k, j] from the lower triangle), so that a task first
    // touches only its own rows' memory, between cancel points.
    parallel_for(m, ctx, [&](uint64_t begin, uint64_t end) {
        bool ok = true;
        for (uint64_t k = begin; k < end; ++k) {
            ctx.cancel_point();
            float* row = &b[k * m];
            for (uint64_t j = 0; j < k; ++j) row[j] = float(-double(p(Index(k), Index(j))) * inv_diag[j]);
            row[k] = 0.0f;
            for (uint64_t j = k + 1; j < m; ++j) row[j] = float(-double(p(Index(j), Index(k))) * inv_diag[j]);
            for (uint64_t j = 0; j < m; ++j) ok &= std::isfinite(row[j]);
        }
        if (!ok) finite = false;
    }, 64);
    if (!finite)
        throw invalid_input("EASE failed: the item weights became non-finite (the weights are too large or too "
                            "unequal for the solve)",
                            "Train with \"binary\": true (the default), scale the weights down (log_weight, "
                            "clip_weight), or raise \"lambda\".");
    return b;
}

constexpr ParamSpec kLambda{"lambda", ParamType::Double, "100", 0, 1e12, "", "[10, 30, 100, 300, 1000, 3000]",
                           "L2 regularisation, > 0 (on sparse data: 100 x items / users when items outnumber users; "
                           "300 on dense data)"};

// Sparse data (data_shape.h) with more items than users: λ grows with items
// per user. XᵀX then has rank at most the number of users, most item pairs
// rest on one shared buyer, and the solve spreads large weights over them;
// a larger λ keeps EASE nearer to damped co-occurrence counts. On
// complete-journey (18,574 items, 2,373 households; bench/accuracy.sh
// defaults) λ 100 scores nDCG@10 0.0411, 300 0.0436, 780 (the rule) 0.0445,
// 1000 0.0448 against popularity's 0.0442; on the synthetic long tail
// (1.7 items per user) 100 0.2107, 170 (the rule) 0.2089, 1000 0.1883, so a
// fixed large λ would not do. Where users outnumber items (every other
// shared data set) λ stays 100.
double sparse_lambda(const CsrMatrix& x) {
    return 100.0 * std::max(1.0, double(x.cols) / double(std::max<uint32_t>(x.rows, 1)));
}
// Dense data (data_shape.h): λ 300. λ 100 ranks below popularity on the
// synthetic dense-6k-steep set (nDCG@10 0.555 against 0.567), whose top
// items are in almost every history; 300 scores 0.600 there and better than
// 100 on every dense set but the 20-item one (equal: 0.667); 1000 is better
// still on the two 6,000-user sets but worse on the small ones.
constexpr double kDenseLambda = 300;
constexpr ParamSpec kBinary{"binary", ParamType::Bool, "true", 0, 0, "", "",
                            "every observed pair counts 1, not its summed weight (bulk quantities would swamp XᵀX)"};
constexpr ParamSpec kMaxItems{"max_items", ParamType::Int, "", 1, UINT32_MAX, "", "",
                              "model only this many of the most popular items; the others fall back to popularity. "
                              "Default: all items, or as many as fit recsys.memory_limit (2 x max_items² x 8 bytes "
                              "beside the input), with a NOTICE"};
constexpr const ParamSpec* kParams[] = {&kLambda, &kBinary, &kMaxItems, &kEaseCompression, &kTopM};

// At the peak of training: the Gram matrix (becoming L) and P.
uint64_t dense_bytes(uint64_t m) { return 2 * m * m * sizeof(Real); }

// The most items (at most n) whose dense matrices fit in `limit` beside
// `fixed` bytes; 0 if not even one does.
uint64_t items_that_fit(uint64_t n, uint64_t limit, uint64_t fixed) {
    if (fixed >= limit) return 0;
    uint64_t m = std::min(n, uint64_t(std::sqrt(double(limit - fixed) / double(dense_bytes(1)))));
    while (m > 0 && dense_bytes(m) > limit - fixed) --m;  // sqrt may round up
    while (m < n && dense_bytes(m + 1) <= limit - fixed) ++m;
    return m;
}

// "1024 MB", or "300 kB" when not a whole number of MB.
std::string size_text(uint64_t bytes) {
    return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MB" : std::to_string(bytes >> 10) + " kB";
}

// With max_items derived, training takes as many items as fit the limit, so
// it needs at least one item's matrices: tune() never skips it for memory.
MemoryEstimate memory(const Params& params, uint64_t, uint64_t n_items) {
    const std::string per_item = "^2 x " + std::to_string(sizeof(Real)) + " bytes";
    if (!params.has(std::string(kMaxItems.name))) {
        const uint64_t m = std::min<uint64_t>(n_items, 1);
        return {dense_bytes(m), "2 x m" + per_item + ", m = as many of the " + std::to_string(n_items) +
                                    " items as fit recsys.memory_limit (at least " + std::to_string(m) + ")"};
    }
    const auto m = std::min(n_items, uint64_t(params.integer(kMaxItems, 1)));
    return {dense_bytes(m), "2 x " + std::to_string(m) + per_item};
}

}  // namespace

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const CsrMatrix& x = data.matrix;
    const Shape shape = shape_of(x);
    const double lambda = shape == Shape::Sparse  ? params.number(kLambda, sparse_lambda(x))
                          : shape == Shape::Dense ? params.number(kLambda, kDenseLambda)
                                                  : params.number(kLambda);
    const bool binary = params.boolean(kBinary);
    const uint64_t input_bytes = 2 * x.bytes();  // X, and X restricted to the modeled items
    // Derived: all items, or as many as fit. Memory only, no cap for time:
    // at the default 1 GB limit that is about 8,000 items and tens of seconds
    // (the solve is ~items³); whoever raises the limit accepts the time.
    const bool derived = !params.has(std::string(kMaxItems.name));
    const uint64_t fit = items_that_fit(x.cols, ctx.memory_limit_bytes, input_bytes);
    const auto max_items = uint32_t(params.integer(kMaxItems, int64_t(std::max<uint64_t>(fit, 1))));
    const Encoding encoding = encoding_of(params.choice(kEaseCompression));
    const auto top_m = uint64_t(params.integer(kTopM));
    params.reject_unknown("ease");
    if (!(lambda > 0.0)) throw invalid_input("parameter \"lambda\" must be greater than 0",
                                              "Pass a positive regularisation, e.g. {\"lambda\": 100} (the default).");

    std::vector<uint32_t> items = modeled_items(x, max_items);
    const uint64_t m = items.size();
    ctx.reserve(dense_bytes(m) + input_bytes,
                "EASE training on " + std::to_string(m) + " items (two dense " + std::to_string(m) + " x " +
                    std::to_string(m) + " matrices)",
                derived ? "The interactions alone nearly fill the limit: raise recsys.memory_limit, or train on "
                          "less data."
                        : "Set \"max_items\" to model only the most popular items, or raise recsys.memory_limit.");
    if (derived && m < x.cols)
        ctx.notice("EASE models the " + std::to_string(m) + " most popular of " + std::to_string(x.cols) +
                       " items, as many as fit recsys.memory_limit (" + size_text(ctx.memory_limit_bytes) +
                       "); the other " + std::to_string(x.cols - m) + " are recommended by popularity",
                   "To model more, raise recsys.memory_limit (training needs 16 bytes x items², and its time grows "
                   "as items³); to choose the number, set \"max_items\".");

    auto start = std::chrono::steady_clock::now();
    auto log = [&](const char* step) {
        char line[128];
        std::snprintf(line, sizeof line, "ease: %s (%llu items, %s), %.2f s", step, static_cast<unsigned long long>(m),
                      dense::isa(),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        ctx.progress(line);
    };

    Dense a = regularised_gram(restrict_columns(x, items, binary), lambda, ctx);
    log("Gram matrix");
    cholesky_in_place(a, ctx);
    log("Cholesky factor");
    Dense p = inverse_from_cholesky(a, ctx);
    a = Dense();
    log("inverse");
    std::unique_ptr<float[]> b = ease_weights(p, ctx);
    log("weights");
    WeightRows weights = encoding == Encoding::Float32 && (top_m == 0 || top_m >= m)
                             ? WeightRows::dense_floats(std::move(b), m, m)
                             : WeightRows::encode(b.get(), m, m, encoding, top_m, ctx);
    return std::make_unique<EaseScorer>(x.cols, std::move(items), std::move(weights), binary);
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t, uint32_t n_items) { return EaseScorer::read(r, n_items); }

const Algorithm algorithm{
    "ease", "a closed-form item-item model (Steck 2019): B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹", kParams,
    train, read, memory, {.fold_in = true, .similar_items = true, .explain = true, .incremental = true}};

}  // namespace recsys::ease
