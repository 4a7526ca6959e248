// Little-endian byte encoding used by the model format and by partial
// aggregate states. The reader validates every length before it reads.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "errors.h"

namespace recsys {

static_assert(std::endian::native == std::endian::little, "little-endian only");

class ByteWriter {
public:
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
        static_assert(std::is_arithmetic_v<T>);
        put<uint64_t>(v.size());
        append(v.data(), v.size() * sizeof(T));
    }
    void append(const void* p, size_t n) {
        const size_t used = buf_.size();
        buf_.resize(used + n);
        if (n) std::memcpy(buf_.data() + used, p, n);  // memcpy from null is undefined, even of 0 bytes
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
};

class ByteReader {
public:
    ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

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
        std::vector<T> v(n);
        if (n) std::memcpy(v.data(), p_, n * sizeof(T));  // an empty vector's data() may be null
        p_ += n * sizeof(T);
        return v;
    }
    size_t remaining() const { return size_t(end_ - p_); }
    const uint8_t* position() const { return p_; }

private:
    void need(size_t n) const {
        if (remaining() < n) throw corrupted("model is truncated or corrupted (unexpected end of data)");
    }
    const uint8_t* p_;
    const uint8_t* end_;
};

}  // namespace recsys
