// Internals of learners.h shared by its source files, and the pieces the
// tests check alone (the MLP's gradient).
#pragma once

#include <Eigen/Dense>

#include <memory>
#include <vector>

#include "learners.h"

namespace recsys::learn::detail {

// Standardised features: the d input columns, then one missing indicator
// per feature listed in indicator_of. Column c is z = (v - mean[c]) * scale[c]
// with a missing value imputed as z = 0 (the mean) and scale 0 for a
// column that is constant in training.
struct Standardiser {
    uint32_t d = 0;
    std::vector<uint32_t> indicator_of;
    std::vector<double> mean, scale;

    uint32_t width() const { return d + uint32_t(indicator_of.size()); }
    // The input feature column c is about.
    uint32_t source(uint32_t c) const { return c < d ? c : indicator_of[c - d]; }
    void fit(const TrainingSet& t, bool indicators, const Context& ctx);
    void transform(const float* row, double* z) const;
    void write(ByteWriter& w) const;
    void read(ByteReader& r, uint32_t d_expected);
};

// A fully connected ReLU network with one logistic output, on columns of
// standardised inputs (one column per example).
struct MlpNet {
    std::vector<Eigen::MatrixXd> W;  // layer l: out × in
    std::vector<Eigen::VectorXd> b;

    void init(uint32_t inputs, const std::vector<uint32_t>& hidden, uint64_t seed);
    // Margins of the columns of Z.
    Eigen::RowVectorXd forward(const Eigen::MatrixXd& Z) const;
    // Mean binary cross-entropy over the columns of Z plus (l2/2)·Σ‖W‖²,
    // and its gradient into `grad` (same shapes as this net).
    double loss_and_gradient(const Eigen::MatrixXd& Z, const Eigen::RowVectorXd& y, double l2, MlpNet& grad) const;
};

// log(1 + exp(m)) - y·m, the log-loss of margin m for label y, without
// overflow.
inline double log_loss(double m, double y) {
    return (m > 0 ? m + std::log1p(std::exp(-m)) : std::log1p(std::exp(m))) - y * m;
}
inline double sigmoid(double m) { return m >= 0 ? 1 / (1 + std::exp(-m)) : std::exp(m) / (1 + std::exp(m)); }

void validate(const TrainingSet& t, const char* what, bool need_groups);

std::unique_ptr<Learner> fit_logistic(const TrainingSet& t, const Params& p, const Context& ctx);
std::unique_ptr<Learner> fit_linear(const TrainingSet& t, const Params& p, const Context& ctx);
// logistic or linear
std::unique_ptr<Learner> read_glm(std::string_view kind, ByteReader& r, uint32_t d);
std::unique_ptr<Learner> fit_mlp(const TrainingSet& t, const TrainingSet* v, const Params& p, const Context& ctx);
std::unique_ptr<Learner> read_mlp(ByteReader& r, uint32_t d);
std::unique_ptr<Learner> fit_ensemble(const TrainingSet& t, const TrainingSet* v, const Params& p, const Context& ctx);
std::unique_ptr<Learner> read_ensemble(ByteReader& r, uint32_t d);
// tree, forest, boosted, boosted_rank
std::unique_ptr<Learner> fit_xgb(std::string_view kind, const TrainingSet& t, const TrainingSet* v, const Params& p,
                                 const Context& ctx);
std::unique_ptr<Learner> read_xgb(std::string_view kind, ByteReader& r, uint32_t d);

}  // namespace recsys::learn::detail
