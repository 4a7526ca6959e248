// EASE in float32 against float64 (issue 20, item 4): the same model's
// weights computed both ways from the same Gram matrix, compared by nDCG@10
// on the held-out split, with the time of each way's Cholesky factorisation
// and inverse (Eigen's LLT, one thread) beside recsys's own training.
//   bench/ease_precision_core pairs.csv [lambda=100]
// pairs.csv as for ease_core (bench_util.h: split and metrics). The float32
// weights are scored by recsys itself: they replace the weights of an
// uncompressed ("compression": "none") model in its serialised bytes, which
// are then sealed and decoded again.
#include <Eigen/Dense>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.h"

using namespace recsys;

namespace {

// B = I − P·diag(1/diag P) from G + λI, by LLT in the scalar type T; row-major floats.
template <typename T>
std::vector<float> weights(const Eigen::MatrixXd& gram, double lambda, double& seconds) {
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
    M a = gram.cast<T>();
    a.diagonal().array() += T(lambda);
    const auto t = std::chrono::steady_clock::now();
    Eigen::LLT<M> llt(a);
    M p = llt.solve(M::Identity(a.rows(), a.cols()));
    seconds = bench::seconds_since(t);
    const Eigen::Index m = p.rows();
    std::vector<float> b(size_t(m) * m);
    for (Eigen::Index k = 0; k < m; ++k)
        for (Eigen::Index j = 0; j < m; ++j)  // row k of B: B[k, j] = −P[k, j] / P[j, j]
            b[size_t(k) * m + j] = k == j ? 0.0f : float(-p(k, j) / p(j, j));
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [lambda]\n";
        return 2;
    }
    const double lambda = argc > 2 ? std::stod(argv[2]) : 100.0;
    bench::Split split = bench::read_and_split(argv[1]);
    const Context ctx = bench::context(1);
    const std::string params = "{\"lambda\": " + std::to_string(lambda) + ", \"compression\": \"none\"}";
    auto t = std::chrono::steady_clock::now();
    const Model model = train_model("ease", split.train, params, ctx);
    const double recsys_seconds = bench::seconds_since(t);
    const auto base = bench::evaluate(model, split);

    // The binary Gram matrix of the training split, as EASE sees it.
    const uint32_t n = model.n_items();
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
    for (uint32_t u = 0; u < model.n_users(); ++u) {
        auto items = model.history.row_indices(u);
        for (uint32_t a : items)
            for (uint32_t b : items) gram(a, b) += 1.0;
    }
    const std::vector<uint8_t> bytes = model.serialize();
    const size_t weights_at = bytes.size() - 8 - size_t(n) * n * sizeof(float);
    auto score = [&](const std::vector<float>& b) {
        std::vector<uint8_t> changed = bytes;
        std::memcpy(changed.data() + weights_at, b.data(), b.size() * sizeof(float));
        Model::seal(changed.data(), changed.size());
        return bench::evaluate(Model::deserialize(changed.data(), changed.size()), split);
    };
    double s64 = 0, s32 = 0;
    const auto b64 = weights<double>(gram, lambda, s64);
    const auto b32 = weights<float>(gram, lambda, s32);
    const auto r64 = score(b64), r32 = score(b32);
    double max_diff = 0;
    for (size_t i = 0; i < b64.size(); ++i) max_diff = std::max(max_diff, double(std::abs(b64[i] - b32[i])));
    std::printf("{\"bench\":\"ease_precision_core\",\"lambda\":%g,\"users\":%u,\"items\":%u,"
                "\"recsys_train_seconds\":%.3f,\"recsys_ndcg@10\":%.4f,"
                "\"eigen_llt_f64_seconds\":%.3f,\"f64_ndcg@10\":%.4f,\"eigen_llt_f32_seconds\":%.3f,"
                "\"f32_ndcg@10\":%.4f,\"f32_speedup\":%.2f,\"max_weight_difference\":%.3g}\n",
                lambda, model.n_users(), n, recsys_seconds, base.ndcg.value_or(0), s64, r64.ndcg.value_or(0), s32,
                r32.ndcg.value_or(0), s64 / s32, max_diff);
    return 0;
}
