// Little-endian byte encoding used by the model format and by partial
// aggregate states. The reader validates every length before it reads.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "context.h"
#include "errors.h"

namespace recsys {

static_assert(std::endian::native == std::endian::little, "little-endian only");

// The model format (model.cpp) that ByteWriter's users write today, and
// that a ByteReader reads unless told otherwise (set_format).
constexpr uint32_t kModelFormatVersion = 4;

// Large arrays are copied in pieces of this size, with a cancel check between.
constexpr uint64_t kCopyPieceBytes = uint64_t(32) << 20;

class ByteWriter {
public:
    // With a context, large appends are copied a piece at a time, polling
    // ctx->check_cancel() in between (a model's arrays reach a gigabyte).
    explicit ByteWriter(const Context* ctx = nullptr) : ctx_(ctx) {}

    template <typename T>
    void put(T v) {
        static_assert(std::is_arithmetic_v<T>);
        append(&v, sizeof v);  // the core only targets little-endian machines
    }
    void put_string(std::string_view s) {
        put<uint32_t>(uint32_t(s.size()));
        append(s.data(), s.size());
    }
    template <typename T>
    void put_array(const std::vector<T>& v) {
        put_array(v.data(), v.size());
    }
    template <typename T>
    void put_array(const T* values, uint64_t count) {
        static_assert(std::is_arithmetic_v<T>);
        put<uint64_t>(count);
        append(values, count * sizeof(T));
    }
    void append(const void* p, size_t n) {
        // A large array gets room for a little more, so that what follows
        // (a checksum) copies nothing again.
        if (buf_.capacity() - buf_.size() < n) buf_.reserve(std::max(2 * buf_.capacity(), buf_.size() + n + 4096));
        for (size_t done = 0; done < n;) {
            if (done > 0 && ctx_) ctx_->check_cancel();
            const size_t used = buf_.size(), piece = std::min<size_t>(n - done, kCopyPieceBytes);
            buf_.resize(used + piece);
            std::memcpy(buf_.data() + used, static_cast<const uint8_t*>(p) + done, piece);
            done += piece;
        }
    }
    // Writes a u8 count of zero bytes, then that many, so that an array put
    // next has its values at an offset (from the start of the writer) that
    // is a multiple of `align` (≤ 128): readers may then view them in place.
    void put_padding_for_array(size_t align) {
        const size_t values_at = size() + 1 + 8;  // after the count byte and the array's length
        const auto pad = uint8_t((align - values_at % align) % align);
        put<uint8_t>(pad);
        static constexpr uint8_t zeros[128] = {};
        append(zeros, pad);
    }
    // Overwrites a value put() earlier at byte offset `at`.
    template <typename T>
    void patch(size_t at, T v) {
        static_assert(std::is_arithmetic_v<T>);
        if (at + sizeof v > buf_.size()) throw Error(ErrorKind::Internal, "ByteWriter::patch out of range");
        std::memcpy(buf_.data() + at, &v, sizeof v);
    }
    std::vector<uint8_t>& bytes() { return buf_; }
    size_t size() const { return buf_.size(); }

private:
    std::vector<uint8_t> buf_;
    const Context* ctx_;
};

class ByteReader {
public:
    // With a context, checks for cancel between pieces of large arrays, as
    // ByteWriter does.
    ByteReader(const uint8_t* data, size_t size, const Context* ctx = nullptr)
        : p_(data), end_(data + size), ctx_(ctx) {}

    template <typename T>
    T get() {
        static_assert(std::is_arithmetic_v<T>);
        T v;
        need(sizeof v);
        std::memcpy(&v, p_, sizeof v);
        p_ += sizeof v;
        return v;
    }
    std::string get_string() {
        uint32_t n = get<uint32_t>();
        need(n);
        std::string s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return s;
    }
    // `max_count` guards against absurd lengths in corrupted input.
    template <typename T>
    std::vector<T> get_array(uint64_t max_count = UINT64_MAX) {
        uint64_t n = get<uint64_t>();
        if (n > max_count || n > remaining() / sizeof(T))
            throw corrupted("model is truncated or corrupted (array length out of range)");
        std::vector<T> v;
        v.reserve(n);  // grown a piece at a time: not zeroed all at once before the first check
        for_each_piece<T>(n, [&](uint64_t done, uint64_t count) {
            v.resize(done + count);
            std::memcpy(v.data() + done, p_, count * sizeof(T));
        });
        return v;
    }
    // Reads an array that must hold `count` values into `out`, with no copy
    // in between.
    template <typename T>
    void get_array_into(T* out, uint64_t count) {
        if (get<uint64_t>() != count || count > remaining() / sizeof(T))
            throw corrupted("model is truncated or corrupted (array length out of range)");
        for_each_piece<T>(count, [&](uint64_t done, uint64_t k) { std::memcpy(out + done, p_, k * sizeof(T)); });
    }
    // Reads an array that must hold `count` values and returns where its
    // values are, without copying them: a view, valid as long as the bytes
    // read. Null (nothing read) when they cannot be viewed: no owner keeps
    // the bytes alive (backing()) or they are not aligned for T; the caller
    // then reads them with get_array_into.
    template <typename T>
    const T* view_array(uint64_t count) {
        static_assert(std::is_arithmetic_v<T>);
        if (!backing_ || remaining() < 8 ||
            reinterpret_cast<uintptr_t>(p_ + 8) % alignof(T) != 0)
            return nullptr;
        if (get<uint64_t>() != count || count > remaining() / sizeof(T))
            throw corrupted("model is truncated or corrupted (array length out of range)");
        const T* values = reinterpret_cast<const T*>(p_);
        p_ += count * sizeof(T);
        return values;
    }
    // Skips `n` bytes that must all be zero (padding).
    void skip_zeros(size_t n) {
        need(n);
        for (size_t i = 0; i < n; ++i)
            if (p_[i] != 0) throw corrupted("model is corrupted (padding)");
        p_ += n;
    }
    // The next `n` bytes, in place, skipped over.
    const uint8_t* take(uint64_t n) {
        need(n);
        const uint8_t* at = p_;
        p_ += n;
        return at;
    }
    size_t remaining() const { return size_t(end_ - p_); }
    const uint8_t* position() const { return p_; }
    const Context* context() const { return ctx_; }
    // Who keeps the bytes read alive, if anyone: set when a model is decoded
    // into a long-lived object that may keep views over them (view_array).
    const std::shared_ptr<const void>& backing() const { return backing_; }
    void set_backing(std::shared_ptr<const void> backing) { backing_ = std::move(backing); }
    // The model format version being read (model.cpp), for payloads whose
    // layout changed with it.
    uint32_t format() const { return format_; }
    void set_format(uint32_t format) { format_ = format; }

private:
    // copy(done, count) takes the next `count` of `n` values from p_; the
    // context is checked between pieces.
    template <typename T, typename Copy>
    void for_each_piece(uint64_t n, Copy copy) {
        static_assert(std::is_arithmetic_v<T>);
        for (uint64_t done = 0; done < n;) {
            if (done > 0 && ctx_) ctx_->check_cancel();
            const uint64_t count = std::min<uint64_t>(n - done, kCopyPieceBytes / sizeof(T));
            copy(done, count);
            p_ += count * sizeof(T);
            done += count;
        }
    }
    void need(size_t n) const {
        if (remaining() < n) throw corrupted("model is truncated or corrupted (unexpected end of data)");
    }
    const uint8_t* p_;
    const uint8_t* end_;
    const Context* ctx_;
    std::shared_ptr<const void> backing_;
    uint32_t format_ = kModelFormatVersion;
};

}  // namespace recsys
