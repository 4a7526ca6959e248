#include "compression.h"

#include <Eigen/Core>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <numeric>

#include "errors.h"
#include "parallel.h"

namespace recsys {

const ParamSpec kCompression{"compression", ParamType::Choice, "\"none\"", 0, 0, "none|float16|int8", "",
                             "store the factors as float16 (2 bytes) or int8 with a scale per user or item (1 byte); "
                             "none: float32"};
// EASE's default is float16: half the bytes to store, fetch and read per
// recommendation (a cold recommend() is mostly fetching them), for the same
// accuracy (README, "Compressed models").
const ParamSpec kEaseCompression{"compression", ParamType::Choice, "\"float16\"", 0, 0, "none|float16|int8", "",
                                 "store the weights as float16 (2 bytes), int8 with a scale per item (1 byte) or "
                                 "none (float32)"};
const ParamSpec kTopM{"top_m", ParamType::Int, "0", 0, UINT32_MAX, "", "",
                      "keep only the m weights of largest magnitude per item (a sparse model); 0 keeps all"};

Encoding encoding_of(const std::string& compression) {
    if (compression == "float16") return Encoding::Float16;
    if (compression == "int8") return Encoding::Int8;
    return Encoding::Float32;
}

uint16_t to_half(float x) { return Eigen::half(x).x; }
float from_half(uint16_t h) { return float(Eigen::half(Eigen::half_impl::raw_uint16_to_half(h))); }

namespace {

size_t value_bytes(Encoding e) { return e == Encoding::Float32 ? 4 : e == Encoding::Float16 ? 2 : 1; }

// float16 to float32 (exact either way): 8 at a time by F16C where the CPU
// has it (every AVX2 CPU does; compilers disagree on naming "f16c" to
// __builtin_cpu_supports), else one by one in software.
__attribute__((target("avx2,f16c"))) void widen_f16c(const uint16_t* h, uint64_t n, float* out) {
    uint64_t k = 0;
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + k))));
    for (; k < n; ++k) out[k] = _cvtsh_ss(h[k]);
}
void widen_plain(const uint16_t* h, uint64_t n, float* out) {
    for (uint64_t k = 0; k < n; ++k) out[k] = from_half(h[k]);
}
const auto widen = [] {
    __builtin_cpu_init();  // may run before the runtime's own initialiser
    return __builtin_cpu_supports("avx2") ? widen_f16c : widen_plain;
}();

// No float16 infinity or NaN (all exponent bits set) among h[0, n): a loop
// without an early exit, which the compiler vectorises (a cold load checks
// every weight of the model).
__attribute__((target_clones("arch=x86-64-v3", "default"))) bool all_finite(const uint16_t* h, uint64_t n) {
    uint16_t bad = 0;
    for (uint64_t k = 0; k < n; ++k) bad |= uint16_t((h[k] & 0x7c00) == 0x7c00);
    return bad == 0;
}

// x̂ = q·s, vectorised.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void int8s(const uint8_t* q, uint64_t n, float scale,
                                                                        float* out) {
    for (uint64_t k = 0; k < n; ++k) out[k] = float(int8_t(q[k])) * scale;
}

// s rounded up to 17 significant bits, so that q·s (|q| ≤ 127: 7 bits) and
// 127·s are exact floats: a decoded row then encodes to the same bytes.
float coarse_scale(float s) {
    if (!(s > 0) || !std::isfinite(s)) return s;
    int e;
    const float f = std::frexp(s, &e);  // s = f·2^e, f in [0.5, 1)
    return std::ldexp(std::ceil(std::ldexp(f, 17)), e - 17);
}

std::shared_ptr<const void> own(uint8_t* p) {
    return std::shared_ptr<const void>(p, [](const void* q) { delete[] static_cast<const uint8_t*>(q); });
}

}  // namespace

WeightRows WeightRows::dense_floats(std::unique_ptr<float[]> values, uint64_t rows, uint64_t cols) {
    float* p = values.release();
    return dense_floats(p, rows, cols,
                        std::shared_ptr<const void>(p, [](const void* q) { delete[] static_cast<const float*>(q); }));
}

WeightRows WeightRows::dense_floats(const float* values, uint64_t rows, uint64_t cols,
                                    std::shared_ptr<const void> backing) {
    WeightRows w;
    w.rows_ = rows;
    w.cols_ = w.kept_ = cols;
    w.values_ = values;
    w.keeper_ = std::move(backing);
    return w;
}

WeightRows WeightRows::encode(const float* dense, uint64_t rows, uint64_t cols, Encoding encoding, uint64_t top_m,
                              const Context& ctx) {
    WeightRows w;
    w.rows_ = rows;
    w.cols_ = cols;
    w.encoding_ = encoding;
    w.kept_ = top_m == 0 ? cols : std::min(top_m, cols);
    const uint64_t n = rows * w.kept_;
    if (w.sparse()) w.indices_.resize(n);
    if (encoding == Encoding::Int8) w.row_scale_.resize(rows);
    uint8_t* values = new uint8_t[n * value_bytes(encoding)];
    w.keeper_ = own(values);
    w.values_ = values;
    std::atomic<bool> fits{true};
    parallel_for(rows, ctx, [&](uint64_t begin, uint64_t end) {
        std::vector<uint32_t> order(cols);
        std::vector<float> kept(w.kept_);
        for (uint64_t r = begin; r < end; ++r) {
            ctx.cancel_point();
            const float* row = dense + r * cols;
            if (w.sparse()) {
                std::iota(order.begin(), order.end(), 0u);
                std::nth_element(order.begin(), order.begin() + int64_t(w.kept_), order.end(), [&](uint32_t a, uint32_t b) {
                    const float fa = std::fabs(row[a]), fb = std::fabs(row[b]);
                    return fa > fb || (fa == fb && a < b);
                });
                std::sort(order.begin(), order.begin() + int64_t(w.kept_));
                std::copy_n(order.begin(), w.kept_, w.indices_.begin() + int64_t(r * w.kept_));
                for (uint64_t k = 0; k < w.kept_; ++k) kept[k] = row[order[k]];
            } else {
                std::copy_n(row, cols, kept.begin());
            }
            const uint64_t at = r * w.kept_;
            switch (encoding) {
                case Encoding::Float32:
                    std::memcpy(values + at * 4, kept.data(), w.kept_ * 4);
                    break;
                case Encoding::Float16:
                    for (uint64_t k = 0; k < w.kept_; ++k) {
                        const uint16_t h = to_half(kept[k]);
                        if (!std::isfinite(from_half(h))) fits = false;
                        std::memcpy(values + (at + k) * 2, &h, 2);
                    }
                    break;
                case Encoding::Int8: {
                    float m = 0;
                    for (float v : kept) m = std::max(m, std::fabs(v));
                    const float scale = coarse_scale(m / 127.0f);
                    w.row_scale_[r] = scale;
                    for (uint64_t k = 0; k < w.kept_; ++k) {
                        const long q = scale > 0 ? std::lround(double(kept[k]) / double(scale)) : 0;
                        values[at + k] = uint8_t(int8_t(std::clamp(q, -127L, 127L)));
                    }
                    break;
                }
            }
        }
    }, 64);
    if (!fits)
        throw invalid_input("a weight is beyond float16's range (±65504), so \"compression\": \"float16\" cannot store it",
                            "Use \"compression\": \"int8\", which scales each item's weights.");
    return w;
}

void WeightRows::decode(uint64_t r, uint64_t first, uint64_t count, float* out) const {
    const uint64_t at = r * kept_ + first;
    switch (encoding_) {
        case Encoding::Float32:
            std::memcpy(out, floats_at(at), count * 4);
            break;
        case Encoding::Float16:
            widen(static_cast<const uint16_t*>(values_) + at, count, out);
            break;
        case Encoding::Int8:
            int8s(static_cast<const uint8_t*>(values_) + at, count, row_scale_[r], out);
            break;
    }
}

std::vector<float> WeightRows::dense() const {
    std::vector<float> d(rows_ * cols_, 0.0f), row(kept_);
    for (uint64_t r = 0; r < rows_; ++r) {
        decode(r, 0, kept_, row.data());
        for (uint64_t k = 0; k < kept_; ++k) d[r * cols_ + (sparse() ? row_columns(r)[k] : k)] = row[k];
    }
    return d;
}

uint64_t WeightRows::memory_bytes() const {
    return rows_ * kept_ * value_bytes(encoding_) + indices_.size() * 4 + row_scale_.size() * 4;
}

void WeightRows::write(ByteWriter& w) const {
    w.put<uint8_t>(uint8_t(encoding_));
    w.put<uint64_t>(kept_);
    if (sparse()) w.put_array(indices_);
    if (encoding_ == Encoding::Int8) w.put_array(row_scale_);
    w.put_padding_for_array(64);
    const uint64_t n = rows_ * kept_;
    switch (encoding_) {
        case Encoding::Float32: w.put_array(floats_at(0), n); break;
        case Encoding::Float16: w.put_array(static_cast<const uint16_t*>(values_), n); break;
        case Encoding::Int8: w.put_array(static_cast<const int8_t*>(values_), n); break;
    }
}

WeightRows WeightRows::read(ByteReader& r, uint64_t rows, uint64_t cols) {
    WeightRows w;
    w.rows_ = rows;
    w.cols_ = cols;
    const uint8_t encoding = r.get<uint8_t>();
    if (encoding > uint8_t(Encoding::Int8)) throw corrupted("model is corrupted (weight encoding)");
    w.encoding_ = Encoding(encoding);
    w.kept_ = r.get<uint64_t>();
    if (w.kept_ > cols || (w.kept_ == 0 && cols > 0)) throw corrupted("model is corrupted (weights kept per row)");
    const size_t bytes = value_bytes(w.encoding_);
    if (rows != 0 && w.kept_ > r.remaining() / bytes / rows) throw corrupted("model is corrupted (weight matrix size)");
    const uint64_t n = rows * w.kept_;
    if (w.sparse()) {
        w.indices_ = r.get_array<uint32_t>(n);
        if (w.indices_.size() != n) throw corrupted("model is corrupted (sparse weight columns)");
        for (uint64_t i = 0; i < n; ++i)
            if (w.indices_[i] >= cols || (i % w.kept_ != 0 && w.indices_[i] <= w.indices_[i - 1]))
                throw corrupted("model is corrupted (sparse weight columns)");
    }
    if (w.encoding_ == Encoding::Int8) {
        w.row_scale_ = r.get_array<float>(rows);
        if (w.row_scale_.size() != rows) throw corrupted("model is corrupted (int8 weight scales)");
        for (float m : w.row_scale_)
            if (!(std::isfinite(m) && m >= 0)) throw corrupted("model is corrupted (int8 weight scales)");
    }
    const uint8_t pad = r.get<uint8_t>();
    if (pad >= 64) throw corrupted("model is corrupted (weight padding)");
    r.skip_zeros(pad);
    auto take = [&](auto tag) {
        using T = decltype(tag);
        if (const T* view = r.view_array<T>(n)) {
            w.values_ = view;
            w.keeper_ = r.backing();
            return;
        }
        auto* owned = new uint8_t[n * sizeof(T)];
        w.keeper_ = own(owned);
        w.values_ = owned;
        r.get_array_into(reinterpret_cast<T*>(owned), n);
    };
    switch (w.encoding_) {
        case Encoding::Float32: take(float{}); break;
        case Encoding::Float16: take(uint16_t{}); break;
        case Encoding::Int8: take(int8_t{}); break;
    }
    if (w.encoding_ == Encoding::Float16 && !all_finite(static_cast<const uint16_t*>(w.values_), n))
        throw corrupted("model is corrupted (float16 weight not finite)");
    return w;
}

void quantise(float* values, uint64_t rows, uint64_t cols, Encoding encoding) {
    if (encoding == Encoding::Float32) return;
    const auto decoded = WeightRows::encode(values, rows, cols, encoding, 0, Context{}).dense();
    std::copy(decoded.begin(), decoded.end(), values);
}

void write_factors(ByteWriter& w, const float* values, uint64_t rows, uint64_t cols, Encoding encoding) {
    if (encoding == Encoding::Float32) WeightRows::dense_floats(values, rows, cols, nullptr).write(w);
    else WeightRows::encode(values, rows, cols, encoding, 0, Context{}).write(w);
}

Encoding read_factors(ByteReader& r, float* out, uint64_t rows, uint64_t cols) {
    const WeightRows w = WeightRows::read(r, rows, cols);
    if (w.sparse()) throw corrupted("model is corrupted (sparse factors)");
    for (uint64_t row = 0; row < rows; ++row) w.decode(row, 0, cols, out + row * cols);
    return w.encoding();
}

}  // namespace recsys
