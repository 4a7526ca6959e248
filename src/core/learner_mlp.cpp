// mlp: a small ReLU network trained with Adam on standardised features.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "learner_detail.h"
#include "rng.h"

namespace recsys::learn::detail {

void MlpNet::init(uint32_t inputs, const std::vector<uint32_t>& hidden, uint64_t seed) {
    SplitMix64 rng(seed);
    W.clear();
    b.clear();
    uint32_t in = inputs;
    for (size_t l = 0; l <= hidden.size(); ++l) {
        const uint32_t out = l < hidden.size() ? hidden[l] : 1;
        // He initialisation for ReLU layers, Glorot for the logistic output.
        const double a = l < hidden.size() ? std::sqrt(6.0 / in) : std::sqrt(6.0 / (in + out));
        Eigen::MatrixXd w(out, in);
        for (Eigen::Index j = 0; j < w.cols(); ++j)
            for (Eigen::Index i = 0; i < w.rows(); ++i) w(i, j) = a * (2.0 * rng.uniform() - 1.0);
        W.push_back(std::move(w));
        b.push_back(Eigen::VectorXd::Zero(out));
        in = out;
    }
}

Eigen::RowVectorXd MlpNet::forward(const Eigen::MatrixXd& Z) const {
    Eigen::MatrixXd A = Z;
    for (size_t l = 0; l + 1 < W.size(); ++l) A = ((W[l] * A).colwise() + b[l]).cwiseMax(0.0);
    return (W.back() * A).colwise() + b.back();
}

double MlpNet::loss_and_gradient(const Eigen::MatrixXd& Z, const Eigen::RowVectorXd& y, double l2,
                                 MlpNet& grad) const {
    const size_t L = W.size();
    const double B = double(Z.cols());
    std::vector<Eigen::MatrixXd> A(L);  // A[l]: the input of layer l
    A[0] = Z;
    for (size_t l = 0; l + 1 < L; ++l) A[l + 1] = ((W[l] * A[l]).colwise() + b[l]).cwiseMax(0.0);
    const Eigen::RowVectorXd m = (W.back() * A[L - 1]).colwise() + b.back();
    double loss = 0;
    Eigen::MatrixXd delta(1, Z.cols());  // d loss / d pre-activation of the current layer
    for (Eigen::Index k = 0; k < Z.cols(); ++k) {
        loss += log_loss(m[k], y[k]);
        delta(0, k) = (sigmoid(m[k]) - y[k]) / B;
    }
    loss /= B;
    grad.W.resize(L);
    grad.b.resize(L);
    for (size_t l = L; l-- > 0;) {
        loss += 0.5 * l2 * W[l].squaredNorm();
        grad.W[l] = delta * A[l].transpose() + l2 * W[l];
        grad.b[l] = delta.rowwise().sum();
        if (l > 0) {
            Eigen::MatrixXd prev = W[l].transpose() * delta;
            delta = (A[l].array() > 0).select(prev, 0.0);  // ReLU' from its output
        }
    }
    return loss;
}

namespace {

class Mlp final : public Learner {
public:
    Standardiser st;
    MlpNet net;

    Mlp(uint32_t d, std::string params) { set_base(d, std::move(params)); }
    std::string kind() const override { return "mlp"; }

    void predict(const float* x, uint64_t rows, float* out) const override {
        const uint64_t kChunk = 1024;
        Eigen::MatrixXd Z(st.width(), std::min(rows, kChunk));
        for (uint64_t i0 = 0; i0 < rows; i0 += kChunk) {
            const uint64_t m = std::min(kChunk, rows - i0);
            if (Eigen::Index(m) != Z.cols()) Z.resize(Eigen::NoChange, m);
            for (uint64_t k = 0; k < m; ++k) st.transform(x + (i0 + k) * st.d, Z.col(k).data());
            const Eigen::RowVectorXd s = net.forward(Z);
            for (uint64_t k = 0; k < m; ++k) out[i0 + k] = float(s[k]);
        }
    }
    bool contributions(const float*, std::vector<double>&) const override { return false; }
    std::optional<std::vector<double>> importance() const override { return std::nullopt; }

protected:
    void write_payload(ByteWriter& w) const override {
        st.write(w);
        w.put<uint32_t>(uint32_t(net.W.size()));
        for (size_t l = 0; l < net.W.size(); ++l) {
            w.put<uint32_t>(uint32_t(net.W[l].rows()));
            w.put_array(net.W[l].data(), net.W[l].size());
            w.put_array(net.b[l].data(), net.b[l].size());
        }
    }
};

// Mean log-loss of the net on rows `idx` of s.
double mean_loss(const MlpNet& net, const Standardiser& st, const TrainingSet& s, const std::vector<uint64_t>& idx,
                 const Context& ctx) {
    const size_t kChunk = 2048;
    double total = 0;
    Eigen::MatrixXd Z;
    for (size_t i0 = 0; i0 < idx.size(); i0 += kChunk) {
        ctx.cancel_point();
        const size_t m = std::min(kChunk, idx.size() - i0);
        Z.resize(st.width(), m);
        for (size_t k = 0; k < m; ++k) st.transform(s.x + idx[i0 + k] * s.cols, Z.col(k).data());
        const Eigen::RowVectorXd margins = net.forward(Z);
        for (size_t k = 0; k < m; ++k) total += log_loss(margins[k], s.y[idx[i0 + k]]);
    }
    return total / double(idx.size());
}

}  // namespace

std::unique_ptr<Learner> fit_mlp(const TrainingSet& t, const TrainingSet* v, const Params& p, const Context& ctx) {
    std::vector<uint32_t> hidden = {uint32_t(p.get_int("hidden", 32, 1, 1024))};
    if (const int64_t h2 = p.get_int("hidden2", 0, 0, 1024); h2 > 0) hidden.push_back(uint32_t(h2));
    const double lr = p.get_double("learning_rate", 1e-3, 1e-7, 1.0);
    const uint64_t batch = uint64_t(p.get_int("batch_size", 256, 1, 65536));
    const int epochs = int(p.get_int("epochs", 30, 1, 10000));
    const int patience = int(p.get_int("patience", 3, 1, 10000));
    const double l2 = p.get_double("l2", 1e-4, 0.0, 1e6);
    const double fraction = p.get_double("validation_fraction", 0.1, 0.0, 0.5);
    const uint64_t seed = uint64_t(p.get_int("seed", 0, 0, INT32_MAX));
    p.reject_unknown("mlp");

    auto model = std::make_unique<Mlp>(t.cols, p.effective_json());
    Standardiser& st = model->st;
    st.fit(t, true, ctx);
    ctx.reserve(t.rows * 16 + (v ? v->rows * 8 : 0) + batch * (st.width() + 3 * 1024) * 8 * 4,
                "the network's row order and minibatches", "Lower batch_size or train on fewer rows.");

    // Held-out rows when no validation set is given: a seeded random part.
    SplitMix64 rng(mix_seed(seed, 1));
    std::vector<uint64_t> order(t.rows);
    std::iota(order.begin(), order.end(), 0);
    std::vector<uint64_t> valid_rows;
    const TrainingSet* vs = v ? v : &t;
    if (v) {
        valid_rows.resize(v->rows);
        std::iota(valid_rows.begin(), valid_rows.end(), 0);
    } else {
        for (uint64_t i = t.rows; i > 1; --i) std::swap(order[i - 1], order[rng.below64(i)]);
        const uint64_t n_valid = t.rows >= 10 ? uint64_t(std::llround(fraction * double(t.rows))) : 0;
        valid_rows.assign(order.end() - n_valid, order.end());
        order.resize(t.rows - n_valid);
        std::sort(valid_rows.begin(), valid_rows.end());
    }

    MlpNet& net = model->net;
    net.init(st.width(), hidden, mix_seed(seed, 2));
    MlpNet grad, m1 = net, m2 = net, best = net;
    for (size_t l = 0; l < net.W.size(); ++l) {
        m1.W[l].setZero();
        m1.b[l].setZero();
        m2.W[l].setZero();
        m2.b[l].setZero();
    }
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double best_loss = INFINITY;
    int since_best = 0;
    uint64_t step = 0;
    Eigen::MatrixXd Z;
    Eigen::RowVectorXd y;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        for (uint64_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below64(i)]);
        double train_loss = 0;
        uint64_t batches = 0;
        for (uint64_t i0 = 0; i0 < order.size(); i0 += batch) {
            ctx.cancel_point();
            const uint64_t m = std::min<uint64_t>(batch, order.size() - i0);
            Z.resize(st.width(), m);
            y.resize(m);
            for (uint64_t k = 0; k < m; ++k) {
                st.transform(t.x + order[i0 + k] * t.cols, Z.col(k).data());
                y[k] = t.y[order[i0 + k]];
            }
            train_loss += net.loss_and_gradient(Z, y, l2, grad);
            ++batches;
            ++step;
            const double c1 = 1 - std::pow(beta1, double(step)), c2 = 1 - std::pow(beta2, double(step));
            auto adam = [&](auto& w, auto& g, auto& a, auto& s) {
                a = beta1 * a + (1 - beta1) * g;
                s = beta2 * s + (1 - beta2) * g.cwiseProduct(g);
                w.array() -= lr * (a.array() / c1) / ((s.array() / c2).sqrt() + eps);
            };
            for (size_t l = 0; l < net.W.size(); ++l) {
                adam(net.W[l], grad.W[l], m1.W[l], m2.W[l]);
                adam(net.b[l], grad.b[l], m1.b[l], m2.b[l]);
            }
        }
        train_loss /= double(std::max<uint64_t>(1, batches));
        if (!std::isfinite(train_loss))
            throw invalid_input("mlp training diverged (non-finite loss)", "Lower learning_rate.");
        std::string line = "mlp epoch " + std::to_string(epoch) + "/" + std::to_string(epochs) + ": training loss " +
                           std::to_string(train_loss);
        if (valid_rows.empty()) {
            best = net;
        } else {
            const double vl = mean_loss(net, st, *vs, valid_rows, ctx);
            line += ", validation loss " + std::to_string(vl);
            if (vl < best_loss) {
                best_loss = vl;
                best = net;
                since_best = 0;
            } else {
                ++since_best;
            }
        }
        ctx.progress(line);
        if (since_best >= patience) break;
    }
    net = best;
    return model;
}

std::unique_ptr<Learner> read_mlp(ByteReader& r, uint32_t d) {
    auto model = std::make_unique<Mlp>(d, "");
    model->st.read(r, d);
    const uint32_t layers = r.get<uint32_t>();
    if (layers < 2 || layers > 3) throw corrupted("learner is corrupted (layer count)");
    uint32_t in = model->st.width();
    for (uint32_t l = 0; l < layers; ++l) {
        const uint32_t out = r.get<uint32_t>();
        if (out == 0 || out > 1024 || (l + 1 == layers && out != 1)) throw corrupted("learner is corrupted (layer size)");
        std::vector<double> w = r.get_array<double>(uint64_t(out) * in), b = r.get_array<double>(out);
        if (w.size() != uint64_t(out) * in || b.size() != out) throw corrupted("learner is corrupted (layer shape)");
        model->net.W.push_back(Eigen::Map<Eigen::MatrixXd>(w.data(), out, in));
        model->net.b.push_back(Eigen::Map<Eigen::VectorXd>(b.data(), out));
        if (!model->net.W.back().allFinite() || !model->net.b.back().allFinite())
            throw corrupted("learner is corrupted (weights)");
        in = out;
    }
    return model;
}

}  // namespace recsys::learn::detail
