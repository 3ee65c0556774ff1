// libFuzzer: Twilio signature canonicalization (URL variants, query values, sorted params,
// HMAC) and validation. Input: url \n token \n signature \n form body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request_parsing.hpp"
#include "http/twilio_signature.hpp"

namespace {

std::string_view next_line(std::string_view& in) {
  auto pos = in.find('\n');
  auto line = in.substr(0, pos);
  in = pos == std::string_view::npos ? std::string_view() : in.substr(pos + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tw = memoryd::twilio;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto url = next_line(in);
  auto token = next_line(in);
  auto signature = next_line(in);
  auto body = in;

  auto variants = tw::url_variants(url);
  if (variants.empty() || variants.size() > 3) std::abort();
  tw::query_value(url, "bodySHA256");
  tw::query_value(url, std::string_view(body.data(), body.size() < 16 ? body.size() : 16));
  tw::form_params params;
  if (auto form = memoryd::parse_form(body)) params = std::move(*form);
  auto sig = tw::compute_signature(token, url, params);
  // A signature computed over the URL as given validates.
  if (tw::query_value(url, "bodySHA256").empty()) {
    if (tw::validate(token, url, params, body, sig) != tw::verdict::valid) std::abort();
  }
  tw::validate(token, url, params, body, signature);
  tw::validate_body(token, url, body, signature);
  tw::to_string(tw::validate_body(token, url, body, sig));
  return 0;
}
