#include "bpr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "errors.h"
#include "rng.h"

namespace recsys::bpr {

namespace {

using Eigen::Index;

constexpr uint32_t kMaxFactors = 1024;
constexpr uint64_t kBlock = 16384;            // samples per block: each has its own seed; cancel checks between
constexpr uint64_t kMaxFoldInSteps = 200000;  // bounds the cost of one anonymous basket
constexpr int kNegativeTries = 32;

bool contains(std::span<const uint32_t> sorted, uint32_t item) {
    return std::binary_search(sorted.begin(), sorted.end(), item);
}

// A uniform item for which bought(item) is false, or nothing if tries run
// out (the user bought almost everything).
template <typename Bought>
std::optional<uint32_t> sample_negative(SplitMix64& rng, uint32_t n_items, Bought bought) {
    for (int t = 0; t < kNegativeTries; ++t) {
        const uint32_t j = rng.below(n_items);
        if (!bought(j)) return j;
    }
    return std::nullopt;
}

// -log sigmoid(d) from g = sigmoid(-d), which the step computes anyway:
// -log(1 - g), or -d where 1 - g is too small for a float (error < 4e-4).
float loss_of(float d, float g) { return d > -8.0f ? -std::log1p(-g) : -d; }

// One SGD step on the triple (x, y_i, y_j); returns d = score_i - score_j
// before the step, and g = sigmoid(-d), the gradient of log sigmoid(d).
struct Step {
    explicit Step(Index f) : xu(f) {}

    template <bool UpdateItems>
    float run(float* x, float* y_i, float* y_j, float* b_i, float* b_j, float lr, float reg, float& g) {
        const Index f = xu.size();
        Eigen::Map<Eigen::VectorXf> xm(x, f), yi(y_i, f), yj(y_j, f);
        xu = xm;
        const float d = xu.dot(yi - yj) + *b_i - *b_j;
        g = 1.0f / (1.0f + std::exp(d));
        xm += lr * (g * (yi - yj) - reg * xu);
        if constexpr (UpdateItems) {
            yi += lr * (g * xu - reg * yi);
            yj += lr * (-g * xu - reg * yj);
            *b_i += lr * (g - reg * *b_i);
            *b_j += lr * (-g - reg * *b_j);
        }
        return d;
    }

    Eigen::VectorXf xu;  // x before the step
};

void init_factors(Factors& m, SplitMix64& rng) {
    const float scale = 1.0f / float(m.cols());
    for (Index k = 0; k < m.size(); ++k) m.data()[k] = (rng.uniform() - 0.5f) * scale;
}

class BprScorer : public Scorer {
public:
    BprScorer(BprFactors m, const Options& opt)
        : m_(std::move(m)), opt_(opt), norms_(m_.items.rowwise().norm()) {}

    void score(const Basket& basket, std::optional<uint32_t> user, std::span<float> out) const override {
        Eigen::Map<Eigen::VectorXf> scores(out.data(), Index(out.size()));
        if (user && *user < m_.users.rows())
            scores.noalias() = m_.items * m_.users.row(*user).transpose();
        else
            scores.noalias() = m_.items * fold_in(basket);
        scores += m_.bias;
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

    void write(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(m_.items.cols()));
        w.put<uint32_t>(opt_.iterations);
        w.put<float>(opt_.learning_rate);
        w.put<float>(opt_.regularization);
        w.put<uint64_t>(opt_.seed);
        for (const Factors* side : {&m_.users, &m_.items}) {
            w.put<uint64_t>(uint64_t(side->size()));
            w.append(side->data(), size_t(side->size()) * sizeof(float));
        }
        w.put<uint64_t>(uint64_t(m_.bias.size()));
        w.append(m_.bias.data(), size_t(m_.bias.size()) * sizeof(float));
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
        // run<false> only reads the item side, so the const_casts are safe.
        auto* y = const_cast<float*>(m_.items.data());
        auto* b = const_cast<float*>(m_.bias.data());
        Step step(f);
        float g;
        const uint64_t steps = std::min<uint64_t>(uint64_t(opt_.iterations) * items.size(), kMaxFoldInSteps);
        for (uint64_t s = 0; s < steps; ++s) {
            const uint32_t i = items[rng.below(uint32_t(items.size()))];
            const auto j = sample_negative(rng, n_items, [&](uint32_t item) { return contains(items, item); });
            if (!j) continue;
            step.run<false>(x.data(), y + i * f, y + *j * f, b + i, b + *j, opt_.learning_rate,
                            opt_.regularization, g);
        }
        return x;
    }

    BprFactors m_;
    Options opt_;
    Eigen::VectorXf norms_;  // item factor norms, for cosine similarity
};

}  // namespace

Options read_options(const Params& params) {
    Options o;
    o.factors = uint32_t(params.get_int("factors", 64, 1, kMaxFactors));
    o.iterations = uint32_t(params.get_int("iterations", 100, 1, 100000));
    o.learning_rate = float(params.get_double("learning_rate", 0.01, 1e-9, 10.0));
    o.regularization = float(params.get_double("regularization", 0.01, 0.0, 1e3));
    o.seed = uint64_t(params.get_int("seed", 42, 0, INT64_MAX));
    params.reject_unknown("bpr");
    return o;
}

BprFactors fit(const CsrMatrix& x, const Options& opt, const Context& ctx,
               const std::function<void(uint32_t, const EpochStats&)>& after_epoch) {
    const Index f = opt.factors;
    const uint64_t nnz = x.nnz();
    const uint64_t n_blocks = (nnz + kBlock - 1) / kBlock;
    // Whether the user bought a sampled negative is the costliest check of a
    // step: a bitmap answers it with one read, prefetched in time; a binary
    // search takes several dependent reads.
    const uint64_t words = (uint64_t(x.cols) + 63) / 64;
    const bool use_bitmap = uint64_t(x.rows) * words * sizeof(uint64_t) <= opt.max_bitmap_bytes;
    ctx.reserve((uint64_t(x.rows) + x.cols) * f * sizeof(float) + nnz * sizeof(uint32_t) +
                    (use_bitmap ? uint64_t(x.rows) * words * sizeof(uint64_t) : 0),
                "BPR training", "Lower \"factors\", or raise recsys.memory_limit.");
    BprFactors m{Factors(x.rows, f), Factors(x.cols, f), Eigen::VectorXf::Zero(x.cols)};
    SplitMix64 rng(opt.seed);
    init_factors(m.users, rng);
    init_factors(m.items, rng);

    std::vector<uint32_t> user_of(nnz);
    for (uint32_t u = 0; u < x.rows; ++u)
        std::fill(user_of.begin() + x.indptr[u], user_of.begin() + x.indptr[u + 1], u);
    std::vector<uint64_t> bitmap(use_bitmap ? uint64_t(x.rows) * words : 0);
    if (use_bitmap)
        for (uint32_t u = 0; u < x.rows; ++u)
            for (uint32_t i : x.row_indices(u)) bitmap[u * words + i / 64] |= uint64_t(1) << (i % 64);

    // One block of samples, from its own seed. Bitmap or binary search is a
    // template parameter, not a branch in the loop: with both in one loop
    // GCC computes both prefetch addresses, and the search's is a cache miss.
    auto run_block = [&]<bool Bitmap>(Step& step, uint32_t epoch, uint64_t block, double& right, double& loss,
                                      double& seen) {
        SplitMix64 rng(mix_seed(opt.seed, epoch, block));
        const uint64_t samples = std::min(kBlock, nnz - block * kBlock);
        // Samples are drawn kAhead steps before their use, and what they will
        // read is prefetched on the way, as soon as its address is known:
        // the pair's user and item and the negative's factors when drawn;
        // the user's factors, the item's (and the user's purchase list
        // bounds) half-way; what the purchase check reads a quarter before.
        // Otherwise nearly every read is a cache miss.
        constexpr uint64_t kAhead = 16;
        struct Drawn {
            uint64_t pair;
            uint32_t negative;  // the first candidate, checked when used
        } ahead[kAhead];
        auto prefetch_row = [&](const float* row) {
            for (Index k = 0; k < f; k += 16) __builtin_prefetch(row + k);
        };
        auto draw = [&](uint64_t n) {
            Drawn& d = ahead[n % kAhead];
            d.pair = rng.below64(nnz);
            d.negative = rng.below(x.cols);
            __builtin_prefetch(&user_of[d.pair]);
            __builtin_prefetch(&x.indices[d.pair]);
            prefetch_row(m.items.row(d.negative).data());
        };
        auto prefetch_user = [&](const Drawn& d) {
            const uint32_t u = user_of[d.pair];
            prefetch_row(m.users.row(u).data());
            prefetch_row(m.items.row(x.indices[d.pair]).data());
            if constexpr (!Bitmap) __builtin_prefetch(&x.indptr[u]);
        };
        auto prefetch_check = [&](const Drawn& d) {
            const uint32_t u = user_of[d.pair];
            if constexpr (Bitmap)
                __builtin_prefetch(&bitmap[u * words + d.negative / 64]);
            else
                __builtin_prefetch(&x.indices[(x.indptr[u] + x.indptr[u + 1]) / 2]);
        };
        auto bought = [&](uint32_t u, uint32_t item) {
            if constexpr (Bitmap)
                return bool((bitmap[u * words + item / 64] >> (item % 64)) & 1);
            else
                return contains(x.row_indices(u), item);
        };
        for (uint64_t n = 0; n < std::min(kAhead, samples); ++n) draw(n);
        for (uint64_t n = 0; n < samples; ++n) {
            const Drawn next = ahead[n % kAhead];
            if (n + kAhead < samples) draw(n + kAhead);
            if (n + kAhead / 2 < samples) prefetch_user(ahead[(n + kAhead / 2) % kAhead]);
            if (n + kAhead / 4 < samples) prefetch_check(ahead[(n + kAhead / 4) % kAhead]);
            const uint32_t u = user_of[next.pair], i = x.indices[next.pair];
            const auto j = bought(u, next.negative)
                               ? sample_negative(rng, x.cols, [&](uint32_t item) { return bought(u, item); })
                               : std::optional<uint32_t>(next.negative);
            if (!j) continue;
            float g;
            const float d = step.run<true>(m.users.row(u).data(), m.items.row(i).data(), m.items.row(*j).data(),
                                           &m.bias[i], &m.bias[*j], opt.learning_rate, opt.regularization, g);
            right += d > 0;
            loss += loss_of(d, g);
            seen += 1;
        }
    };

    for (uint32_t epoch = 1; epoch <= opt.iterations; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        Step step(f);
        double right = 0, loss = 0, seen = 0;
        for (uint64_t block = 0; block < n_blocks; ++block) {
            ctx.check_cancel();
            if (use_bitmap)
                run_block.template operator()<true>(step, epoch, block, right, loss, seen);
            else
                run_block.template operator()<false>(step, epoch, block, right, loss, seen);
        }
        const EpochStats stats{seen > 0 ? right / seen : 0.0, seen > 0 ? loss / seen : 0.0};
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char buf[160];
        std::snprintf(buf, sizeof buf, "iteration %u/%u: sampled AUC %.4f, loss %.6g, %.3f s", epoch, opt.iterations,
                      stats.auc, stats.loss, seconds);
        ctx.progress(buf);
        if (after_epoch) after_epoch(epoch, stats);
    }
    return m;
}

std::unique_ptr<Scorer> make_scorer(BprFactors factors, const Options& opt) {
    return std::make_unique<BprScorer>(std::move(factors), opt);
}

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const Options opt = read_options(params);
    return make_scorer(fit(data.matrix, opt, ctx), opt);
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
    BprFactors m{Factors(n_users, opt.factors), Factors(n_items, opt.factors), Eigen::VectorXf(n_items)};
    auto read_floats = [&](float* dst, uint64_t count) {
        const auto v = r.get_array<float>(count);
        if (v.size() != count) throw corrupted("model is corrupted (BPR factor sizes)");
        for (float x : v)
            if (!std::isfinite(x)) throw corrupted("model is corrupted (BPR factors not finite)");
        std::copy(v.begin(), v.end(), dst);
    };
    read_floats(m.users.data(), uint64_t(m.users.size()));
    read_floats(m.items.data(), uint64_t(m.items.size()));
    read_floats(m.bias.data(), n_items);
    return make_scorer(std::move(m), opt);
}

}  // namespace recsys::bpr
