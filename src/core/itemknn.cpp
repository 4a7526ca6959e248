#include "itemknn.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "data_shape.h"
#include "errors.h"
#include "parallel.h"
#include "privacy.h"
#include "rng.h"
#include "topk.h"
#include "weighting.h"

namespace recsys::itemknn {

namespace {

// How a basket item's weight w enters the score: as the training matrix
// weighted it, up to the user's idf (a constant per user, which does not
// change the ranking).
//   binary: w = 1 first;  tf-idf: sqrt(w);
//   BM25: w (k1 + 1) / (w + k1 norm_j), norm_j = 1 - b + b len_j / avg_len
// Payload: u8 flags (bit 0 binary, bit 1 tf-idf, bit 2 BM25; models written
// before weighting existed hold 0 or 1), [BM25: f32 k1, f32[n_items] norm],
// then the neighbour lists as CSR (u64 indptr, u32 indices, f32 values).
struct BasketWeighting {
    static constexpr uint8_t kBinary = 1, kTfidf = 2, kBm25 = 4;
    uint8_t flags = 0;
    float k1 = 0;
    std::vector<float> norm;  // BM25 only, per item

    float operator()(uint32_t item, float w) const {
        if (flags & kBinary) w = 1.0f;
        if (flags & kTfidf) return std::sqrt(w);
        if ((flags & kBm25) && w != 0.0f) return float(double(w) * (k1 + 1.0) / (double(w) + k1 * double(norm[item])));
        return w;
    }
};

class ItemKnnScorer : public Scorer {
public:
    ItemKnnScorer(CsrMatrix neighbours, BasketWeighting weighting)
        : neighbours_(std::move(neighbours)), weighting_(std::move(weighting)) {}

    void score(const Basket& basket, std::optional<uint32_t>, std::span<float> out) const override {
        for (size_t k = 0; k < basket.items.size(); ++k) {
            const float w = weighting_(basket.items[k], basket.weights[k]);
            auto idx = neighbours_.row_indices(basket.items[k]);
            auto sim = neighbours_.row_values(basket.items[k]);
            for (size_t p = 0; p < idx.size(); ++p) out[idx[p]] += w * sim[p];
        }
    }

    bool similar(uint32_t item, std::span<float> out) const override {
        auto idx = neighbours_.row_indices(item);
        auto sim = neighbours_.row_values(item);
        for (size_t p = 0; p < idx.size(); ++p) out[idx[p]] = sim[p];
        return true;
    }

    bool explain(const Basket& basket, std::optional<uint32_t>, uint32_t item,
                 std::vector<Contribution>& out) const override {
        for (size_t k = 0; k < basket.items.size(); ++k) {
            auto idx = neighbours_.row_indices(basket.items[k]);
            auto it = std::lower_bound(idx.begin(), idx.end(), item);
            if (it == idx.end() || *it != item) continue;
            const float w = weighting_(basket.items[k], basket.weights[k]);
            out.push_back({basket.items[k], w * neighbours_.row_values(basket.items[k])[it - idx.begin()]});
        }
        return true;
    }

    uint64_t memory_bytes() const override { return neighbours_.bytes() + weighting_.norm.size() * sizeof(float); }

    void write(ByteWriter& w) const override {
        w.put<uint8_t>(weighting_.flags);
        if (weighting_.flags & BasketWeighting::kBm25) {
            w.put<float>(weighting_.k1);
            w.put_array(weighting_.norm);
        }
        w.put_array(neighbours_.indptr);
        w.put_array(neighbours_.indices);
        w.put_array(neighbours_.values);
    }

    // `flags`: already read by the caller, or read here.
    static std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_items, std::optional<uint8_t> flags = {}) {
        BasketWeighting bw;
        bw.flags = flags ? *flags : r.get<uint8_t>();
        const uint8_t kind = bw.flags & (BasketWeighting::kTfidf | BasketWeighting::kBm25);
        if ((bw.flags & ~uint8_t(7)) != 0 || kind == (BasketWeighting::kTfidf | BasketWeighting::kBm25))
            throw corrupted("model is corrupted (item-kNN weighting flags)");
        if (bw.flags & BasketWeighting::kBm25) {
            bw.k1 = r.get<float>();
            bw.norm = r.get_array<float>();
            if (!(std::isfinite(bw.k1) && bw.k1 >= 0) || bw.norm.size() != n_items)
                throw corrupted("model is corrupted (item-kNN BM25 weights)");
            for (float v : bw.norm)
                if (!(std::isfinite(v) && v >= 0)) throw corrupted("model is corrupted (item-kNN BM25 weights)");
        }
        CsrMatrix m;
        m.rows = m.cols = n_items;
        m.indptr = r.get_array<uint64_t>();
        m.indices = r.get_array<uint32_t>();
        m.values = r.get_array<float>();
        if (m.indptr.size() != uint64_t(n_items) + 1 || m.indptr[0] != 0 || m.indptr.back() != m.indices.size() ||
            m.values.size() != m.indices.size())
            throw corrupted("model is corrupted (item-kNN neighbour lists)");
        for (uint32_t i = 0; i < n_items; ++i) {
            if (m.indptr[i] > m.indptr[i + 1] || m.indptr[i + 1] > m.indices.size())
                throw corrupted("model is corrupted (item-kNN neighbour lists)");
            for (uint64_t p = m.indptr[i]; p < m.indptr[i + 1]; ++p)
                if (m.indices[p] >= n_items || (p > m.indptr[i] && m.indices[p] <= m.indices[p - 1]))
                    throw corrupted("model is corrupted (item-kNN neighbour index)");
        }
        return std::make_unique<ItemKnnScorer>(std::move(m), std::move(bw));
    }

private:
    CsrMatrix neighbours_;  // items x items: row j holds j's neighbours, sorted by index
    BasketWeighting weighting_;
};

enum class Similarity { Cosine, Cooccurrence, Jaccard };
enum class Weighting { None, Tfidf, Bm25 };

struct Settings {
    Similarity similarity = Similarity::Cosine;
    Weighting weighting = Weighting::None;  // the defaults are in read_settings
    double bm25_k1 = 1.2, bm25_b = 0.75;
    bool binary = true;
    uint32_t neighbours = 10;
    double shrinkage = 0.0;
    // Differentially private co-occurrence counts (epsilon > 0).
    double epsilon = 0.0;
    int64_t max_items_per_user = 0;
    uint64_t seed = 0;
};

constexpr ParamSpec kSimilarity{"similarity", ParamType::Choice, "\"cosine\"", 0, 0, "cosine|cooccurrence|jaccard", "",
                               "\"cosine\"; \"jaccard\": |A∩B| / (|A∪B| + shrinkage); \"cooccurrence\": common "
                               "buyers (\"bought together\")"};
// 10: fewer neighbours ranked better on the wholesale sample at every setting
// measured (5 > 10 > 20 > 50 > 100 > 200), and 10 still fills
// similar_items(item, 10). Denser data wants more: tune() tries both.
// Sparse data (below) wants 100.
constexpr ParamSpec kNeighbours{"neighbours", ParamType::Int, "10", 1, 100000, "", "[5, 10, 20, 50, 100]",
                                "the most similar items kept per item (100 on sparse data)"};
constexpr ParamSpec kWeighting{"weighting", ParamType::Choice, "\"bm25\"", 0, 0, "none|tfidf|bm25",
                               "[\"bm25\", \"tfidf\", \"none\"]",
                               "cosine: weighting of the user-item matrix (and of a basket at scoring time); "
                               "\"none\" by default on sparse data"};
constexpr ParamSpec kBinary{"binary", ParamType::Bool, "", 0, 0, "", "",
                            "replace quantities by 1 first (default: true, except with BM25 weighting)"};
constexpr ParamSpec kShrinkage{"shrinkage", ParamType::Double, "0", 0, 1e9, "", "",
                               "cosine and jaccard: added to the denominator, damping pairs with few common buyers "
                               "(100 by default for cosine on sparse data)"};

// Sparse data (data_shape.h): plain cosine with shrinkage 100 and 100
// neighbours. There BM25 cosine (nDCG@10 0.0004) and plain cosine (0.0008)
// rank rare items first on one common buyer; shrinkage 100 and 100
// neighbours score 0.044, popularity's level (complete-journey,
// bench/accuracy.sh itemknn).
constexpr ParamSpec kBm25K1{"bm25_k1", ParamType::Double, "1.2", 0, 1e6, "", "", "BM25 weighting: saturation"};
// Dense data (data_shape.h): b 0, no discount of popular items. b 0.75
// divides a basket item's weight by ~its buyers over the average item's;
// where histories cover much of the catalogue, what most users share is what
// they buy next, and the discount ranks niche items first (nDCG@10 0.432 on
// the synthetic dense-6k-steep set against popularity's 0.567; b 0: 0.564,
// still just below, and above popularity on the other dense sets).
constexpr ParamSpec kBm25B{"bm25_b", ParamType::Double, "0.75", 0, 1, "", "",
                           "BM25 weighting: length normalisation (0 by default on dense data)"};
constexpr ParamSpec kMaxItemsPerUser{"max_items_per_user", ParamType::Int, "10", 2, 1000, "", "",
                                     "cooccurrence with epsilon: the most items a customer counts for"};
constexpr const ParamSpec* kParams[] = {&kSimilarity, &kNeighbours,   &kWeighting, &kBinary, &kShrinkage,
                                        &kBm25K1,     &kBm25B,        &kEpsilon,   &kMaxItemsPerUser, &kNoiseSeed};

// Reads and cross-checks the parameters; a combination that means nothing is
// an error rather than silently ignored.
Settings read_settings(const Params& params, Shape shape) {
    const bool sparse = shape == Shape::Sparse;
    Settings s;
    const std::string similarity = params.choice(kSimilarity);
    s.similarity = similarity == "cosine"         ? Similarity::Cosine
                   : similarity == "cooccurrence" ? Similarity::Cooccurrence
                                                  : Similarity::Jaccard;
    s.neighbours = uint32_t(params.integer(kNeighbours, sparse ? 100 : 10));
    if (s.similarity != Similarity::Cooccurrence && params.has("epsilon"))
        throw invalid_input("parameter \"epsilon\" applies only to \"similarity\": \"cooccurrence\"",
                            "Differential privacy is offered for co-occurrence counts (and popularity).");
    if (s.similarity == Similarity::Cosine) {
        const std::string weighting = params.choice(kWeighting, sparse ? "none" : "bm25");
        s.weighting = weighting == "none" ? Weighting::None : weighting == "tfidf" ? Weighting::Tfidf : Weighting::Bm25;
        // Binary by default, except under BM25, whose k1 saturation already
        // tames large quantities: on the wholesale sample (bench/itemknn_core,
        // nDCG@10 at 20 neighbours) raw quantities give plain cosine 0.033
        // against 0.215 binary (a buyer of 74,215 units dominates every cosine
        // they take part in), tf-idf 0.139 against 0.236, but BM25 0.247
        // against 0.238.
        s.binary = params.boolean(kBinary, s.weighting != Weighting::Bm25);
        s.shrinkage = params.number(kShrinkage, sparse ? 100.0 : 0.0);
        if (s.weighting == Weighting::Bm25) {
            s.bm25_k1 = params.number(kBm25K1);
            s.bm25_b = params.number(kBm25B, shape == Shape::Dense ? 0.0 : 0.75);
        } else {
            for (const char* key : {"bm25_k1", "bm25_b"})
                if (params.has(key))
                    throw invalid_input("parameter \"" + std::string(key) + "\" applies only with \"weighting\": \"bm25\"",
                                        "Add \"weighting\": \"bm25\", or remove \"" + std::string(key) + "\".");
        }
    } else {
        // Counting common buyers is defined on sets: weights mean nothing here.
        if (params.has("weighting"))
            throw invalid_input("parameter \"weighting\" applies only with \"similarity\": \"cosine\"",
                                "\"" + similarity + "\" counts common buyers of binary data; remove \"weighting\".");
        for (const char* key : {"bm25_k1", "bm25_b"})
            if (params.has(key))
                throw invalid_input("parameter \"" + std::string(key) +
                                        "\" applies only with \"similarity\": \"cosine\" and \"weighting\": \"bm25\"",
                                    "Remove \"" + std::string(key) + "\".");
        if (!params.boolean(kBinary, true))
            throw invalid_input("similarity \"" + similarity + "\" needs binary input, so \"binary\" cannot be false",
                                "Use \"similarity\": \"cosine\" to use weights, or remove \"binary\".");
        if (s.similarity == Similarity::Cooccurrence && params.has("epsilon")) {
            s.epsilon = params.number(kEpsilon, 1.0);
            s.max_items_per_user = params.integer(kMaxItemsPerUser);
            s.seed = noise_seed(params);
        }
        if (s.similarity == Similarity::Jaccard) {
            s.shrinkage = params.number(kShrinkage, 0.0);
        } else if (params.has("shrinkage")) {
            throw invalid_input("parameter \"shrinkage\" does not apply to \"similarity\": \"cooccurrence\"",
                                "Co-occurrence similarities are plain counts; use \"jaccard\" or \"cosine\" to "
                                "shrink pairs with few common buyers, or remove \"shrinkage\".");
        }
    }
    return s;
}

// Laplace(0, scale) noise of the unordered pair {i, j}: drawn from a hash of
// the pair, so both orders get the same draw and no table is kept.
double pair_noise(uint64_t seed, uint32_t i, uint32_t j, double scale) {
    if (i > j) std::swap(i, j);
    SplitMix64 rng(seed ^ ((uint64_t(i) << 32 | j) * 0xD1B54A32D192ED03ull));
    const double u = (double(rng.next() >> 11) + 0.5) * 0x1.0p-53 - 0.5;  // in (-0.5, 0.5)
    return -scale * std::copysign(1.0, u) * std::log(1.0 - 2.0 * std::fabs(u));
}

// Differentially private "bought together" neighbours: every pair's count
// gets Laplace noise (pairs never bought together too, so the noise hides
// which pairs exist), then the top `k` noisy counts per item are kept.
std::vector<std::vector<Scored>> private_cooccurrence(const CsrMatrix& x, const Settings& s, const Context& ctx) {
    const CsrMatrix bounded = bound_contributions(x, s.max_items_per_user, s.seed);
    const CsrMatrix bt = bounded.transpose();
    const uint32_t n = x.cols;
    const double m = double(s.max_items_per_user);
    const double scale = m * (m - 1) / 2 / s.epsilon;
    std::vector<std::vector<Scored>> rows(n);
    parallel_for(n, ctx, [&](uint64_t begin, uint64_t end) {
        std::vector<double> count(n, 0.0);
        std::vector<Scored> cand;
        for (uint64_t i = begin; i < end; ++i) {
            ctx.cancel_point();
            std::fill(count.begin(), count.end(), 0.0);
            for (uint32_t u : bt.row_indices(uint32_t(i)))
                for (uint32_t j : bounded.row_indices(u)) count[j] += 1.0;
            cand.clear();
            for (uint32_t j = 0; j < n; ++j) {
                if (j == i) continue;
                const double noisy = count[j] + pair_noise(s.seed, uint32_t(i), j, scale);
                if (noisy > 0) cand.push_back({j, float(noisy)});
            }
            if (cand.size() > s.neighbours) {
                std::nth_element(cand.begin(), cand.begin() + s.neighbours, cand.end(), better);
                cand.resize(s.neighbours);
            }
            std::sort(cand.begin(), cand.end(), [](const Scored& a, const Scored& b) { return a.item < b.item; });
            rows[i] = cand;
        }
    }, 16);
    return rows;
}

}  // namespace

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const CsrMatrix& x = data.matrix;  // users x items
    const Settings s = read_settings(params, shape_of(x));
    params.reject_unknown("itemknn");

    const uint32_t n_items = x.cols;
    const uint32_t k = s.neighbours;
    ctx.reserve(x.bytes() * 3 + uint64_t(n_items) * std::min(k, n_items) * 8 + uint64_t(n_items) * 24,
                "item-kNN training", "Lower \"neighbours\", or raise recsys.memory_limit.");

    // The matrix the similarity is taken over, both ways round: xt (items x
    // users) and xw (users x items) hold the same values.
    CsrMatrix xt = x.transpose();
    if (s.binary) std::fill(xt.values.begin(), xt.values.end(), 1.0f);
    BasketWeighting basket;
    basket.flags = (s.binary ? BasketWeighting::kBinary : 0) |
                   (s.weighting == Weighting::Tfidf ? BasketWeighting::kTfidf : 0) |
                   (s.weighting == Weighting::Bm25 ? BasketWeighting::kBm25 : 0);
    if (s.weighting == Weighting::Bm25) {
        // The length normalisation bm25_weight applies to each item's row.
        basket.k1 = float(s.bm25_k1);
        basket.norm.assign(n_items, 0.0f);
        std::vector<double> len(n_items, 0.0);
        double total = 0;
        for (uint32_t i = 0; i < n_items; ++i) {
            for (float v : xt.row_values(i)) len[i] += v;
            total += len[i];
        }
        const double avg = total / double(std::max<uint32_t>(1, n_items));
        for (uint32_t i = 0; i < n_items; ++i)
            basket.norm[i] = float(avg > 0 ? 1 - s.bm25_b + s.bm25_b * len[i] / avg : 1.0);
    }
    if (s.weighting == Weighting::Tfidf) tfidf_weight(xt);
    if (s.weighting == Weighting::Bm25) bm25_weight(xt, s.bm25_k1, s.bm25_b);
    const CsrMatrix xw = xt.transpose();

    // Per item: |a| for cosine, the number of buyers for jaccard.
    std::vector<double> norm(n_items, 0.0);
    for (uint32_t i = 0; i < n_items; ++i) {
        for (float v : xt.row_values(i)) norm[i] += double(v) * v;
        norm[i] = s.similarity == Similarity::Cosine ? std::sqrt(norm[i]) : norm[i];
    }

    std::vector<std::vector<Scored>> rows(n_items);
    if (s.epsilon > 0) rows = private_cooccurrence(x, s, ctx);
    else parallel_for(n_items, ctx, [&](uint64_t begin, uint64_t end) {
        std::vector<double> acc(n_items, 0.0);
        std::vector<uint8_t> seen(n_items, 0);
        std::vector<uint32_t> touched;
        for (uint64_t i = begin; i < end; ++i) {
            ctx.cancel_point();
            touched.clear();
            auto users = xt.row_indices(uint32_t(i));
            auto wi = xt.row_values(uint32_t(i));
            for (size_t a = 0; a < users.size(); ++a) {
                auto items = xw.row_indices(users[a]);
                auto wu = xw.row_values(users[a]);
                for (size_t b = 0; b < items.size(); ++b) {
                    if (!seen[items[b]]) {
                        seen[items[b]] = 1;
                        touched.push_back(items[b]);
                    }
                    acc[items[b]] += double(wi[a]) * double(wu[b]);
                }
            }
            std::vector<Scored> cand;
            cand.reserve(touched.size());
            for (uint32_t j : touched) {
                const double dot = acc[j];
                acc[j] = 0.0;
                seen[j] = 0;
                if (j == i || !(dot > 0.0)) continue;
                double sim;
                switch (s.similarity) {
                    case Similarity::Cosine: sim = dot / (norm[i] * norm[j] + s.shrinkage); break;
                    case Similarity::Cooccurrence: sim = dot; break;
                    default: sim = dot / (norm[i] + norm[j] - dot + s.shrinkage); break;
                }
                cand.push_back({j, float(sim)});
            }
            if (cand.size() > k) {
                std::nth_element(cand.begin(), cand.begin() + k, cand.end(), better);
                cand.resize(k);
            }
            std::sort(cand.begin(), cand.end(), [](const Scored& a, const Scored& b) { return a.item < b.item; });
            rows[i] = std::move(cand);
        }
    }, 64);

    return std::make_unique<ItemKnnScorer>(neighbour_matrix(rows), std::move(basket));
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t, uint32_t n_items) { return ItemKnnScorer::read(r, n_items); }

CsrMatrix neighbour_matrix(std::vector<std::vector<Scored>>& rows) {
    const auto n_items = uint32_t(rows.size());
    CsrMatrix nb;
    nb.rows = nb.cols = n_items;
    nb.indptr.assign(uint64_t(n_items) + 1, 0);
    for (uint32_t i = 0; i < n_items; ++i) nb.indptr[i + 1] = nb.indptr[i] + rows[i].size();
    nb.indices.reserve(nb.indptr.back());
    nb.values.reserve(nb.indptr.back());
    for (auto& row : rows) {
        for (const Scored& sc : row) {
            nb.indices.push_back(sc.item);
            nb.values.push_back(sc.score);
        }
        std::vector<Scored>().swap(row);  // frees as it goes: the lists and the matrix are never both whole
    }
    return nb;
}

std::unique_ptr<Scorer> neighbour_scorer(CsrMatrix neighbours) {
    BasketWeighting binary;
    binary.flags = BasketWeighting::kBinary;
    return std::make_unique<ItemKnnScorer>(std::move(neighbours), std::move(binary));
}

std::unique_ptr<Scorer> read_neighbour_scorer(ByteReader& r, uint32_t n_items) {
    if (r.get<uint8_t>() != BasketWeighting::kBinary) throw corrupted("model is corrupted (neighbour-list flags)");
    return ItemKnnScorer::read(r, n_items, BasketWeighting::kBinary);
}

const Algorithm algorithm{
    "itemknn", "item-item similarity (cosine on BM25-weighted purchases by default), the most similar kept per item",
    kParams, train, read, nullptr, {.fold_in = true, .similar_items = true, .explain = true, .incremental = true}};

}  // namespace recsys::itemknn
