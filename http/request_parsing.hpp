// Pure functions from HTTP request parts to typed requests, unit-testable without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/message.hpp"
#include "http/service_api.hpp"

namespace memoryd {

// Longest user id accepted anywhere (JSON field, Twilio From, URL path), in bytes.
inline constexpr std::size_t max_user_id_bytes = 256;

// application/x-www-form-urlencoded: name/value pairs in order ('+' is space, %XX decoded).
// Returns nullopt on malformed percent escapes.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body);

bool is_valid_utf8(std::string_view s);
// Text memoryd stores: valid UTF-8 without NUL characters (PostgreSQL's text cannot hold a
// NUL, and in SQLite it would cut the text short for most readers).
bool is_storable_text(std::string_view s);

// A Twilio webhook form to a message: From (whatsapp: prefix -> channel "whatsapp", prefix
// stripped from the user id; else "sms"), Body, MessageSid (external_id). Error text
// names the bad field.
struct parsed_messages {
  std::vector<new_message> messages;
  std::optional<api_failure> error;  // 400 with a code and message
};
parsed_messages parse_twilio_form(std::string_view body);

// POST /v1/messages: one {user_id, role, content, channel?, external_id?, created_at?} or
// {"messages": [...]}. Every field type checked; a bad message rejects the whole request.
parsed_messages parse_messages_json(std::string_view body, std::size_t max_messages = 1000);

// POST /v1/users/{id}/facts: {"text": 1..max_fact_text_bytes of UTF-8, not blank,
// "category"?: one of fact_category::all, default "other"}.
inline constexpr std::size_t max_fact_text_bytes = 300;
struct parsed_fact {
  std::string text;
  std::string category;
  std::optional<api_failure> error;
};
parsed_fact parse_add_fact_json(std::string_view body);

// POST /v1/processor/dead/retry: an empty body or {} (every dead message), or
// {"ids": [1..max_retry_ids non-empty strings]}.
inline constexpr std::size_t max_retry_ids = 1000;
struct parsed_retry {
  std::vector<std::string> ids;  // empty: all
  std::optional<api_failure> error;
};
parsed_retry parse_retry_json(std::string_view body);

// A whole string of decimal digits (optionally signed) as an integer; nullopt otherwise.
std::optional<std::int64_t> parse_integer(std::string_view s);

// "+15551234567" -> "***4567": what may appear in info logs.
std::string redact_user_id(std::string_view user_id);

}  // namespace memoryd
