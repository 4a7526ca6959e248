#include "weighting.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "errors.h"
#include "scaling.h"

namespace recsys {

namespace {

void require(bool ok, const std::string& message, const std::string& hint) {
    if (!ok) throw invalid_input(message, hint);
}

void require_non_negative(const char* name, double x, const char* hint) {
    require(std::isfinite(x) && x >= 0, std::string(name) + " must be a finite number >= 0", hint);
}

void require_non_negative_values(const CsrMatrix& m) {
    for (float v : m.values)
        require(std::isfinite(v) && v >= 0, "weights must be finite and non-negative",
                "Remove or fix negative and NaN weights before weighting.");
}

// idf_j = ln(N / df_j); columns without entries are never read.
std::vector<double> inverse_document_frequency(const CsrMatrix& m) {
    std::vector<uint32_t> df(m.cols, 0);
    for (uint32_t j : m.indices) ++df[j];
    std::vector<double> idf(m.cols, 0.0);
    for (uint32_t j = 0; j < m.cols; ++j)
        if (df[j] > 0) idf[j] = std::log(double(m.rows) / double(df[j]));
    return idf;
}

void check_log_scale(double alpha, double eps) {
    require_non_negative("alpha", alpha, "alpha is a scale factor: pass 0 or more, e.g. 1 (the default).");
    require(std::isfinite(eps) && eps > 0, "eps must be a finite number > 0",
            "Eps sets the unit of quantity, e.g. 1.");
}

void check_cap(double cap) {
    require_non_negative("cap", cap,
                         "The cap is the largest weight to keep, e.g. the 99th percentile of the weights.");
}

}  // namespace

double log_scale(double quantity, double alpha, double eps) {
    require_non_negative("quantity", quantity,
                         "Filter out negative and NaN quantities (e.g. returns) first: WHERE quantity >= 0.");
    check_log_scale(alpha, eps);
    return 1 + alpha * std::log1p(quantity / eps);
}

void log_scale(CsrMatrix& m, double alpha, double eps) {
    check_log_scale(alpha, eps);
    require_non_negative_values(m);
    for (float& v : m.values) v = float(1 + alpha * std::log1p(v / eps));
}

double time_decay(double weight, double event_time, double reference_time, double half_life) {
    require_non_negative("weight", weight, "Filter out negative and NaN weights first: WHERE weight >= 0.");
    require(std::isfinite(event_time) && std::isfinite(reference_time), "times must be finite",
            "Pass times as seconds, e.g. extract(epoch from ts).");
    require(std::isfinite(half_life) && half_life > 0, "half-life must be a finite number of seconds > 0",
            "For example 2592000 for 30 days.");
    double age = std::max(0.0, reference_time - event_time);
    return weight * std::exp2(-age / half_life);
}

double clip_weight(double weight, double cap) {
    require_non_negative("weight", weight, "Filter out negative and NaN weights first: WHERE weight >= 0.");
    check_cap(cap);
    return std::min(weight, cap);
}

void clip_weights(CsrMatrix& m, double cap) {
    check_cap(cap);
    require_non_negative_values(m);
    for (float& v : m.values) v = float(std::min(double(v), cap));
}

double quantile_cap(const CsrMatrix& m, double fraction) {
    require(m.nnz() > 0, "cannot compute a cap from an empty matrix", "Train on at least one interaction.");
    return percentile_cont(std::vector<double>(m.values.begin(), m.values.end()), fraction);
}

void tfidf_weight(CsrMatrix& m) {
    require_non_negative_values(m);
    std::vector<double> idf = inverse_document_frequency(m);
    for (uint64_t e = 0; e < m.nnz(); ++e)
        m.values[e] = float(std::sqrt(double(m.values[e])) * idf[m.indices[e]]);
}

void bm25_weight(CsrMatrix& m, double k1, double b) {
    require_non_negative("k1", k1, "k1 sets how fast repeated interactions saturate, e.g. 1.2");
    require(std::isfinite(b) && b >= 0 && b <= 1, "b must be between 0 and 1",
            "B sets how much long rows are discounted, e.g. 0.75.");
    require_non_negative_values(m);

    std::vector<double> row_len(m.rows, 0.0);
    double total = 0;
    for (uint32_t u = 0; u < m.rows; ++u) {
        for (float v : m.row_values(u)) row_len[u] += v;
        total += row_len[u];
    }
    if (total == 0) return;  // every stored value is 0 and stays 0
    double avg_len = total / double(m.rows);

    std::vector<double> idf = inverse_document_frequency(m);
    for (uint32_t u = 0; u < m.rows; ++u) {
        double length_norm = 1 - b + b * row_len[u] / avg_len;
        for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e) {
            double w = m.values[e];
            if (w == 0) continue;  // with k1 = 0 this would be 0/0
            m.values[e] = float(w * (k1 + 1) / (w + k1 * length_norm) * idf[m.indices[e]]);
        }
    }
}

}  // namespace recsys
