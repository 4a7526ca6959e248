#include "rp3beta.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "data_shape.h"
#include "errors.h"
#include "itemknn.h"
#include "parallel.h"
#include "topk.h"

namespace recsys::rp3beta {

namespace {

// Defaults measured with bench/rp3beta_core (nDCG@10, per-user 80/20 split)
// on the wholesale sample (353 customers) and the full data (4,338): the
// reference's defaults (alpha 1, beta 0.6, 100 neighbours, normalised) give
// 0.060 / 0.224 (popularity: 0.062 / 0.053); alpha 0.25, beta 0.4, 10
// neighbours 0.186 / 0.229, the best sum of the two (EASE: 0.150 / 0.287). A smaller alpha weighs customers with many
// items less down; beta above 0.5 collapses on the small sample (0.6: 0.056),
// which is full of items with one or two buyers; fewer neighbours rank
// better on both down to 10 (as for item-kNN), which still fills
// similar_items(item, 10). Normalised rows won at almost every setting.
constexpr ParamSpec kAlpha{"alpha", ParamType::Double, "0.25", 0, 10, "", "[0.25, 0.5, 1]",
                           "power of each step's transition probability (1: the plain random walk)"};
constexpr ParamSpec kBeta{"beta", ParamType::Double, "0.4", 0, 1, "", "[0.3, 0.4, 0.5]",
                          "popularity penalty: the arrival item's weight is divided by its buyers^beta "
                          "(0 on sparse data)"};
constexpr ParamSpec kNeighbours{"neighbours", ParamType::Int, "10", 1, 100000, "", "[10, 20, 50]",
                                "the largest weights kept per item (100 on sparse data)"};
constexpr ParamSpec kNormalise{"normalise", ParamType::Bool, "true", 0, 0, "", "",
                               "divide each item's kept weights by their sum (false on sparse data)"};
constexpr const ParamSpec* kParams[] = {&kAlpha, &kBeta, &kNeighbours, &kNormalise};

// Sparse data (data_shape.h): no popularity penalty, 100 neighbours, rows
// not normalised. There a walk through one shared buyer is most of an
// item's row, and normalising makes it as strong as a popular item's whole
// row: on complete-journey (bench/accuracy.sh defaults) the dense defaults
// score nDCG@10 0.024, β 0 with 100 normalised neighbours 0.043, the same
// not normalised 0.045, against popularity's 0.044 (β 0.2: 0.042-0.044;
// 20-200 neighbours: 0.044-0.045). It costs on the synthetic long tail
// (bench/synthetic_pairs.py: 0.197 -> 0.180, popularity 0.171), where
// groups of users give rare items real neighbours (README).
constexpr struct {
    double beta;
    int64_t neighbours;
    bool normalise;
} kSparse{0.0, 100, false};

// The neighbour lists: as Scored rows while training, then copied into the
// model's CSR (4-byte index + 4-byte weight each).
uint64_t list_bytes(uint64_t n_items, uint64_t k) { return 2 * n_items * std::min(k, n_items) * 8; }

// Without the data, the larger of the two default neighbourhoods.
MemoryEstimate memory(const Params& params, uint64_t, uint64_t n_items) {
    const auto k = uint64_t(params.integer(kNeighbours, kSparse.neighbours));
    return {list_bytes(n_items, k), "2 x " + std::to_string(n_items) + " items x " +
                                        std::to_string(std::min(k, n_items)) + " neighbours x 8 bytes"};
}

// x^-p for a positive count (pow(x, -0) is 1).
double inverse_power(double count, double p) { return std::pow(count, -p); }

}  // namespace

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const CsrMatrix& x = data.matrix;  // users x items; every stored pair is an edge
    const bool sparse = is_sparse(x);
    const double alpha = params.number(kAlpha);
    const double beta = sparse ? params.number(kBeta, kSparse.beta) : params.number(kBeta);
    const auto k = uint32_t(sparse ? params.integer(kNeighbours, kSparse.neighbours) : params.integer(kNeighbours));
    const bool normalise = sparse ? params.boolean(kNormalise, kSparse.normalise) : params.boolean(kNormalise);
    params.reject_unknown("rp3beta");

    const uint32_t n_items = x.cols;
    // Plus the transpose and, per thread, one accumulator over the items.
    ctx.reserve(list_bytes(n_items, k) + x.bytes() + uint64_t(n_items) * 16 * uint64_t(std::max(1, ctx.threads)),
                "RP3beta training", "Lower \"neighbours\", or raise recsys.memory_limit.");
    const CsrMatrix xt = x.transpose();  // items x users

    // The walk's factors: P(u -> j)^alpha per user, P(i -> u)^alpha and the
    // popularity penalty per item.
    std::vector<double> user_step(x.rows), item_step(n_items, 0.0), penalty(n_items, 0.0);
    for (uint32_t u = 0; u < x.rows; ++u)
        user_step[u] = x.row_size(u) ? inverse_power(x.row_size(u), alpha) : 0.0;
    for (uint32_t i = 0; i < n_items; ++i) {
        if (!xt.row_size(i)) continue;
        item_step[i] = inverse_power(xt.row_size(i), alpha);
        penalty[i] = inverse_power(xt.row_size(i), beta);
    }

    // Weights are selected and normalised in double, then stored as float.
    struct Weight {
        uint32_t item;
        double w;
    };
    auto larger = [](const Weight& a, const Weight& b) { return a.w > b.w || (a.w == b.w && a.item < b.item); };
    std::vector<std::vector<Scored>> rows(n_items);
    // Each row is summed by one thread in a fixed order: the same weights for
    // any thread count.
    parallel_for(n_items, ctx, [&](uint64_t begin, uint64_t end) {
        std::vector<double> acc(n_items, 0.0);
        std::vector<uint8_t> seen(n_items, 0);
        std::vector<uint32_t> touched;
        std::vector<Weight> cand;
        for (uint64_t i = begin; i < end; ++i) {
            ctx.cancel_point();
            touched.clear();
            for (uint32_t u : xt.row_indices(uint32_t(i))) {
                for (uint32_t j : x.row_indices(u)) {
                    if (!seen[j]) {
                        seen[j] = 1;
                        touched.push_back(j);
                    }
                    acc[j] += user_step[u];
                }
            }
            cand.clear();
            for (uint32_t j : touched) {
                const double w = item_step[i] * acc[j] * penalty[j];
                acc[j] = 0.0;
                seen[j] = 0;
                if (j != i && w > 0.0) cand.push_back({j, w});
            }
            if (cand.size() > k) {
                std::nth_element(cand.begin(), cand.begin() + k, cand.end(), larger);
                cand.resize(k);
            }
            std::sort(cand.begin(), cand.end(), [](const Weight& a, const Weight& b) { return a.item < b.item; });
            double sum = 0.0;
            for (const Weight& c : cand) sum += c.w;
            std::vector<Scored> row;
            row.reserve(cand.size());
            for (const Weight& c : cand) {
                const float w = float(normalise ? c.w / sum : c.w);
                if (w > 0.0f) row.push_back({c.item, w});  // a weight below float's range is no evidence
            }
            rows[i] = std::move(row);
        }
    }, 64);

    return itemknn::neighbour_scorer(itemknn::neighbour_matrix(rows));
}

std::unique_ptr<Scorer> read(ByteReader& r, uint32_t, uint32_t n_items) {
    return itemknn::read_neighbour_scorer(r, n_items);
}

const Algorithm algorithm{
    "rp3beta",
    "random walk item → user → item (Paudel et al. 2017), popularity penalised by buyers^β, the largest weights kept "
    "per item",
    kParams, train, read, memory, {.fold_in = true, .similar_items = true, .explain = true, .incremental = true}};

}  // namespace recsys::rp3beta
