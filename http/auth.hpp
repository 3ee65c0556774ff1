// Who may call what (DESIGN §5, docs/SECURITY.md): the scope each route needs and the scopes
// a request's bearer token grants. Socket-free, like the handlers.
#pragma once

#include <string_view>

#include "http/message.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"

namespace memoryd {

// Scopes as bits. admin holds every scope. scope_any: any configured token will do (an
// unknown /v1 path or a wrong method: the answer, 404 or 405, says nothing to strangers).
enum scope_bits : unsigned {
  scope_none = 0,
  scope_ingest = 1u << 0,
  scope_read = 1u << 1,
  scope_metrics = 1u << 2,
  scope_admin_only = 1u << 3,
  scope_admin = scope_ingest | scope_read | scope_metrics | scope_admin_only,
  scope_any = 1u << 4,
};

// "ingest", "read", "metrics", "admin"; scope_none for any other name.
unsigned scope_of_name(std::string_view name);
// The name a 403 gives for a required scope.
const char* scope_name(unsigned required);

// True when any token is configured: then /v1/* needs one.
bool tokens_configured(const server_options& opts);

// What a request for `r` with `method` needs: scope_none (public: health probes, the webhooks,
// which have their own signature, and /metrics unless metrics_need_token), one scope bit, or
// scope_any.
unsigned required_scope(route r, boost::beast::http::verb method, bool under_v1,
                        const server_options& opts);

// The scopes the request's "Authorization: Bearer" token grants (the union over every
// configured entry with that token), scope_none when it names no configured token. Every
// configured token is compared, each in constant time over SHA-256 digests, so neither the
// answer nor its timing says which token came close or how long a token is.
unsigned granted_scopes(const request& req, const server_options& opts);

}  // namespace memoryd
