#include "bpr.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "errors.h"
#include "parallel.h"
#include "rng.h"

namespace recsys::bpr {

namespace {

using Eigen::Index;

constexpr uint32_t kMaxFactors = 1024;
constexpr uint64_t kBlock = 16384;            // samples per block: the unit of threading and cancel checks
constexpr uint64_t kMaxFoldInSteps = 200000;  // bounds the cost of one anonymous basket
constexpr int kNegativeTries = 32;

// -log sigmoid(d), without overflow.
double neg_log_sigmoid(double d) { return d > 0 ? std::log1p(std::exp(-d)) : -d + std::log1p(std::exp(d)); }

bool contains(std::span<const uint32_t> sorted, uint32_t item) {
    return std::binary_search(sorted.begin(), sorted.end(), item);
}

// A uniform item not in `bought`, or nothing if tries run out (the user
// bought almost everything).
std::optional<uint32_t> sample_negative(SplitMix64& rng, uint32_t n_items, std::span<const uint32_t> bought) {
    for (int t = 0; t < kNegativeTries; ++t) {
        const uint32_t j = rng.below(n_items);
        if (!contains(bought, j)) return j;
    }
    return std::nullopt;
}

// Parameters shared by concurrent SGD threads. Relaxed atomic accesses make
// Hogwild's benign races well-defined; they compile to plain loads/stores.
template <typename T>
T get(const T& v) { return std::atomic_ref<T>(const_cast<T&>(v)).load(std::memory_order_relaxed); }
template <typename T>
void put(T& v, T x) { std::atomic_ref<T>(v).store(x, std::memory_order_relaxed); }

// One SGD step on the triple (x, y_i, y_j); returns d = score_i - score_j
// before the step. `x` may be shared (training) or private (fold-in).
struct Step {
    explicit Step(Index f) : xu(f), yi(f), yj(f) {}

    template <bool UpdateItems>
    float run(float* x, float* y_i, float* y_j, float* b_i, float* b_j, float lr, float reg) {
        const Index f = xu.size();
        for (Index k = 0; k < f; ++k) {
            xu[k] = get(x[k]);
            yi[k] = get(y_i[k]);
            yj[k] = get(y_j[k]);
        }
        const float bi = get(*b_i), bj = get(*b_j);
        const float d = xu.dot(yi - yj) + bi - bj;
        const float g = 1.0f / (1.0f + std::exp(d));  // sigmoid(-d): the gradient of log sigmoid(d)
        for (Index k = 0; k < f; ++k) {
            put(x[k], xu[k] + lr * (g * (yi[k] - yj[k]) - reg * xu[k]));
            if constexpr (UpdateItems) {
                put(y_i[k], yi[k] + lr * (g * xu[k] - reg * yi[k]));
                put(y_j[k], yj[k] + lr * (-g * xu[k] - reg * yj[k]));
            }
        }
        if constexpr (UpdateItems) {
            put(*b_i, bi + lr * (g - reg * bi));
            put(*b_j, bj + lr * (-g - reg * bj));
        }
        return d;
    }

    Eigen::VectorXf xu, yi, yj;
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
        const uint64_t steps = std::min<uint64_t>(uint64_t(opt_.iterations) * items.size(), kMaxFoldInSteps);
        for (uint64_t s = 0; s < steps; ++s) {
            const uint32_t i = items[rng.below(uint32_t(items.size()))];
            const auto j = sample_negative(rng, n_items, items);
            if (!j) continue;
            step.run<false>(x.data(), y + i * f, y + *j * f, b + i, b + *j, opt_.learning_rate,
                            opt_.regularization);
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
    ctx.reserve((uint64_t(x.rows) + x.cols) * f * sizeof(float) + nnz * sizeof(uint32_t) +
                    n_blocks * 3 * sizeof(double),
                "BPR training", "Lower \"factors\", or raise recsys.memory_limit.");
    BprFactors m{Factors(x.rows, f), Factors(x.cols, f), Eigen::VectorXf::Zero(x.cols)};
    SplitMix64 rng(opt.seed);
    init_factors(m.users, rng);
    init_factors(m.items, rng);

    std::vector<uint32_t> user_of(nnz);
    for (uint32_t u = 0; u < x.rows; ++u)
        std::fill(user_of.begin() + x.indptr[u], user_of.begin() + x.indptr[u + 1], u);

    // Per-block tallies, summed in block order so that one thread's run is
    // exactly reproducible.
    std::vector<double> right(n_blocks), loss(n_blocks), seen(n_blocks);
    for (uint32_t epoch = 1; epoch <= opt.iterations; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        parallel_for(n_blocks, ctx, [&](uint64_t begin, uint64_t end) {
            Step step(f);
            for (uint64_t block = begin; block < end; ++block) {
                SplitMix64 g(mix_seed(opt.seed, epoch, block));
                const uint64_t samples = std::min(kBlock, nnz - block * kBlock);
                double r = 0, l = 0, s = 0;
                for (uint64_t n = 0; n < samples; ++n) {
                    const uint64_t pair = g.next() % nnz;
                    const uint32_t u = user_of[pair], i = x.indices[pair];
                    const auto j = sample_negative(g, x.cols, x.row_indices(u));
                    if (!j) continue;
                    const float d = step.run<true>(m.users.row(u).data(), m.items.row(i).data(),
                                                   m.items.row(*j).data(), &m.bias[i], &m.bias[*j],
                                                   opt.learning_rate, opt.regularization);
                    r += d > 0;
                    l += neg_log_sigmoid(d);
                    s += 1;
                }
                right[block] = r;
                loss[block] = l;
                seen[block] = s;
            }
        }, 1);
        double r = 0, l = 0, s = 0;
        for (uint64_t b = 0; b < n_blocks; ++b) {
            r += right[b];
            l += loss[b];
            s += seen[b];
        }
        const EpochStats stats{s > 0 ? r / s : 0.0, s > 0 ? l / s : 0.0};
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
