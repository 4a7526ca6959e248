// The learners' common part (validation, standardising, the format) and
// the logistic regression.
#include "learners.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "learner_detail.h"
#include "parallel.h"

namespace recsys::learn {

using detail::Standardiser;

const std::vector<std::string>& learner_kinds() {
    static const std::vector<std::string> kinds = {"logistic", "tree", "forest", "boosted", "boosted_rank", "mlp", "ensemble", "linear"};
    return kinds;
}

namespace {
constexpr uint32_t kMaxFeatures = 100000;
}

void Learner::write(ByteWriter& w) const {
    w.put_string(kind());
    w.put<uint32_t>(d_);
    w.put_string(params_json_);
    write_payload(w);
}

std::unique_ptr<Learner> fit_learner(std::string_view kind, const TrainingSet& train, const TrainingSet* validation,
                                     const Params& params, const Context& ctx) {
    const auto& kinds = learner_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
        throw invalid_input("unknown learner \"" + std::string(kind) + "\"",
                            "Known learners: logistic, tree, forest, boosted, boosted_rank, mlp, ensemble, linear.");
    const bool rank = kind == "boosted_rank";
    const Task task = train.task;
    const bool does = task == Task::Binary        ? kind != "linear"
                      : task == Task::Regression  ? (kind == "linear" || kind == "tree" || kind == "forest" ||
                                                    kind == "boosted")
                                                  : kind == "boosted";
    if (!does)
        throw invalid_input("learner " + std::string(kind) + " does not do " +
                                (task == Task::Binary       ? "binary classification"
                                 : task == Task::Regression ? "regression"
                                                            : "survival (interval-censored times)"),
                            task == Task::Binary       ? "Use logistic, tree, forest, boosted or mlp."
                            : task == Task::Regression ? "Use linear, tree, forest or boosted."
                                                       : "Use boosted (XGBoost survival:aft).");
    detail::validate(train, "training set", rank);
    if (validation) {
        if (validation->task != task) throw invalid_input("the validation set is for another task than the training set");
        detail::validate(*validation, "validation set", rank);
        if (validation->cols != train.cols)
            throw invalid_input("the validation set has " + std::to_string(validation->cols) +
                                " features, the training set " + std::to_string(train.cols));
    }
    if (kind == "logistic") return detail::fit_logistic(train, params, ctx);
    if (kind == "linear") return detail::fit_linear(train, params, ctx);
    if (kind == "mlp") return detail::fit_mlp(train, validation, params, ctx);
    if (kind == "ensemble") return detail::fit_ensemble(train, validation, params, ctx);
    return detail::fit_xgb(kind, train, validation, params, ctx);
}

std::unique_ptr<Learner> read_learner(ByteReader& r) {
    const std::string kind = r.get_string();
    const auto& kinds = learner_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
        throw corrupted("learner is corrupted (unknown kind)");
    const uint32_t d = r.get<uint32_t>();
    if (d == 0 || d > kMaxFeatures) throw corrupted("learner is corrupted (feature count out of range)");
    std::string params = r.get_string();
    std::unique_ptr<Learner> l = kind == "logistic" || kind == "linear" ? detail::read_glm(kind, r, d)
                                 : kind == "mlp"    ? detail::read_mlp(r, d)
                                 : kind == "ensemble" ? detail::read_ensemble(r, d)
                                                    : detail::read_xgb(kind, r, d);
    l->set_base(d, std::move(params));
    return l;
}

namespace detail {

void validate(const TrainingSet& t, const char* what, bool need_groups) {
    const std::string w = what;
    if (t.rows == 0 || !t.x || !t.y) throw invalid_input("the " + w + " is empty");
    if (t.cols == 0 || t.cols > kMaxFeatures)
        throw invalid_input("the " + w + " has " + std::to_string(t.cols) + " features",
                            "Between 1 and " + std::to_string(kMaxFeatures) + " features are supported.");
    if (t.rows > uint64_t(INT32_MAX)) throw invalid_input("the " + w + " has more than 2^31 rows");
    if (t.task == Task::Binary) {
        uint64_t positives = 0;
        for (uint64_t i = 0; i < t.rows; ++i) {
            if (t.y[i] != 0 && t.y[i] != 1)
                throw invalid_input("label " + std::to_string(t.y[i]) + " in the " + w + " (row " + std::to_string(i) +
                                        ")",
                                    "Labels must be 0 or 1.");
            positives += t.y[i] == 1;
        }
        if (positives == 0 || positives == t.rows)
            throw invalid_input("the " + w + " has a single class", "Labels must include both 0 and 1.");
    } else if (t.task == Task::Regression) {
        for (uint64_t i = 0; i < t.rows; ++i)
            if (!std::isfinite(t.y[i]))
                throw invalid_input("label " + std::to_string(t.y[i]) + " in the " + w + " (row " + std::to_string(i) +
                                    ") is not finite");
    } else {
        if (!t.y_upper) throw invalid_input("the " + w + " has no upper bounds", "Survival needs y_upper.");
        for (uint64_t i = 0; i < t.rows; ++i)
            if (!std::isfinite(t.y[i]) || !(t.y[i] > 0) || std::isnan(t.y_upper[i]) || t.y_upper[i] < t.y[i])
                throw invalid_input("time bounds [" + std::to_string(t.y[i]) + ", " + std::to_string(t.y_upper[i]) +
                                        "] in the " + w + " (row " + std::to_string(i) + ")",
                                    "Need 0 < lower <= upper, lower finite; upper +inf for a censored time.");
    }
    const uint64_t n = t.rows * t.cols;
    for (uint64_t k = 0; k < n; ++k)
        if (std::isinf(t.x[k]))
            throw invalid_input("infinite feature value in the " + w + " (row " + std::to_string(k / t.cols) +
                                    ", feature " + std::to_string(k % t.cols) + ")",
                                "Use NaN for a missing value.");
    if (need_groups && t.groups.empty())
        throw invalid_input("the " + w + " has no groups", "boosted_rank needs the group sizes (rows per user).");
    if (!t.groups.empty()) {
        uint64_t sum = 0;
        for (uint32_t g : t.groups) {
            if (g == 0) throw invalid_input("a group of the " + w + " is empty");
            sum += g;
        }
        if (sum != t.rows)
            throw invalid_input("the group sizes of the " + w + " sum to " + std::to_string(sum) + ", not to its " +
                                std::to_string(t.rows) + " rows");
    }
}

void Standardiser::fit(const TrainingSet& t, bool indicators, const Context& ctx) {
    d = t.cols;
    std::vector<double> sum(d, 0), sq(d, 0);
    std::vector<uint64_t> present(d, 0);
    for (uint64_t i = 0; i < t.rows; ++i) {
        if (i % 4096 == 0) ctx.cancel_point();
        const float* row = t.x + i * d;
        for (uint32_t j = 0; j < d; ++j)
            if (!std::isnan(row[j])) {
                sum[j] += row[j];
                ++present[j];
            }
    }
    mean.assign(d, 0);
    for (uint32_t j = 0; j < d; ++j)
        if (present[j]) mean[j] = sum[j] / double(present[j]);
    for (uint64_t i = 0; i < t.rows; ++i) {  // second pass: no cancellation in sum of squares
        if (i % 4096 == 0) ctx.cancel_point();
        const float* row = t.x + i * d;
        for (uint32_t j = 0; j < d; ++j)
            if (!std::isnan(row[j])) sq[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
    }
    scale.assign(d, 0);
    indicator_of.clear();
    for (uint32_t j = 0; j < d; ++j) {
        const double sd = present[j] ? std::sqrt(sq[j] / double(present[j])) : 0;
        scale[j] = sd > 1e-12 * std::max(1.0, std::abs(mean[j])) ? 1 / sd : 0;
        if (indicators && present[j] < t.rows) indicator_of.push_back(j);
    }
    for (uint32_t j : indicator_of) {
        const double f = 1 - double(present[j]) / double(t.rows);  // fraction missing
        const double sd = std::sqrt(f * (1 - f));
        mean.push_back(f);
        scale.push_back(sd > 0 ? 1 / sd : 0);
    }
}

void Standardiser::transform(const float* row, double* z) const {
    for (uint32_t j = 0; j < d; ++j) z[j] = std::isnan(row[j]) ? 0.0 : (row[j] - mean[j]) * scale[j];
    for (uint32_t k = 0; k < indicator_of.size(); ++k) {
        const uint32_t c = d + k;
        z[c] = ((std::isnan(row[indicator_of[k]]) ? 1.0 : 0.0) - mean[c]) * scale[c];
    }
}

void Standardiser::write(ByteWriter& w) const {
    w.put<uint32_t>(d);
    w.put_array(indicator_of);
    w.put_array(mean);
    w.put_array(scale);
}

void Standardiser::read(ByteReader& r, uint32_t d_expected) {
    d = r.get<uint32_t>();
    if (d != d_expected) throw corrupted("learner is corrupted (standardiser width)");
    indicator_of = r.get_array<uint32_t>(d);
    for (size_t k = 0; k < indicator_of.size(); ++k)
        if (indicator_of[k] >= d || (k > 0 && indicator_of[k] <= indicator_of[k - 1]))
            throw corrupted("learner is corrupted (missing indicators)");
    mean = r.get_array<double>(width());
    scale = r.get_array<double>(width());
    if (mean.size() != width() || scale.size() != width())
        throw corrupted("learner is corrupted (standardiser size)");
    for (uint32_t c = 0; c < width(); ++c)
        if (!std::isfinite(mean[c]) || !std::isfinite(scale[c]) || scale[c] < 0)
            throw corrupted("learner is corrupted (standardiser values)");
}

namespace {

// A generalised linear model on standardised features: logistic (margin =
// log-odds) or linear (margin = the prediction); the same payload.
class Glm final : public Learner {
public:
    std::string kind_;
    Standardiser st;
    Eigen::VectorXd beta;  // per standardised column
    double intercept = 0;

    Glm(std::string_view kind, uint32_t d, std::string params) : kind_(kind) { set_base(d, std::move(params)); }
    std::string kind() const override { return kind_; }

    void predict(const float* x, uint64_t rows, float* out) const override {
        std::vector<double> z(st.width());
        for (uint64_t i = 0; i < rows; ++i) {
            st.transform(x + i * st.d, z.data());
            out[i] = float(intercept + Eigen::Map<const Eigen::VectorXd>(z.data(), z.size()).dot(beta));
        }
    }
    bool contributions(const float* row, std::vector<double>& out) const override {
        std::vector<double> z(st.width());
        st.transform(row, z.data());
        out.assign(st.d + 1, 0.0);
        for (uint32_t c = 0; c < st.width(); ++c) out[st.source(c)] += beta[c] * z[c];
        out[st.d] = intercept;
        return true;
    }
    std::optional<std::vector<double>> importance() const override {
        std::vector<double> imp(st.d, 0.0);
        for (uint32_t c = 0; c < st.width(); ++c) imp[st.source(c)] += std::abs(beta[c]);
        return imp;
    }

protected:
    void write_payload(ByteWriter& w) const override {
        st.write(w);
        w.put_array(beta.data(), beta.size());
        w.put<double>(intercept);
    }
};

// Sums over the training rows at coefficients theta (standardised columns,
// then the intercept): the log-loss, its gradient and Hessian. The rows are
// cut into a fixed number of blocks, whatever the thread count, and the
// blocks' sums added in order: the same result on any number of threads.
struct Sums {
    double loss = 0;
    Eigen::VectorXd g;
    Eigen::MatrixXd H;
};

Sums logistic_sums(const TrainingSet& t, const Standardiser& st, const Eigen::VectorXd& theta, const Context& ctx) {
    const uint32_t D = st.width() + 1;
    const uint64_t kSub = 512;
    const uint64_t n_blocks = std::min<uint64_t>(32, (t.rows + 4095) / 4096);
    std::vector<Sums> parts(n_blocks);
    using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    parallel_for_with_state(
        n_blocks, ctx, [&] { return RowMatrix(kSub, D); },
        [&](RowMatrix& Z, uint64_t b0, uint64_t b1) {
            Eigen::VectorXd w(kSub), r(kSub);
            for (uint64_t b = b0; b < b1; ++b) {
                Sums& s = parts[b];
                s.g = Eigen::VectorXd::Zero(D);
                s.H = Eigen::MatrixXd::Zero(D, D);
                const uint64_t begin = t.rows * b / n_blocks, end = t.rows * (b + 1) / n_blocks;
                for (uint64_t i0 = begin; i0 < end; i0 += kSub) {
                    ctx.cancel_point();
                    const uint64_t m = std::min(kSub, end - i0);
                    for (uint64_t k = 0; k < m; ++k) {
                        st.transform(t.x + (i0 + k) * t.cols, Z.row(k).data());
                        Z(k, D - 1) = 1;
                        const double margin = Z.row(k).dot(theta), y = t.y[i0 + k], p = sigmoid(margin);
                        s.loss += log_loss(margin, y);
                        r[k] = p - y;
                        w[k] = std::sqrt(p * (1 - p));
                    }
                    auto Zm = Z.topRows(m);
                    s.g.noalias() += Zm.transpose() * r.head(m);
                    const RowMatrix Zw = w.head(m).asDiagonal() * Zm;
                    s.H.selfadjointView<Eigen::Lower>().rankUpdate(Zw.transpose());
                }
            }
        },
        1);
    Sums total{0, Eigen::VectorXd::Zero(D), Eigen::MatrixXd::Zero(D, D)};
    for (const Sums& s : parts) {
        total.loss += s.loss;
        total.g += s.g;
        total.H += s.H;
    }
    total.H = total.H.selfadjointView<Eigen::Lower>();
    return total;
}

}  // namespace

std::unique_ptr<Learner> fit_logistic(const TrainingSet& t, const Params& p, const Context& ctx) {
    const double l2 = p.get_double("l2", 1.0, 0.0, 1e12);
    const int max_it = int(p.get_int("max_iterations", 50, 1, 1000));
    const double tol = p.get_double("tolerance", 1e-7, 0.0, 1.0);
    const bool indicators = p.get_bool("missing_indicators", true);
    p.reject_unknown("logistic");

    auto m = std::make_unique<Glm>("logistic", t.cols, p.effective_json());
    m->st.fit(t, indicators, ctx);
    const uint32_t D = m->st.width() + 1;
    const uint64_t n_blocks = std::min<uint64_t>(32, (t.rows + 4095) / 4096);
    ctx.reserve((n_blocks + 4) * uint64_t(D) * D * 8 + uint64_t(ctx.threads) * 512 * D * 8,
                "logistic regression's Hessians", "Use fewer features.");
    double pos = 0;
    for (uint64_t i = 0; i < t.rows; ++i) pos += t.y[i];
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(D);
    theta[D - 1] = std::log(pos / (double(t.rows) - pos));

    Eigen::VectorXd penalty = Eigen::VectorXd::Constant(D, l2);
    penalty[D - 1] = 0;
    auto objective = [&](const Sums& s, const Eigen::VectorXd& th) {
        return s.loss + 0.5 * (penalty.array() * th.array().square()).sum();
    };
    Sums s = logistic_sums(t, m->st, theta, ctx);
    double f = objective(s, theta);
    for (int it = 1; it <= max_it; ++it) {
        const Eigen::VectorXd g = s.g + penalty.cwiseProduct(theta);
        Eigen::MatrixXd H = s.H;
        H.diagonal() += penalty;
        H.diagonal().array() += 1e-10 * (1 + H.diagonal().array());  // keeps an all-constant column solvable
        const Eigen::VectorXd step = H.ldlt().solve(g);
        // Newton with step halving: the objective never increases.
        double scale = 1;
        Eigen::VectorXd next;
        Sums sn;
        double fn = f;
        for (int h = 0; h < 40; ++h, scale *= 0.5) {
            next = theta - scale * step;
            sn = logistic_sums(t, m->st, next, ctx);
            fn = objective(sn, next);
            if (fn <= f + 1e-12 * std::abs(f)) break;
        }
        const double change = (next - theta).cwiseAbs().maxCoeff();
        if (fn > f + 1e-12 * std::abs(f)) break;  // no descent left: at the optimum within rounding
        theta = next;
        s = std::move(sn);
        f = fn;
        ctx.progress("logistic iteration " + std::to_string(it) + "/" + std::to_string(max_it) + ": objective " +
                     std::to_string(f) + ", largest change " + std::to_string(change));
        if (change < tol) break;
    }
    m->beta = theta.head(D - 1);
    m->intercept = theta[D - 1];
    return m;
}

std::unique_ptr<Learner> fit_linear(const TrainingSet& t, const Params& p, const Context& ctx) {
    const double l2 = p.get_double("l2", 1.0, 0.0, 1e12);
    const bool indicators = p.get_bool("missing_indicators", true);
    p.reject_unknown("linear");
    auto m = std::make_unique<Glm>("linear", t.cols, p.effective_json());
    m->st.fit(t, indicators, ctx);
    const uint32_t D = m->st.width() + 1;
    ctx.reserve(uint64_t(D) * D * 8 * 3 + 512ull * D * 8, "linear regression's normal equations", "Use fewer features.");
    // Normal equations over [z, 1], summed in blocks of 512 rows in order:
    // the same result on any thread count (one thread here).
    using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMatrix Z(512, D);
    Eigen::VectorXd r(512);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(D, D);
    Eigen::VectorXd g = Eigen::VectorXd::Zero(D);
    for (uint64_t i0 = 0; i0 < t.rows; i0 += 512) {
        ctx.cancel_point();
        const uint64_t n = std::min<uint64_t>(512, t.rows - i0);
        for (uint64_t k = 0; k < n; ++k) {
            m->st.transform(t.x + (i0 + k) * t.cols, Z.row(k).data());
            Z(k, D - 1) = 1;
            r[k] = t.y[i0 + k];
        }
        auto Zm = Z.topRows(n);
        g.noalias() += Zm.transpose() * r.head(n);
        H.selfadjointView<Eigen::Lower>().rankUpdate(Zm.transpose());
    }
    H = H.selfadjointView<Eigen::Lower>();
    H.diagonal().head(D - 1).array() += l2;
    H.diagonal().array() += 1e-10 * (1 + H.diagonal().array());  // keeps an all-constant column solvable
    const Eigen::VectorXd theta = H.ldlt().solve(g);
    if (!theta.allFinite()) throw invalid_input("linear regression has no finite solution", "Raise l2.");
    m->beta = theta.head(D - 1);
    m->intercept = theta[D - 1];
    return m;
}

std::unique_ptr<Learner> read_glm(std::string_view kind, ByteReader& r, uint32_t d) {
    auto m = std::make_unique<Glm>(kind, d, "");
    m->st.read(r, d);
    std::vector<double> beta = r.get_array<double>(m->st.width());
    if (beta.size() != m->st.width()) throw corrupted("learner is corrupted (coefficient count)");
    m->beta = Eigen::Map<Eigen::VectorXd>(beta.data(), beta.size());
    m->intercept = r.get<double>();
    if (!m->beta.allFinite() || !std::isfinite(m->intercept)) throw corrupted("learner is corrupted (coefficients)");
    return m;
}

}  // namespace detail

namespace {

// The CDF of Z in log T = margin + σ·Z, as XGBoost's survival:aft defines it.
double aft_z_cdf(double z, std::string_view distribution) {
    if (distribution == "normal") return 0.5 * std::erfc(-z / std::sqrt(2.0));
    if (distribution == "logistic") return 1 / (1 + std::exp(-z));
    return -std::expm1(-std::exp(z));  // extreme
}

}  // namespace

double aft_cdf(double margin, std::string_view distribution, double scale, double t) {
    if (!(t > 0)) return 0;
    return aft_z_cdf((std::log(t) - margin) / scale, distribution);
}

double aft_quantile(double margin, std::string_view distribution, double scale, double p) {
    if (!(p > 0)) return 0;
    if (!(p < 1)) return std::numeric_limits<double>::infinity();
    double z;
    if (distribution == "logistic") {
        z = std::log(p / (1 - p));
    } else if (distribution == "normal") {  // bisection: Φ has no closed inverse
        double lo = -40, hi = 40;
        for (int k = 0; k < 200 && hi - lo > 1e-12; ++k) {
            const double mid = (lo + hi) / 2;
            (aft_z_cdf(mid, distribution) < p ? lo : hi) = mid;
        }
        z = (lo + hi) / 2;
    } else {
        z = std::log(-std::log1p(-p));
    }
    return std::exp(margin + scale * z);
}

}  // namespace recsys::learn
