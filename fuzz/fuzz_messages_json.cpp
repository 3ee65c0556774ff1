// libFuzzer: the JSON bodies of the API (messages, add fact, dead-letter retry).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/request_parsing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = memoryd::parse_messages_json(body, 16);
  if (parsed.error) {
    if (!parsed.messages.empty() || parsed.error->http_status != 400) std::abort();
  } else {
    if (parsed.messages.empty() || parsed.messages.size() > 16) std::abort();
    for (auto& m : parsed.messages) {
      if (m.role != "user" && m.role != "assistant") std::abort();
      if (m.user_id.empty() || m.user_id.size() > memoryd::max_user_id_bytes) std::abort();
      if (!memoryd::is_valid_utf8(m.content) || !memoryd::is_valid_utf8(m.user_id)) std::abort();
    }
  }
  auto fact = memoryd::parse_add_fact_json(body);
  if (!fact.error && (fact.text.empty() || fact.text.size() > memoryd::max_fact_text_bytes))
    std::abort();
  auto retry = memoryd::parse_retry_json(body);
  if (!retry.error && retry.ids.size() > memoryd::max_retry_ids) std::abort();
  return 0;
}
