#include "context.h"

#include <cstdio>

#include "errors.h"

namespace recsys {

void Context::reserve(uint64_t bytes, const std::string& what, const std::string& hint) const {
    if (bytes <= memory_limit_bytes) return;
    auto mb = [](uint64_t b) { return std::to_string((b >> 20) + ((b & 0xFFFFF) != 0)) + " MB"; };
    throw Error(ErrorKind::ResourceLimit,
                what + " needs " + mb(bytes) + ", more than the memory limit of " + mb(memory_limit_bytes),
                hint.empty() ? "Raise recsys.memory_limit, or train on less data." : hint);
}

}  // namespace recsys
