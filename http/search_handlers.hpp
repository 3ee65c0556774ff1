// The read path for the chat: GET /v1/users/{id}/facts/search and GET /v1/users/{id}/context
// (docs/API.md). handle_request (handlers.cpp) has checked the token, the method and the user
// id before these run.
#pragma once

#include <boost/url/url_view.hpp>

#include <string>

#include "http/handlers.hpp"

namespace memoryd {

void handle_search(const boost::urls::url_view& url, std::string user_id, service_api& api,
                   reply_fn reply);
void handle_context(const boost::urls::url_view& url, std::string user_id, service_api& api,
                    reply_fn reply);

}  // namespace memoryd
