// Compressed weight matrices (the "compression" and "top_m" parameters):
// a rows x cols float matrix whose rows are stored dense or sparsified to
// their top-m entries, and whose values are stored as float32, float16 or
// int8 with a scale per row.
//
// Error bounds of a decoded value x̂ of x (tests/test_compression.cpp):
//   float16: round to nearest even; |x̂ − x| ≤ 2⁻¹¹·|x| for |x| ≥ 2⁻¹⁴ (the
//            normal range), ≤ 2⁻²⁵ below it. A weight beyond ±65504 is an
//            error (it would become infinite).
//   int8:    q = round(x / s), s = M / 127 (rounded up to 17 significant
//            bits) for M the largest |x| of the row, and x̂ = q·s (exact),
//            so |x̂ − x| ≤ s / 2 ≤ (M / 254)·(1 + 2⁻¹⁶).
// Encoding a decoded dense matrix gives the same bytes again (factor
// models decode once and encode again when written).
//   top_m:   each row keeps its m entries of largest magnitude (ties: the
//            smaller column), the others read as zero.
//
// EASE serves from this representation: the model in memory is the
// compressed one (ease.cpp sums dense float32 and float16 rows in place,
// decodes int8 ones a tile of a basket's rows at a time). Factor models
// decode once (below).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "byte_io.h"
#include "context.h"
#include "params.h"

namespace recsys {

enum class Encoding : uint8_t { Float32 = 0, Float16 = 1, Int8 = 2 };

// The parameters, declared once here and listed by the algorithms that
// compress: "compression" ("none" | "float16" | "int8"; als and bpr:
// kCompression, default none; ease: kEaseCompression, default float16) and
// "top_m" (ease).
extern const ParamSpec kCompression;
extern const ParamSpec kEaseCompression;
extern const ParamSpec kTopM;
Encoding encoding_of(const std::string& compression);  // a kCompression choice

uint16_t to_half(float x);
float from_half(uint16_t h);

class WeightRows {
public:
    WeightRows() = default;
    // Compresses a dense row-major matrix; top_m 0 (or ≥ cols) keeps every
    // entry. Throws invalid_input if a value does not fit float16.
    static WeightRows encode(const float* dense, uint64_t rows, uint64_t cols, Encoding encoding, uint64_t top_m,
                             const Context& ctx);
    // A dense float32 matrix as it is: owned, or viewed in bytes `backing` keeps alive.
    static WeightRows dense_floats(std::unique_ptr<float[]> values, uint64_t rows, uint64_t cols);
    static WeightRows dense_floats(const float* values, uint64_t rows, uint64_t cols,
                                   std::shared_ptr<const void> backing);

    uint64_t rows() const { return rows_; }
    uint64_t cols() const { return cols_; }
    Encoding encoding() const { return encoding_; }
    bool sparse() const { return kept_ < cols_; }
    uint64_t kept() const { return kept_; }  // entries per row
    // The values when dense float32 (scored in place), else null.
    const float* floats() const { return encoding_ == Encoding::Float32 && !sparse() ? floats_at(0) : nullptr; }
    // The values' float16 bits when dense float16 (scored in place, widened
    // as they are read: dense::sum_half_rows), else null.
    const uint16_t* halves() const {
        return encoding_ == Encoding::Float16 && !sparse() ? static_cast<const uint16_t*>(values_) : nullptr;
    }
    // The columns of row r's entries, ascending (sparse only).
    std::span<const uint32_t> row_columns(uint64_t r) const { return {indices_.data() + r * kept_, kept_}; }
    // Decodes entries [first, first + count) of row r (columns, if dense).
    void decode(uint64_t r, uint64_t first, uint64_t count, float* out) const;
    float at(uint64_t r, uint64_t entry) const {
        float v;
        decode(r, entry, 1, &v);
        return v;
    }
    // The whole matrix dense, row-major (tests, and the uncompressed reference).
    std::vector<float> dense() const;
    uint64_t memory_bytes() const;

    // u8 encoding | u64 kept | [sparse: u32[] columns] | [int8: f32[] row
    // scales] | padding to 64 | values (f32, f16 or i8 []).
    void write(ByteWriter& w) const;
    static WeightRows read(ByteReader& r, uint64_t rows, uint64_t cols);

private:
    const float* floats_at(uint64_t i) const { return static_cast<const float*>(values_) + i; }
    uint64_t rows_ = 0, cols_ = 0, kept_ = 0;
    Encoding encoding_ = Encoding::Float32;
    std::vector<uint32_t> indices_;  // sparse: rows x kept columns
    std::vector<float> row_scale_;   // int8: each row's scale s
    // rows x kept values, kept alive by keeper_.
    // Not a vector: making one zeroes it first (a second per gigabyte).
    const void* values_ = nullptr;
    std::shared_ptr<const void> keeper_;  // owns the values, or the bytes they are viewed in
};

// Factor matrices (ALS, BPR), rows x cols row-major floats. A factor model
// holds its factors decoded (its fold-in solves, explanations and updates
// work in float32), so compression saves disk and load time there, not
// memory. quantise() applies `encoding` in place (encoded and decoded: what
// the model stores and serves); write_factors() writes them as WeightRows
// (format 3) and read_factors() reads them back into `out`, returning the
// encoding (corrupted if sparse).
void quantise(float* values, uint64_t rows, uint64_t cols, Encoding encoding);
void write_factors(ByteWriter& w, const float* values, uint64_t rows, uint64_t cols, Encoding encoding);
Encoding read_factors(ByteReader& r, float* out, uint64_t rows, uint64_t cols);

}  // namespace recsys
