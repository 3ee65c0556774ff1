// X-Twilio-Signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security): pure
// functions over OpenSSL, no sockets or clocks, unit-testable against Twilio's published vector.
//
// The signature is base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)),
// with the POST parameters sorted by name (a repeated name: its values sorted), where url is the
// full public URL Twilio posted to, query string included. When that URL's query carries
// bodySHA256 (JSON bodies), the HMAC covers the URL alone and the body's hex SHA-256 must equal
// bodySHA256.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memoryd::twilio {

using form_params = std::vector<std::pair<std::string, std::string>>;

// base64(HMAC-SHA1(auth_token, url + sorted params)). `params` in any order; a pair repeated
// exactly (same name and value) counts once, as in Twilio's libraries.
std::string compute_signature(std::string_view auth_token, std::string_view url,
                              form_params params);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// The URLs a signature may have been computed over: `url` as given, then with the scheme's
// default port added (":443" for https, ":80" for http) or, when it carries that default port,
// with it removed. Twilio is not consistent about the port. Duplicates are not repeated.
std::vector<std::string> url_variants(std::string_view url);

// The value of `name` in the URL's query string, percent-decoded; empty when absent.
std::string query_value(std::string_view url, std::string_view name);

enum class verdict {
  valid,
  missing,             // no (or an empty) header value
  mismatch,            // no URL variant gives this signature
  body_hash_mismatch,  // bodySHA256 in the URL does not match the body
};

// Form bodies: the signature over a URL variant and the decoded form parameters (repeated
// identical pairs: counted once or each time, both are accepted). When the URL
// has bodySHA256, validates as validate_body does with `raw_body`. Comparisons are constant time.
verdict validate(std::string_view auth_token, std::string_view url, const form_params& params,
                 std::string_view raw_body, std::string_view signature);

// The bodySHA256 variant: the signature over a URL variant alone, and sha256_hex(body) equal to
// the URL's bodySHA256 (missing bodySHA256: body_hash_mismatch).
verdict validate_body(std::string_view auth_token, std::string_view url, std::string_view body,
                      std::string_view signature);

const char* to_string(verdict v);

}  // namespace memoryd::twilio
