// Routing: a parsed request in, exactly one response out through `reply`, possibly later and
// from another thread. Nothing here touches the socket (http/session.cpp does), so tests call
// handle_request directly.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "http/message.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "http/service_api.hpp"

namespace memoryd {

using reply_fn = std::function<void(response)>;

// `t` is parse_target(req.target()); nullopt answers 400. Handlers move the user id and fact id
// out of t->seg.
void handle_request(const request& req, std::optional<target>& t, const server_options& opts,
                    service_api& api, reply_fn reply);

// After each response: requests by route pattern and status, and the time from the complete
// request (or the moment it was refused) to the written response.
void record_http_metrics(route r, unsigned status, std::chrono::steady_clock::duration took);

}  // namespace memoryd
