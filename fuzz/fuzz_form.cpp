// libFuzzer: the form decoder and the Twilio webhook form to messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/request_parsing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto form = memoryd::parse_form(body);
  if (form) {
    for (auto& [name, value] : *form) {
      // Decoding never grows a component.
      if (name.size() > size || value.size() > size) std::abort();
    }
  }
  auto parsed = memoryd::parse_twilio_form(body);
  if (parsed.error) {
    if (!parsed.messages.empty() || parsed.error->http_status != 400) std::abort();
  } else {
    if (!form) std::abort();  // a form the decoder rejects cannot become a message
    for (auto& m : parsed.messages) {
      if (m.user_id.empty() || m.user_id.size() > memoryd::max_user_id_bytes) std::abort();
      if (!memoryd::is_valid_utf8(m.content) || !memoryd::is_valid_utf8(m.user_id)) std::abort();
    }
  }
  memoryd::is_valid_utf8(body);
  memoryd::redact_user_id(body);
  return 0;
}
