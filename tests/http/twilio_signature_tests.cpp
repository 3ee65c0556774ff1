// X-Twilio-Signature computation and validation against Twilio's published vectors.
//
// The vectors are those of Twilio's own library tests (twilio-php/twilio-python
// RequestValidatorTest: token 12345, URL https://mycompany.com/myapp.php?foo=1&bar=2, Caller and
// From +14158675309). Each was also recomputed with the openssl command line, e.g. for the
// published form vector:
//   D='CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212'
//   printf '%s' "https://mycompany.com/myapp.php?foo=1&bar=2$D" |
//     openssl dgst -sha1 -hmac 12345 -binary | base64        -> RSOYDt4T1cUTdK1PDd93/VVr8B8=
// the body hash:
//   printf '%s' '{"property": "value", "boolean": true}' | openssl dgst -sha256 -r
//     -> 0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620
// and the body variant (the URL with &bodySHA256=<that hash>, no parameters):
//   printf '%s' 'https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7...6620' |
//     openssl dgst -sha1 -hmac 12345 -binary | base64        -> a9nBmqA0ju/hNViExpshrM61xv4=
// (The issue quoted Caller/From as +12349013030: with those numbers the signature is
// 0/KCTR6DLpKmkAf8muzZqo1nDgQ=, not Twilio's published RSOYDt4T1cUTdK1PDd93/VVr8B8=.)
#include <catch2/catch.hpp>

#include <cctype>

#include "http/twilio_signature.hpp"

using namespace memoryd;
using namespace memoryd::twilio;

namespace {

const std::string kToken = "12345";
const std::string kUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const std::string kSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

form_params published_params() {
  // Deliberately not in sorted order.
  return {{"To", "+18005551212"},
          {"Digits", "1234"},
          {"CallSid", "CA1234567890ABCDE"},
          {"From", "+14158675309"},
          {"Caller", "+14158675309"}};
}

const std::string kBody = R"({"property": "value", "boolean": true})";
const std::string kBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const std::string kBodySignature = "a9nBmqA0ju/hNViExpshrM61xv4=";

}  // namespace

TEST_CASE("twilio: the published vector is computed and validated") {
  CHECK(compute_signature(kToken, kUrl, published_params()) == kSignature);
  CHECK(validate(kToken, kUrl, published_params(), "", kSignature) == verdict::valid);
}

TEST_CASE("twilio: the numbers quoted in the issue give a different signature") {
  form_params p = {{"CallSid", "CA1234567890ABCDE"},
                   {"Caller", "+12349013030"},
                   {"Digits", "1234"},
                   {"From", "+12349013030"},
                   {"To", "+18005551212"}};
  CHECK(compute_signature(kToken, kUrl, p) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  CHECK(validate(kToken, kUrl, p, "", kSignature) == verdict::mismatch);
}

TEST_CASE("twilio: a tampered parameter a wrong token a changed URL or no header fail") {
  auto tampered = published_params();
  tampered[1].second = "9999";
  CHECK(validate(kToken, kUrl, tampered, "", kSignature) == verdict::mismatch);
  auto extra = published_params();
  extra.emplace_back("Extra", "");
  CHECK(validate(kToken, kUrl, extra, "", kSignature) == verdict::mismatch);
  auto missing = published_params();
  missing.pop_back();
  CHECK(validate(kToken, kUrl, missing, "", kSignature) == verdict::mismatch);
  CHECK(validate("54321", kUrl, published_params(), "", kSignature) == verdict::mismatch);
  CHECK(validate(kToken, kUrl + "&baz=3", published_params(), "", kSignature) == verdict::mismatch);
  CHECK(validate(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2", published_params(), "",
                 kSignature) == verdict::mismatch);
  CHECK(validate(kToken, kUrl, published_params(), "", "") == verdict::missing);
  CHECK(validate(kToken, kUrl, published_params(), "", "FAIL") == verdict::mismatch);
  CHECK(validate(kToken, kUrl, published_params(), "", kSignature.substr(0, 27)) ==
        verdict::mismatch);
  // A value moved to another name.
  auto moved = published_params();
  moved[1] = {"Digits", ""};
  moved.emplace_back("Digits2", "1234");
  CHECK(validate(kToken, kUrl, moved, "", kSignature) == verdict::mismatch);
}

TEST_CASE("twilio: repeated names sort their values and identical pairs count once") {
  form_params p = {{"Sid", "CA123"},
                   {"SidAccount", "AC123"},
                   {"Digits", "5678"},
                   {"Digits", "1234"},
                   {"Digits", "1234"}};
  // twilio-php testValidateWithArrayAndDuplicates.
  CHECK(compute_signature(kToken, kUrl, p) == "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  CHECK(validate(kToken, kUrl, p, "", "IK+Dwps556ElfBT0I3Rgjkr1wJU=") == verdict::valid);
  // The same pairs counted each time ("Digits1234Digits1234Digits5678..."): also accepted.
  CHECK(validate(kToken, kUrl, p, "", "tM//N+MVWOh7+ol2z8YCNxSY0Eg=") == verdict::valid);
  // Values sorted per name, whatever order they came in.
  form_params q = {{"a", "2"}, {"b", "0"}, {"a", "1"}};
  // printf '%s' 'http://example.com/hooka1a2b0' | openssl dgst -sha1 -hmac secret -binary | base64
  CHECK(compute_signature("secret", "http://example.com/hook", q) ==
        "DcX8WW/ziynonWMwkCrVkt6mrZw=");
}

TEST_CASE("twilio: URL variants add or remove the default port") {
  CHECK(url_variants(kUrl) ==
        std::vector<std::string>{kUrl, "https://mycompany.com:443/myapp.php?foo=1&bar=2"});
  CHECK(url_variants("https://mycompany.com:443/x") ==
        std::vector<std::string>{"https://mycompany.com:443/x", "https://mycompany.com/x"});
  CHECK(url_variants("http://h/x") == std::vector<std::string>{"http://h/x", "http://h:80/x"});
  CHECK(url_variants("http://h:80") == std::vector<std::string>{"http://h:80", "http://h"});
  CHECK(url_variants("HTTPS://h?q=1") ==
        std::vector<std::string>{"HTTPS://h?q=1", "HTTPS://h:443?q=1"});
  // A port that is not the default stays as it is.
  CHECK(url_variants("https://h:8443/x") == std::vector<std::string>{"https://h:8443/x"});
  CHECK(url_variants("https://u:p@h/x") ==
        std::vector<std::string>{"https://u:p@h/x", "https://u:p@h:443/x"});
  CHECK(url_variants("https://[::1]/x") ==
        std::vector<std::string>{"https://[::1]/x", "https://[::1]:443/x"});
  CHECK(url_variants("https://[::1]:443/x") ==
        std::vector<std::string>{"https://[::1]:443/x", "https://[::1]/x"});
  CHECK(url_variants("ftp://h/x") == std::vector<std::string>{"ftp://h/x"});
  CHECK(url_variants("not a url") == std::vector<std::string>{"not a url"});
}

TEST_CASE("twilio: a signature over the URL with or without its default port is accepted") {
  // twilio-php testValidateAddsPortHttps / testValidateAddsPortHttp: signed with the port.
  CHECK(validate(kToken, kUrl, published_params(), "", "kvajT1Ptam85bY51eRf/AJRuM3w=") ==
        verdict::valid);
  CHECK(validate(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2", published_params(), "",
                 "0ZXoZLH/DfblKGATFgpif+LLRf4=") == verdict::valid);
  // Configured with the port, signed without it.
  CHECK(validate(kToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", published_params(), "",
                 kSignature) == verdict::valid);
  // Credentials in the URL are part of what is signed (twilio-php testBuildUrlCreds*).
  CHECK(validate(kToken, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
                 published_params(), "", "CukzLTc1tT5dXEDIHm/tKBanW10=") == verdict::valid);
  CHECK(validate(kToken, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
                 published_params(), "", "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=") == verdict::valid);
  // Another port is another URL.
  CHECK(validate(kToken, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", published_params(), "",
                 kSignature) == verdict::mismatch);
}

TEST_CASE("twilio: the bodySHA256 variant") {
  CHECK(sha256_hex(kBody) == kBodyHash);
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string url = kUrl + "&bodySHA256=" + kBodyHash;
  CHECK(query_value(url, "bodySHA256") == kBodyHash);
  CHECK(compute_signature(kToken, url, {}) == kBodySignature);
  CHECK(validate_body(kToken, url, kBody, kBodySignature) == verdict::valid);
  // validate() switches to the body variant by itself; form parameters play no part.
  CHECK(validate(kToken, url, {{"ignored", "x"}}, kBody, kBodySignature) == verdict::valid);
  // An upper-case hash in the URL: hex compares case-insensitively, but the URL is signed as is.
  std::string upper = kBodyHash;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string upper_url = kUrl + "&bodySHA256=" + upper;
  CHECK(validate_body(kToken, upper_url, kBody, compute_signature(kToken, upper_url, {})) ==
        verdict::valid);
  // A changed body, a changed hash, the form signature, a wrong token, no signature.
  CHECK(validate_body(kToken, url, kBody + " ", kBodySignature) == verdict::body_hash_mismatch);
  CHECK(validate(kToken, url, {}, R"({"property": "other", "boolean": true})", kBodySignature) ==
        verdict::body_hash_mismatch);
  std::string other_hash = kBodyHash;
  other_hash[0] = '1';
  CHECK(validate_body(kToken, kUrl + "&bodySHA256=" + other_hash, kBody, kBodySignature) ==
        verdict::mismatch);
  CHECK(validate_body(kToken, url, kBody, kSignature) == verdict::mismatch);
  CHECK(validate_body("54321", url, kBody, kBodySignature) == verdict::mismatch);
  CHECK(validate_body(kToken, url, kBody, "") == verdict::missing);
  // twilio-php testValidateBodyWithoutSignature: no bodySHA256 in the URL.
  CHECK(validate_body(kToken, kUrl, kBody, kSignature) == verdict::mismatch);
  CHECK(validate_body(kToken, kUrl, kBody, compute_signature(kToken, kUrl, {})) ==
        verdict::body_hash_mismatch);
}

TEST_CASE("twilio: query values are found and decoded") {
  CHECK(query_value("https://h/p?a=1&b=x%20y#frag", "b") == "x y");
  CHECK(query_value("https://h/p?a=1&b=2", "c").empty());
  CHECK(query_value("https://h/p", "a").empty());
  CHECK(query_value("https://h/p?ab=1&a=2", "a") == "2");
  CHECK(query_value("https://h/p?a#b=1", "b").empty());
}
