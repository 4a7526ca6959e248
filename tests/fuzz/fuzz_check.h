// What the fuzz targets (tests/fuzz/fuzz_*.cpp) check an outcome with.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "errors.h"

namespace recsys::fuzz {

// A finding: libFuzzer takes the abort for a crash and keeps the input.
[[noreturn]] inline void fail(const std::string& what, const std::string& detail = {}) {
    std::fprintf(stderr, "%s %s\n", what.c_str(), detail.c_str());
    std::abort();
}

// Runs f, which may refuse its input with a recsys::Error of `kind`, and
// with no other error: true if it returned, false if it refused.
template <typename F>
bool accepts(F&& f, ErrorKind kind) {
    try {
        f();
        return true;
    } catch (const Error& e) {
        if (e.kind() != kind) fail("refused with an error of another kind:", e.what());
        return false;
    }
}

// A call that may refuse its arguments, as the glue expects: with InvalidInput.
template <typename F>
void may_refuse(F&& f) {
    accepts(f, ErrorKind::InvalidInput);
}

}  // namespace recsys::fuzz
