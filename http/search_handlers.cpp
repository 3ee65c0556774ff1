#include "http/search_handlers.hpp"

#include "http/json_render.hpp"
#include "http/responses.hpp"
#include "http/search_params.hpp"

namespace memoryd {
namespace {

namespace http = boost::beast::http;

query_params params_of(const boost::urls::url_view& url) {
  query_params out;
  for (auto p : url.params()) out.emplace_back(p.key, p.value);
  return out;
}

}  // namespace

void handle_search(const boost::urls::url_view& url, std::string user_id, service_api& api,
                   reply_fn reply) {
  auto parsed = parse_search_params(params_of(url), std::move(user_id));
  if (parsed.error) return reply(failure_response(*parsed.error));
  std::string uid = parsed.request.user_id, query = parsed.request.query;
  api.search_facts(
      std::move(parsed.request), [uid = std::move(uid), query = std::move(query),
                                  reply = std::move(reply)](outcome<std::vector<scored_fact>> o) {
        if (!o.ok()) return reply(failure_response(o.failure));
        reply(make_response(http::status::ok, kJson, render_search(uid, query, *o.value)));
      });
}

void handle_context(const boost::urls::url_view& url, std::string user_id, service_api& api,
                    reply_fn reply) {
  auto parsed = parse_context_params(params_of(url), std::move(user_id));
  if (parsed.error) return reply(failure_response(*parsed.error));
  std::string uid = parsed.request.user_id, query = parsed.request.query;
  api.context(std::move(parsed.request), [uid = std::move(uid), query = std::move(query),
                                          reply = std::move(reply)](outcome<memory_context> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_context(uid, query, *o.value)));
  });
}

}  // namespace memoryd
