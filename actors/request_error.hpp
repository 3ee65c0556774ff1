// Errors an actor raises for the caller's mistakes: the HTTP layer answers them with a 4xx
// (see ingress_api.cpp). Every other error (a timeout, a storage failure) is "unavailable".
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace memoryd {

enum class request_error : std::uint8_t { invalid_input = 1, not_found = 2 };

inline caf::error make_request_error(request_error code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), caf::atom("memoryd"),
                    caf::make_message(std::move(message)));
}

inline bool is_request_error(const caf::error& e, request_error code) {
  return e.category() == caf::atom("memoryd") && e.code() == static_cast<std::uint8_t>(code);
}

}  // namespace memoryd
