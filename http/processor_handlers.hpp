// The processor's lists for operators and the dashboard: GET /v1/processor/dead (a page of
// dead letters, with a cursor) and GET /v1/processor/history (the sampled time series).
// handle_request (handlers.cpp) has checked the token and the method before these run.
#pragma once

#include <boost/url/url_view.hpp>

#include <string>

#include "http/handlers.hpp"

namespace memoryd {

void handle_dead_letters(const boost::urls::url_view& url, service_api& api, reply_fn reply);
void handle_processor_history(const boost::urls::url_view& url, service_api& api,
                              reply_fn reply);

// GET /v1/processor/history's body for `w`, over the last `window_ms`, in at most `points`
// steps (docs/API.md). Exposed for tests.
std::string render_history_window(const history_window& w, millis window_ms, int points);

// A duration: milliseconds, or a number with s, m or h ("90s", "15m", "24h"); nullopt when
// it is neither.
std::optional<millis> parse_duration_ms(std::string_view s);

}  // namespace memoryd
