// expect_error(f, kind): runs f, expects a recsys::Error of `kind`, and
// returns it for closer checks of its message and hint.
#pragma once

#include <gtest/gtest.h>

#include <exception>

#include "errors.h"

namespace recsys {

template <typename F>
Error expect_error(F&& f, ErrorKind kind = ErrorKind::InvalidInput) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected exception type: " << e.what();
        return Error(ErrorKind::Internal, "wrong exception type");
    }
    ADD_FAILURE() << "expected a recsys::Error, nothing was thrown";
    return Error(ErrorKind::Internal, "nothing thrown");
}

}  // namespace recsys
