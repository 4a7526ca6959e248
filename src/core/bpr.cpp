#include "bpr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <numeric>

#include "data_shape.h"
#include "dense.h"
#include "errors.h"
#include "parallel.h"
#include "rng.h"
#include "simd.h"

namespace recsys::bpr {

void AliasTable::build(std::span<const double> weights) {
    const size_t n = weights.size();
    threshold_.assign(n, 1.0f);
    alias_.resize(n);
    std::iota(alias_.begin(), alias_.end(), 0u);
    double sum = 0;
    for (double w : weights) sum += w;
    if (n == 0 || !(sum > 0)) return;  // all zero: uniform
    // Each slot holds probability 1/n: its own index's share p_k n (scaled
    // so slots hold 1), topped up from an index with more than 1 left.
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t k = 0; k < n; ++k) {
        scaled[k] = weights[k] * double(n) / sum;
        (scaled[k] < 1.0 ? small : large).push_back(uint32_t(k));
    }
    while (!small.empty() && !large.empty()) {
        const uint32_t s = small.back(), l = large.back();
        small.pop_back();
        threshold_[s] = float(scaled[s]);
        alias_[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            large.pop_back();
            small.push_back(l);
        }
    }
    // What remains holds 1 up to rounding: keeps its own index.
    for (uint32_t k : small) threshold_[k] = 1.0f;
    for (uint32_t k : large) threshold_[k] = 1.0f;
}

namespace {

using Eigen::Index;

constexpr uint32_t kMaxFactors = 1024;
// Users and items are dealt into up to kMaxGroups groups, so training runs
// on up to that many threads.
constexpr uint32_t kMaxGroups = 8;
constexpr uint64_t kDealStream = ~uint64_t(0);  // the deal's seed stream; strata use 0 .. groups^2 - 1
constexpr uint64_t kMaxFoldInSteps = 200000;  // bounds the cost of one anonymous basket
constexpr int kNegativeTries = 32;

bool contains(std::span<const uint32_t> sorted, uint32_t item) {
    return std::binary_search(sorted.begin(), sorted.end(), item);
}

// An item drawn by `pick` (uniformly from n_items without a sampler, else
// by the sampler) for which bought(item) is false, or nothing if tries run
// out (the user bought almost everything).
template <typename Bought>
std::optional<uint32_t> sample_negative(SplitMix64& rng, uint32_t n_items, const AliasTable* sampler, Bought bought) {
    for (int t = 0; t < kNegativeTries; ++t) {
        const uint32_t j = sampler ? sampler->draw(rng) : rng.below(n_items);
        if (!bought(j)) return j;
    }
    return std::nullopt;
}

// Per item, the weight of popularity sampling: buyers^exponent.
std::vector<double> sampling_weights(const CsrMatrix& x, double exponent) {
    std::vector<double> count(x.cols, 0.0);
    for (uint32_t i : x.indices) count[i] += 1;
    for (double& c : count) c = c > 0 ? std::pow(c, exponent) : 0.0;
    return count;
}

// An SGD sample's rows: the user's factors, and the bought and the not
// bought item's factors and biases.
struct Triple {
    float* x;
    float* y_i;
    float* y_j;
    float* b_i;
    float* b_j;
};

// SGD steps on N triples that share no row (N = 1 or 2), of f factors each:
// sets d = score_i - score_j before the step and g = sigmoid(-d), the
// gradient of log sigmoid(d). Two steps run interleaved, so their dependency
// chains (dot product, exp, division, update) overlap, with the same
// arithmetic as one after the other. Without UpdateItems only x moves
// (fold-in: the item side is then only read). Inlined into loops compiled
// twice (x86-64-v3, i.e. AVX2 + FMA, and plain x86-64) and picked at load
// time; the two round differently, so factors are reproducible on one kind
// of CPU, not across kinds.
template <int N, bool UpdateItems = true>
[[gnu::always_inline]] inline void sgd_steps(const Triple (&t)[N], size_t f, float lr, float reg, float (&d)[N],
                                             float (&g)[N]) {
    using simd::load, simd::store, simd::v8;
    const size_t f8 = f / 8 * 8;
    v8 dots[N] = {};
    for (size_t k = 0; k < f8; k += 8)
        for (int q = 0; q < N; ++q) dots[q] += load(t[q].x + k) * (load(t[q].y_i + k) - load(t[q].y_j + k));
    float e[N];
    for (int q = 0; q < N; ++q) {
        float dot = simd::hsum(dots[q]);
        for (size_t k = f8; k < f; ++k) dot += t[q].x[k] * (t[q].y_i[k] - t[q].y_j[k]);
        d[q] = dot + *t[q].b_i - *t[q].b_j;
        e[q] = std::exp(d[q]);
    }
    // w += lr (gradient - reg w), as w = keep w + step gradient.
    const float keep = 1.0f - lr * reg;
    for (int q = 0; q < N; ++q) {
        const Triple& r = t[q];
        g[q] = 1.0f / (1.0f + e[q]);
        const float step = lr * g[q];
        for (size_t k = 0; k < f8; k += 8) {
            const v8 xk = load(r.x + k), yi = load(r.y_i + k), yj = load(r.y_j + k);
            store(r.x + k, keep * xk + step * (yi - yj));
            if constexpr (UpdateItems) {
                store(r.y_i + k, keep * yi + step * xk);
                store(r.y_j + k, keep * yj - step * xk);
            }
        }
        for (size_t k = f8; k < f; ++k) {
            const float xk = r.x[k], yi = r.y_i[k], yj = r.y_j[k];
            r.x[k] = keep * xk + step * (yi - yj);
            if constexpr (UpdateItems) {
                r.y_i[k] = keep * yi + step * xk;
                r.y_j[k] = keep * yj - step * xk;
            }
        }
        if constexpr (UpdateItems) {
            *r.b_i = keep * *r.b_i + step;
            *r.b_j = keep * *r.b_j - step;
        }
    }
}

// A fold-in step: x moves, the item side is only read (hence the casts).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void user_step(float* x, const float* y_i,
                                                                          const float* y_j, float b_i, float b_j,
                                                                          size_t f, float lr, float reg) {
    float d[1], g[1];
    sgd_steps<1, false>({{x, const_cast<float*>(y_i), const_cast<float*>(y_j), &b_i, &b_j}}, f, lr, reg, d, g);
}

// Sum of -log sigmoid(d) over steps, from g = sigmoid(-d), which the step
// computes anyway: -log(1 - g), or -d where 1 - g is too small for a float
// (error < 4e-4). The factors 1 - g are multiplied and their log taken once
// per 32 steps: a logarithm per step cost a tenth of the training time.
class LossSum {
public:
    void add(float d, float g) {
        if (d <= -8.0f) {
            sum_ -= d;
        } else {
            product_ *= double(1.0f - g);  // >= 3.3e-4, so 32 of them stay far above double's minimum
            if (++factors_ == 32) flush();
        }
    }
    double total() {
        flush();
        return sum_;
    }

private:
    void flush() {
        sum_ -= std::log(product_);
        product_ = 1.0;
        factors_ = 0;
    }
    double sum_ = 0, product_ = 1.0;
    int factors_ = 0;
};

// What one stratum of an epoch saw; `stopped` holds the exception that
// stopped it early (a cancel), for the caller to rethrow.
struct StratumStats {
    uint64_t right = 0, seen = 0;
    LossSum loss;
    std::exception_ptr stopped;
};

// Factor rows as training keeps them: each starts a cache line and holds
// `extra` floats after the factors (an item's bias, starting at 0), so
// threads updating different rows never write to the same line. Factors
// start uniform in [-0.5, 0.5) / f.
class TrainingRows {
public:
    TrainingRows(uint32_t rows, Index f, Index extra, SplitMix64& rng, const Context& ctx)
        : rows_(rows), stride_((size_t(f + extra) + kLine - 1) / kLine * kLine),
          buffer_(size_t(rows) * stride_ + kLine, 0.0f) {
        const auto address = reinterpret_cast<uintptr_t>(buffer_.data());
        base_ = buffer_.data() + (kLine - address / sizeof(float) % kLine) % kLine;
        const float scale = 1.0f / float(f);
        for (uint32_t r = 0; r < rows; ++r) {
            if (r % 4096 == 0) ctx.check_cancel();
            for (Index k = 0; k < f; ++k) row(r)[k] = (rng.uniform() - 0.5f) * scale;
        }
    }
    float* row(uint64_t r) { return base_ + r * stride_; }
    // Whether the first `floats` floats of every row are finite.
    bool finite(Index floats) {
        bool ok = true;
        for (uint32_t r = 0; r < rows_; ++r)
            for (Index k = 0; k < floats; ++k) ok &= std::isfinite(row(r)[k]);
        return ok;
    }
    // Column `first` and the next `n` columns of every row.
    Factors columns(Index first, Index n) {
        Factors out(rows_, n);
        for (uint32_t r = 0; r < rows_; ++r) std::copy_n(row(r) + first, n, out.row(r).data());
        return out;
    }

private:
    static constexpr size_t kLine = 64 / sizeof(float);
    uint32_t rows_;
    size_t stride_;
    std::vector<float> buffer_;
    float* base_;
};

struct Pair {
    uint32_t user, item;
};

// What the strata of a training run share: the purchases, to check sampled
// negatives (in a bitmap of a bit per user and item, `words` words per user,
// or by searching each user's sorted items), and the factor rows they update.
struct Training {
    const CsrMatrix& x;
    const uint64_t* bitmap;
    uint64_t words;
    TrainingRows& users;
    TrainingRows& items;  // an item's bias follows its factors
    Index f;
    float lr, reg;
    bool interleave;
    const Context& ctx;
};

// One stratum of an epoch: it draws as many samples as it has pairs, each a
// pair uniformly and a negative uniformly from its item group.
struct Stratum {
    const Pair* pairs;
    uint64_t n_pairs;
    const uint32_t* negatives;
    uint32_t n_negatives;
    const AliasTable* sampler;  // over negatives[0 .. n_negatives), or null: uniform
    uint64_t seed;
};

[[gnu::always_inline]] inline void prefetch_row(const float* row, Index floats) {
    for (Index k = 0; k < floats; k += 16) __builtin_prefetch(row + k);
}

// Bitmap or binary search is a template parameter, not a branch in the
// loop: with both in one loop GCC computes both prefetch addresses, and the
// search's is a cache miss.
template <bool Bitmap>
[[gnu::always_inline]] inline StratumStats run_stratum(const Training& t, const Stratum& s) {
    const Index f = t.f;
    SplitMix64 rng(s.seed);
    uint64_t right = 0, seen = 0;
    LossSum loss;
    // Samples are drawn kAhead steps before their use, and what they will
    // read is prefetched on the way, as soon as its address is known: the
    // pair and the negative's factors when drawn; the user's and the item's
    // factors (and the user's purchase list bounds) half-way; what the
    // purchase check reads a quarter before. Otherwise nearly every read is a
    // cache miss.
    constexpr uint64_t kAhead = 16;
    struct Drawn {
        const Pair* pair;
        uint32_t negative;  // the first candidate, checked when used
    } ahead[kAhead];
    const uint64_t samples = s.n_pairs;
    auto draw = [&](uint64_t n) {
        Drawn& d = ahead[n % kAhead];
        d.pair = s.pairs + rng.below64(s.n_pairs);
        d.negative = s.negatives[s.sampler ? s.sampler->draw(rng) : rng.below(s.n_negatives)];
        __builtin_prefetch(d.pair);
        prefetch_row(t.items.row(d.negative), f + 1);
    };
    auto bought = [&](uint32_t u, uint32_t item) {
        if constexpr (Bitmap)
            return bool((t.bitmap[u * t.words + item / 64] >> (item % 64)) & 1);
        else
            return contains(t.x.row_indices(u), item);
    };
    // The draws and prefetches due at step n. (A lambda holding nothing but
    // prefetches is pure to GCC, which then drops its calls: this one also
    // draws.)
    auto advance = [&](uint64_t n) {
        if (n + kAhead < samples) draw(n + kAhead);
        if (n + kAhead / 2 < samples) {
            const Pair p = *ahead[(n + kAhead / 2) % kAhead].pair;
            prefetch_row(t.users.row(p.user), f);
            prefetch_row(t.items.row(p.item), f + 1);
            if constexpr (!Bitmap) __builtin_prefetch(&t.x.indptr[p.user]);
        }
        if (n + kAhead / 4 < samples) {
            const Drawn& d = ahead[(n + kAhead / 4) % kAhead];
            const uint32_t u = d.pair->user;
            if constexpr (Bitmap)
                __builtin_prefetch(&t.bitmap[u * t.words + d.negative / 64]);
            else
                __builtin_prefetch(&t.x.indices[(t.x.indptr[u] + t.x.indptr[u + 1]) / 2]);
        }
    };
    // A drawn sample's pair and negative (redrawn if bought); false if the
    // user bought every candidate tried.
    auto resolve = [&](const Drawn& drawn, Pair& p, uint32_t& j) {
        p = *drawn.pair;
        j = drawn.negative;
        if (!bought(p.user, j)) return true;
        const auto k =
            sample_negative(rng, s.n_negatives, s.sampler, [&](uint32_t k) { return bought(p.user, s.negatives[k]); });
        if (k) j = s.negatives[*k];
        return k.has_value();
    };
    auto triple = [&](const Pair& p, uint32_t j) {
        float* y_i = t.items.row(p.item);
        float* y_j = t.items.row(j);
        return Triple{t.users.row(p.user), y_i, y_j, y_i + f, y_j + f};
    };
    auto record = [&](float d, float g) {
        right += d > 0;
        loss.add(d, g);
        seen += 1;
    };
    auto step = [&](const Pair& p, uint32_t j) {
        float d[1], g[1];
        sgd_steps<1>({triple(p, j)}, size_t(f), t.lr, t.reg, d, g);
        record(d[0], g[0]);
    };
    // An exception cannot leave a target_clones function (GCC 12 compiles
    // its callers as if it threw nothing): the cancel point's is caught here.
    std::exception_ptr stopped;
    auto stop_here = [&] {
        try {
            t.ctx.cancel_point();
            return false;
        } catch (...) {
            stopped = std::current_exception();
            return true;
        }
    };
    for (uint64_t n = 0; n < std::min(kAhead, samples); ++n) draw(n);
    // Two samples at a time: interleaved when they share no row, else one
    // after the other; the same model either way.
    for (uint64_t n = 0; n < samples; n += 2) {
        if (n % 16384 == 0 && stop_here()) break;  // a millisecond or two of steps
        const bool two = n + 1 < samples;
        const Drawn first = ahead[n % kAhead], second = two ? ahead[(n + 1) % kAhead] : Drawn{};
        advance(n);
        if (two) advance(n + 1);
        Pair p1, p2;
        uint32_t j1, j2;
        const bool ok1 = resolve(first, p1, j1), ok2 = two && resolve(second, p2, j2);
        if (ok1 && ok2 && t.interleave && p1.user != p2.user && p1.item != p2.item && p1.item != j2 &&
            j1 != p2.item && j1 != j2) {
            float d[2], g[2];
            sgd_steps<2>({triple(p1, j1), triple(p2, j2)}, size_t(f), t.lr, t.reg, d, g);
            record(d[0], g[0]);
            record(d[1], g[1]);
        } else {
            if (ok1) step(p1, j1);
            if (ok2) step(p2, j2);
        }
    }
    return {right, seen, loss, stopped};
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) StratumStats run_stratum_with_bitmap(
    const Training& t, const Stratum& s) {
    return run_stratum<true>(t, s);
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) StratumStats run_stratum_with_search(
    const Training& t, const Stratum& s) {
    return run_stratum<false>(t, s);
}

class BprScorer : public Scorer {
public:
    const BprFactors& factors() const { return m_; }  // update() starts from them

    BprScorer(BprFactors m, const Options& opt)
        : m_(std::move(m)),
          opt_(opt),
          norms_(m_.items.rowwise().norm()),
          panels_(dense::pack_panels(m_.items.data(), m_.items.rows(), m_.items.cols())) {
        if (!m_.sampling_weights.empty()) sampler_.emplace(m_.sampling_weights);
    }

    // The user's (or the folded-in basket's) factors times every item's, by
    // the kernel ALS scores with, plus the item biases.
    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override {
        const Index f = m_.items.cols(), n = m_.items.rows();
        if (user && *user < m_.users.rows()) {
            dense::score_panels(m_.users.row(*user).data(), f, 1, panels_.data(), f, n, out.data(), n);
        } else {
            const Eigen::VectorXf x = fold_in(basket);
            dense::score_panels(x.data(), f, 1, panels_.data(), f, n, out.data(), n);
        }
        Eigen::Map<Eigen::VectorXf>(out.data(), n) += m_.bias;
    }

    bool similar(uint32_t item, std::span<float> out) const override {
        if (item >= m_.items.rows()) return true;
        for (Index j = 0; j < m_.items.rows(); ++j) {
            const float d = norms_[item] * norms_[j];
            out[j] = d > 0 ? m_.items.row(j).dot(m_.items.row(item)) / d : 0.0f;
        }
        return true;
    }

    bool zero_means_unknown() const override { return false; }

    uint64_t memory_bytes() const override {
        return uint64_t(m_.users.size() + m_.items.size() + m_.bias.size() + norms_.size() + panels_.size()) *
                   sizeof(float) +
               uint64_t(m_.sampling_weights.size()) * sizeof(double);
    }

    void write(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(m_.items.cols()));
        w.put<uint32_t>(opt_.iterations);
        w.put<float>(opt_.learning_rate);
        w.put<float>(opt_.regularization);
        w.put<uint64_t>(opt_.seed);
        // Format 3: each side as compressed weight rows (before: u64 count, f32s).
        for (const Factors* side : {&m_.users, &m_.items})
            write_factors(w, side->data(), uint64_t(side->rows()), uint64_t(side->cols()), opt_.compression);
        w.put<uint64_t>(uint64_t(m_.bias.size()));
        w.append(m_.bias.data(), size_t(m_.bias.size()) * sizeof(float));
        // Added in 0.2.0, after what 0.1.0 wrote (whose models end above
        // and sampled uniformly): the sampling, and the buyers per item.
        const auto& weights = m_.sampling_weights;
        w.put<uint8_t>(weights.empty() ? 0 : 1);
        if (!weights.empty()) {
            w.put<float>(opt_.popularity_exponent);
            w.put<uint64_t>(uint64_t(weights.size()));
            for (double b : weights) w.put<double>(b);
        }
    }

private:
    // The user vector SGD would learn for this basket with items fixed.
    Eigen::VectorXf fold_in(const Basket& basket) const {
        const Index f = m_.items.cols();
        const uint32_t n_items = uint32_t(m_.items.rows());
        std::vector<uint32_t> items;
        for (uint32_t i : basket.items)
            if (i < n_items) items.push_back(i);
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
        Eigen::VectorXf x(f);
        SplitMix64 rng(mix_seed(opt_.seed, 0xF01D));
        const float scale = 1.0f / float(f);
        for (Index k = 0; k < f; ++k) x[k] = (rng.uniform() - 0.5f) * scale;
        if (items.empty()) return x;
        const float* y = m_.items.data();
        const uint64_t steps = std::min<uint64_t>(uint64_t(opt_.iterations) * items.size(), kMaxFoldInSteps);
        for (uint64_t s = 0; s < steps; ++s) {
            const uint32_t i = items[rng.below(uint32_t(items.size()))];
            const auto j = sample_negative(rng, n_items, sampler_ ? &*sampler_ : nullptr, [&](uint32_t item) { return contains(items, item); });
            if (!j) continue;
            user_step(x.data(), y + i * f, y + *j * f, m_.bias[i], m_.bias[*j], size_t(f), opt_.learning_rate,
                      opt_.regularization);
        }
        return x;
    }

    BprFactors m_;
    Options opt_;
    Eigen::VectorXf norms_;       // item factor norms, for cosine similarity
    std::vector<float> panels_;  // item factors packed for dense::score_panels
    std::optional<AliasTable> sampler_;  // fold-in's negatives, as in training
};

}  // namespace

namespace {

constexpr ParamSpec kFactors{"factors", ParamType::Int, "64", 1, kMaxFactors, "", "[32, 64, 128]",
                             "latent factors per user and item"};
constexpr ParamSpec kIterations{"iterations", ParamType::Int, "100", 1, 100000, "", "",
                                "epochs: each draws one (user, bought, not bought) triple per purchase"};
constexpr ParamSpec kLearningRate{"learning_rate", ParamType::Double, "0.01", 1e-9, 10, "", "[0.01, 0.05]",
                                  "SGD step size"};
constexpr ParamSpec kRegularization{"regularization", ParamType::Double, "0.001", 0, 1e3, "", "[0.001, 0.01]",
                                    "L2 regularisation of factors and biases (0.03 on dense data)"};
// Dense data (data_shape.h): 0.03. There 0.001 fits noise (nDCG@10 0.362 on
// the synthetic dense set, 0.556 on the 20-item one, against popularity's
// 0.411 and 0.618); 0.03 ranks above popularity on all six dense sets
// (0.460, 0.666). On the shop and click data it costs (online-retail 0.155 →
// 0.120): a rule of the shape, not a new default.
constexpr double kDenseRegularization = 0.03;
constexpr ParamSpec kSeed{"seed", ParamType::Int, "42", 0, 9223372036854775807.0, "", "",
                          "initialisation and sampling"};
constexpr ParamSpec kNegativeSampling{"negative_sampling", ParamType::Choice, "\"popularity\"", 0, 0,
                                      "popularity|uniform", "",
                                      "not-bought items drawn in proportion to buyers^popularity_exponent, or uniformly"};
constexpr ParamSpec kPopularityExponent{"popularity_exponent", ParamType::Double, "0.25", 0, 1, "", "",
                                        "popularity sampling draws an item in proportion to its buyers^exponent"};
constexpr const ParamSpec* kParams[] = {&kFactors, &kIterations,       &kLearningRate,      &kRegularization,
                                        &kSeed,    &kNegativeSampling, &kPopularityExponent, &kCompression};

// Factor rows while training (padded to cache lines) and as returned.
MemoryEstimate training_memory(uint64_t n_users, uint64_t n_items, uint64_t f) {
    return recsys::factor_memory(n_users, n_items, 2 * f + 16, "2 x " + std::to_string(f) + " + 16");
}

MemoryEstimate memory(const Params& params, uint64_t n_users, uint64_t n_items) {
    return training_memory(n_users, n_items, uint64_t(params.integer(kFactors)));
}

}  // namespace

Options read_options(const Params& params, bool dense) {
    Options o;
    o.factors = uint32_t(params.integer(kFactors));
    o.iterations = uint32_t(params.integer(kIterations));
    o.learning_rate = float(params.number(kLearningRate));
    o.regularization = float(dense ? params.number(kRegularization, kDenseRegularization) : params.number(kRegularization));
    o.seed = uint64_t(params.integer(kSeed));
    o.popularity_sampling = params.choice(kNegativeSampling) == "popularity";
    o.popularity_exponent = float(params.number(kPopularityExponent));
    o.compression = encoding_of(params.choice(kCompression));
    params.reject_unknown("bpr");
    return o;
}

BprFactors fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const EpochStats&)>& after_epoch) {
    const Index f = opt.factors;
    const uint64_t nnz = x.nnz();
    uint32_t groups = kMaxGroups;
    while (groups > 1 && x.cols / groups < opt.min_group_items) groups /= 2;
    // Whether the user bought a sampled negative is the costliest check of a
    // step: a bitmap answers it with one read, prefetched in time; a binary
    // search takes several dependent reads.
    const uint64_t words = (uint64_t(x.cols) + 63) / 64;
    const bool use_bitmap = uint64_t(x.rows) * words * sizeof(uint64_t) <= opt.max_bitmap_bytes;
    // Factors, the pairs (twice), the bitmap.
    ctx.reserve(training_memory(x.rows, x.cols, uint64_t(f)).bytes + nnz * 4 * sizeof(uint32_t) +
                    (use_bitmap ? uint64_t(x.rows) * words * sizeof(uint64_t) : 0),
                "BPR training", "Lower \"factors\", or raise recsys.memory_limit.");
    SplitMix64 rng(opt.seed);
    TrainingRows users(x.rows, f, 0, rng, ctx), items(x.cols, f, 1, rng, ctx);  // an item's bias follows its factors
    std::vector<uint64_t> bitmap(use_bitmap ? uint64_t(x.rows) * words : 0);
    if (use_bitmap)
        for (uint32_t u = 0; u < x.rows; ++u)
            for (uint32_t i : x.row_indices(u)) bitmap[u * words + i / 64] |= uint64_t(1) << (i % 64);

    // Users are dealt at random into `groups` groups once, items anew every
    // epoch. Stratum (a, b) holds the pairs of user group a and item group
    // b; it draws as many samples as it has pairs, each a pair of the
    // stratum and a negative from item group b. The strata (a, a + p mod
    // groups) of phase p share no user and no item, so they run in parallel,
    // and the result does not depend on the thread count.
    // Group g of n dealt ids is order[group_start(g, n) ...).
    auto group_start = [&](uint32_t g, uint32_t n) { return uint32_t(uint64_t(n) * g / groups); };
    auto deal = [](std::vector<uint32_t>& order, SplitMix64 r) {  // a random order of all ids
        std::iota(order.begin(), order.end(), 0u);
        for (uint32_t k = uint32_t(order.size()); k > 1; --k) std::swap(order[k - 1], order[r.below(k)]);
    };
    std::vector<uint32_t> user_order(x.rows), item_order(x.cols), item_group(x.cols);
    deal(user_order, SplitMix64(mix_seed(opt.seed, kDealStream)));
    // The pairs of each user group, then (every epoch) of each stratum.
    std::vector<Pair> by_user_group(nnz), pairs(nnz);
    std::vector<uint64_t> user_group_start(groups + 1), stratum_start(uint64_t(groups) * groups + 1);
    uint64_t filled = 0;
    for (uint32_t g = 0; g < groups; ++g) {
        user_group_start[g] = filled;
        for (uint32_t k = group_start(g, x.rows); k < group_start(g + 1, x.rows); ++k) {
            const uint32_t u = user_order[k];
            for (uint32_t i : x.row_indices(u)) by_user_group[filled++] = {u, i};
        }
    }
    user_group_start[groups] = nnz;
    // Stratum (a, b) of this epoch: a counting sort of user group a's pairs.
    auto sort_user_group = [&](uint32_t a) {
        uint64_t* start = &stratum_start[uint64_t(a) * groups];
        uint64_t count[kMaxGroups] = {};
        for (uint64_t p = user_group_start[a]; p < user_group_start[a + 1]; ++p)
            ++count[item_group[by_user_group[p].item]];
        uint64_t next[kMaxGroups];
        uint64_t at = user_group_start[a];
        for (uint32_t b = 0; b < groups; at += count[b++]) start[b] = next[b] = at;
        for (uint64_t p = user_group_start[a]; p < user_group_start[a + 1]; ++p)
            pairs[next[item_group[by_user_group[p].item]]++] = by_user_group[p];
    };
    stratum_start.back() = nnz;

    const Training training{x, bitmap.data(), words, users, items, f, opt.learning_rate, opt.regularization,
                            opt.interleave_steps, ctx};
    std::vector<StratumStats> stratum_stats(uint64_t(groups) * groups);
    // Popularity sampling: per item group, an alias table over its items
    // weighted by their buyers, rebuilt when the groups are dealt.
    const std::vector<double> weights = opt.popularity_sampling ? sampling_weights(x, opt.popularity_exponent) : std::vector<double>{};
    std::vector<AliasTable> samplers(opt.popularity_sampling ? groups : 0);
    std::vector<double> group_weights;
    for (uint32_t epoch = 1; epoch <= opt.iterations; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        ctx.check_cancel();
        deal(item_order, SplitMix64(mix_seed(opt.seed, epoch, kDealStream)));
        for (uint32_t b = 0; b < groups; ++b)
            for (uint32_t k = group_start(b, x.cols); k < group_start(b + 1, x.cols); ++k)
                item_group[item_order[k]] = b;
        for (uint32_t b = 0; b < samplers.size(); ++b) {
            group_weights.clear();
            for (uint32_t k = group_start(b, x.cols); k < group_start(b + 1, x.cols); ++k)
                group_weights.push_back(weights[item_order[k]]);
            samplers[b].build(group_weights);
        }
        parallel_for(
            groups, ctx,
            [&](uint64_t begin, uint64_t end) {
                for (uint64_t a = begin; a < end; ++a) sort_user_group(uint32_t(a));
            },
            1);
        for (uint32_t phase = 0; phase < groups; ++phase) {
            parallel_for(
                groups, ctx,
                [&](uint64_t begin, uint64_t end) {
                    for (uint64_t a = begin; a < end; ++a) {
                        const uint32_t stratum = uint32_t(a * groups + (a + phase) % groups);
                        const uint32_t b = stratum % groups;
                        const Stratum s{pairs.data() + stratum_start[stratum],
                                        stratum_start[stratum + 1] - stratum_start[stratum],
                                        item_order.data() + group_start(b, x.cols),
                                        group_start(b + 1, x.cols) - group_start(b, x.cols),
                                        samplers.empty() ? nullptr : &samplers[b],
                                        mix_seed(opt.seed, epoch, stratum)};
                        stratum_stats[stratum] =
                            use_bitmap ? run_stratum_with_bitmap(training, s) : run_stratum_with_search(training, s);
                        if (stratum_stats[stratum].stopped) std::rethrow_exception(stratum_stats[stratum].stopped);
                    }
                },
                1);
        }
        // Far too large a learning rate overflows the factors: stop there.
        if (!users.finite(f) || !items.finite(f + 1))
            throw invalid_input("BPR diverged: the factors became non-finite at iteration " + std::to_string(epoch),
                                "Lower \"learning_rate\" (or \"regularization\": learning_rate x regularization "
                                "should stay well below 1).");
        uint64_t right = 0, seen = 0;
        double loss = 0;
        for (StratumStats& s : stratum_stats) {
            right += s.right;
            seen += s.seen;
            loss += s.loss.total();
        }
        const EpochStats stats{seen > 0 ? double(right) / double(seen) : 0.0, seen > 0 ? loss / double(seen) : 0.0};
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char buf[160];
        std::snprintf(buf, sizeof buf, "iteration %u/%u: sampled AUC %.4f, loss %.6g, %.3f s", epoch, opt.iterations,
                      stats.auc, stats.loss, seconds);
        ctx.progress(buf);
        if (after_epoch) after_epoch(epoch, stats);
    }
    return BprFactors{users.columns(0, f), items.columns(0, f), items.columns(f, 1).col(0), std::vector<double>(weights)};
}

std::unique_ptr<Scorer> make_scorer(BprFactors factors, const Options& opt) {
    for (Factors* side : {&factors.users, &factors.items})
        quantise(side->data(), uint64_t(side->rows()), uint64_t(side->cols()), opt.compression);
    return std::make_unique<BprScorer>(std::move(factors), opt);
}

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const Options opt = read_options(params, is_dense(data.matrix));
    return make_scorer(fit(data.matrix, opt, ctx), opt);
}

// update_model (update.h): the union's users and items start from the
// active factors and biases (new ones as fit starts them: uniform in
// [-0.5, 0.5) / f, bias 0); each of `iterations` passes then takes as many
// SGD steps as the touched users have pairs, each on one of their pairs drawn
// uniformly and a negative drawn as in training (over the union's items,
// with the union's buyer counts). Only touched users' rows move, and the
// items of their samples. One thread, from a fixed seed: reproducible.
std::unique_ptr<Scorer> update(const UpdateInput& in, const Params& params, const Context& ctx) {
    const Options opt = read_options(params, is_dense(in.data.matrix));
    const auto* old = dynamic_cast<const BprScorer*>(in.active.scorer.get());
    if (!old) throw Error(ErrorKind::Internal, "bpr update: the active model's scorer is not a BPR scorer");
    const BprFactors& from = old->factors();
    const Index f = from.users.cols();
    const CsrMatrix& x = in.data.matrix;
    ctx.reserve(uint64_t(x.rows + x.cols) * uint64_t(f) * sizeof(float) + x.nnz() * 8, "BPR update",
                "Lower \"factors\", or raise recsys.memory_limit.");
    BprFactors m{Factors(x.rows, f), Factors(x.cols, f), Eigen::VectorXf(x.cols), {}};
    SplitMix64 rng(mix_seed(opt.seed, 0x0BDA7E));
    const float scale = 1.0f / float(f);
    auto start = [&](Factors& side, const Factors& old_side, std::span<const int64_t> old_index) {
        for (Index r = 0; r < side.rows(); ++r) {
            if (r % 4096 == 0) ctx.check_cancel();
            const int64_t o = old_index[size_t(r)];
            for (Index k = 0; k < f; ++k) side(r, k) = o >= 0 ? old_side(Index(o), k) : (rng.uniform() - 0.5f) * scale;
        }
    };
    start(m.users, from.users, in.old_user);
    start(m.items, from.items, in.old_item);
    for (Index i = 0; i < m.bias.size(); ++i) {
        const int64_t o = in.old_item[size_t(i)];
        m.bias[i] = o >= 0 ? from.bias[Index(o)] : 0.0f;
    }
    if (opt.popularity_sampling) m.sampling_weights = sampling_weights(x, opt.popularity_exponent);
    std::optional<AliasTable> sampler;
    if (!m.sampling_weights.empty()) sampler.emplace(m.sampling_weights);
    std::vector<std::pair<uint32_t, uint32_t>> pairs;  // the touched users' (user, item)
    for (uint32_t u = 0; u < x.rows; ++u)
        if (in.touched_user[u])
            for (uint32_t i : x.row_indices(u)) pairs.emplace_back(u, i);
    if (!pairs.empty())
        for (uint32_t pass = 1; pass <= in.iterations; ++pass) {
            ctx.check_cancel();
            for (uint64_t s = 0; s < pairs.size(); ++s) {
                if (s % 65536 == 0) ctx.check_cancel();
                const std::pair<uint32_t, uint32_t> pair = pairs[rng.below(uint32_t(pairs.size()))];
                const uint32_t u = pair.first, i = pair.second;
                const auto j = sample_negative(rng, x.cols, sampler ? &*sampler : nullptr,
                                               [&](uint32_t item) { return contains(x.row_indices(u), item); });
                if (!j) continue;
                float d[1], g[1];
                sgd_steps<1, true>({{m.users.row(u).data(), m.items.row(i).data(), m.items.row(*j).data(), &m.bias[i],
                                     &m.bias[*j]}},
                                   size_t(f), opt.learning_rate, opt.regularization, d, g);
            }
            ctx.progress("update pass " + std::to_string(pass) + " of " + std::to_string(in.iterations));
        }
    if (!m.users.allFinite() || !m.items.allFinite() || !m.bias.allFinite())
        throw invalid_input("the BPR update diverged: the factors became non-finite",
                            "Lower the model's \"learning_rate\" and retrain it.");
    return make_scorer(std::move(m), opt);
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items) {
    Options opt;
    opt.factors = r.get<uint32_t>();
    opt.iterations = r.get<uint32_t>();
    opt.learning_rate = r.get<float>();
    opt.regularization = r.get<float>();
    opt.seed = r.get<uint64_t>();
    if (opt.factors == 0 || opt.factors > kMaxFactors || opt.iterations == 0 || !std::isfinite(opt.learning_rate) ||
        opt.learning_rate <= 0 || !std::isfinite(opt.regularization) || opt.regularization < 0)
        throw corrupted("model is corrupted (BPR parameters)");
    BprFactors m{Factors(n_users, opt.factors), Factors(n_items, opt.factors), Eigen::VectorXf(n_items), {}};
    auto read_floats = [&](float* dst, uint64_t count) {
        r.get_array_into(dst, count);
        if (!std::all_of(dst, dst + count, [](float x) { return std::isfinite(x); }))
            throw corrupted("model is corrupted (BPR factors not finite)");
    };
    if (r.format() < 3) {
        read_floats(m.users.data(), uint64_t(m.users.size()));
        read_floats(m.items.data(), uint64_t(m.items.size()));
    } else {
        opt.compression = read_factors(r, m.users.data(), n_users, opt.factors);
        if (read_factors(r, m.items.data(), n_items, opt.factors) != opt.compression)
            throw corrupted("model is corrupted (BPR factor encodings differ)");
        for (const Factors* side : {&m.users, &m.items})
            if (!side->allFinite()) throw corrupted("model is corrupted (BPR factors not finite)");
    }
    read_floats(m.bias.data(), n_items);
    // Models of 0.1.0 end here (uniform sampling).
    if (r.remaining() > 0) {
        const uint8_t sampling = r.get<uint8_t>();
        if (sampling > 1) throw corrupted("model is corrupted (BPR negative sampling)");
        opt.popularity_sampling = sampling == 1;
        if (opt.popularity_sampling) {
            opt.popularity_exponent = r.get<float>();
            if (!(opt.popularity_exponent >= 0 && opt.popularity_exponent <= 1))
                throw corrupted("model is corrupted (BPR popularity exponent)");
            m.sampling_weights.resize(n_items);
            r.get_array_into(m.sampling_weights.data(), n_items);
            if (!std::all_of(m.sampling_weights.begin(), m.sampling_weights.end(),
                             [](double w) { return std::isfinite(w) && w >= 0; }))
                throw corrupted("model is corrupted (BPR sampling weights)");
        }
    } else {
        opt.popularity_sampling = false;
    }
    return make_scorer(std::move(m), opt);
}

const Algorithm algorithm{
    "bpr", "matrix factorisation trained on a ranking loss (Rendle et al. 2009), item biases, SGD", kParams, train,
    read, memory,
    {.learns_users = true, .fold_in = true, .similar_items = true, .incremental = true, .tuned_by_default = false},
    update};

}  // namespace recsys::bpr
