// Exceptions thrown by the core. The PostgreSQL glue maps each kind to an
// SQL error code; nothing else should leave the core.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace recsys {

enum class ErrorKind {
    InvalidInput,    // bad argument or data supplied by the user
    Corrupted,       // a model bytea that fails validation
    ResourceLimit,   // an allocation would exceed the configured limit
    Internal,        // a bug: should never happen
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, std::string hint = {})
        : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
    ErrorKind kind() const noexcept { return kind_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    ErrorKind kind_;
    std::string hint_;
};

inline Error invalid_input(const std::string& message, std::string hint = {}) {
    return Error(ErrorKind::InvalidInput, message, std::move(hint));
}
inline Error corrupted(const std::string& message) {
    return Error(ErrorKind::Corrupted, message);
}

// Thrown by a cancel check when the caller asked to stop. The glue turns it
// back into PostgreSQL's own interrupt handling.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "canceled"; }
};

}  // namespace recsys
