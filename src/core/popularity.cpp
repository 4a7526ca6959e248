#include "popularity.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "errors.h"
#include "privacy.h"

namespace recsys::popularity {

namespace {

class PopularityScorer : public Scorer {
public:
    explicit PopularityScorer(std::vector<float> counts) : counts_(std::move(counts)) {}

    void score(const Basket&, std::optional<uint32_t>, std::span<float> out) const override {
        std::copy(counts_.begin(), counts_.end(), out.begin());
    }
    void write(ByteWriter& w) const override { w.put_array(counts_); }

private:
    std::vector<float> counts_;
};

constexpr ParamSpec kBy{"by", ParamType::Choice, "\"users\"", 0, 0, "users|weight", "",
                       "\"users\": how many distinct customers bought the item (robust to bulk buyers); "
                       "\"weight\": the summed weight (e.g. units sold)"};
constexpr ParamSpec kMaxItemsPerUser{"max_items_per_user", ParamType::Int, "50", 1, 1e6, "", "",
                                     "with epsilon: the most items a customer counts for"};
constexpr const ParamSpec* kParams[] = {&kBy, &kEpsilon, &kMaxItemsPerUser, &kNoiseSeed};

}  // namespace

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx) {
    const std::string by = params.choice(kBy);
    // Differential privacy for the released counts (optional).
    const bool private_release = params.has("epsilon");
    double epsilon = 0;
    int64_t bound = 0;
    uint64_t seed = 0;
    if (private_release) {
        epsilon = params.number(kEpsilon, 1.0);
        bound = params.integer(kMaxItemsPerUser);
        seed = noise_seed(params);
        if (by != "users")
            throw invalid_input("\"epsilon\" needs \"by\": \"users\"", "Differentially private popularity counts buyers.");
    }
    params.reject_unknown("popularity");
    ctx.check_cancel();
    const CsrMatrix& x = data.matrix;
    std::vector<double> sums(data.items.size(), 0.0);
    if (private_release)
        sums = private_counts(x, epsilon, bound, seed);
    else
        for (uint64_t p = 0; p < x.nnz(); ++p) sums[x.indices[p]] += by == "users" ? 1.0 : double(x.values[p]);
    std::vector<float> counts(sums.begin(), sums.end());
    if (!std::all_of(counts.begin(), counts.end(), [](float c) { return std::isfinite(c); }))
        throw invalid_input("popularity failed: an item's summed weight is too large for a float",
                            "Scale the weights down (log_weight, clip_weight), or count buyers with \"by\": \"users\".");
    return std::make_unique<PopularityScorer>(std::move(counts));
}

std::vector<double> private_counts(const CsrMatrix& x, double epsilon, int64_t bound, uint64_t seed) {
    std::vector<double> counts(x.cols, 0.0);
    for (uint32_t i : bound_contributions(x, bound, seed).indices) counts[i] += 1.0;
    return noisy_counts(counts, bound, epsilon, seed);
}


std::unique_ptr<Scorer> read(ByteReader& r, uint32_t, uint32_t n_items) {
    auto counts = r.get_array<float>(n_items);
    if (counts.size() != n_items) throw corrupted("model is corrupted (popularity size)");
    return std::make_unique<PopularityScorer>(std::move(counts));
}

const Algorithm algorithm{
    "popularity", "how many distinct customers bought each item: the baseline, and every model's fallback",
    kParams, train, read, nullptr, {.fold_in = true, .incremental = true, .tuned_by_default = true}};

}  // namespace recsys::popularity
