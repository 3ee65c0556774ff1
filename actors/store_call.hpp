// A store call made by a store-owning actor (persistence, fact_writer): an exception from the
// store becomes an error reply (the store changed nothing) and a log line, never a dead actor.
#pragma once

#include <caf/error.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>
#include <caf/unit.hpp>

#include <exception>
#include <string>
#include <type_traits>

#include "core/log.hpp"

namespace memoryd {

inline caf::error storage_error(const std::exception& e) {
  return caf::make_error(caf::sec::runtime_error, std::string("storage: ") + e.what());
}

template <class T>
struct store_call_result {
  using type = caf::result<T>;
};
template <class T>
struct store_call_result<caf::result<T>> {  // f decides its own error replies too
  using type = caf::result<T>;
};

// `db` names the database in the log line ("conversation", "memory").
template <class F, class R = std::invoke_result_t<F>>
typename store_call_result<R>::type store_call(const char* db, F&& f) {
  try {
    if constexpr (std::is_void_v<R>) {
      f();
      return caf::unit;
    } else {
      return f();
    }
  } catch (const std::exception& e) {
    log::error("storage_error", {{"db", db}, {"error", e.what()}});
    return storage_error(e);
  }
}

}  // namespace memoryd
