// Ingest over loopback: Twilio webhooks (and their signatures) and POST /v1/messages.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "http/twilio_signature.hpp"
#include "tests/http/server_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

TEST_CASE("server: a Twilio webhook is ingested and answered with empty TwiML") {
  fixture f;
  auto r = f.post_form("/webhooks/twilio",
                       "SmsSid=SM1&Body=I+live+in+Boston&From=%2B15551234567&To=%2B15550000000&"
                       "MessageSid=SMabc");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "text/xml");
  CHECK(r.body == kTwiml);
  auto got = f.api->ingested();
  REQUIRE(got.size() == 1);
  CHECK(got[0].user_id == "+15551234567");
  CHECK(got[0].role == "user");
  CHECK(got[0].content == "I live in Boston");
  CHECK(got[0].channel == "sms");
  CHECK(got[0].external_id == "SMabc");
  CHECK(got[0].created_at == 0);
}

TEST_CASE("server: the sms alias takes WhatsApp senders and duplicates still answer 200") {
  fixture f;
  auto r = f.post_form("/sms", "From=whatsapp%3A%2B447700900123&Body=hello&MessageSid=dup");
  CHECK(r.status == 200);
  CHECK(r.body == kTwiml);
  auto got = f.api->ingested();
  REQUIRE(got.size() == 1);
  CHECK(got[0].user_id == "+447700900123");
  CHECK(got[0].channel == "whatsapp");
}

TEST_CASE("server: content type charset parameters are accepted") {
  fixture f;
  auto r = http_request(f.port, "POST", "/webhooks/twilio", "From=%2B1555&Body=x",
                        "Application/X-WWW-Form-Urlencoded; charset=utf-8");
  CHECK(r.status == 200);
  auto j =
      http_request(f.port, "POST", "/v1/messages", R"({"user_id":"u","role":"user","content":"x"})",
                   "application/json; charset=UTF-8");
  CHECK(j.status == 202);
}

TEST_CASE("server: malformed webhooks get a JSON 4xx and ingest nothing") {
  fixture f;
  check_error(f.post_form("/webhooks/twilio", "Body=no+sender"), 400, "missing_field");
  check_error(f.post_form("/webhooks/twilio", "From=%2B1555&Body=%C0%AF"), 400, "invalid_utf8");
  check_error(f.post_form("/webhooks/twilio", "From=%2B1555&Body=50%"), 400, "invalid_form");
  check_error(http_request(f.port, "POST", "/webhooks/twilio", "From=%2B1555", "text/plain"), 415,
              "unsupported_media_type");
  check_error(http_request(f.port, "POST", "/sms", "From=%2B1555"), 415, "unsupported_media_type");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: POST v1 messages answers 202 with ids in request order") {
  fixture f;
  auto one = f.post_json("/v1/messages",
                         R"({"user_id":"+15551234567","role":"user","content":"I like tea"})");
  CHECK(one.status == 202);
  CHECK(one.headers["content-type"] == "application/json");
  CHECK(one.body == R"({"messages":[{"id":"id-1","duplicate":false}]})");

  auto batch = f.post_json(
      "/v1/messages",
      R"({"messages":[{"user_id":"a","role":"user","content":"one","external_id":"x1"},)"
      R"({"user_id":"a","role":"assistant","content":"two","channel":"web","created_at":9},)"
      R"({"user_id":"b","role":"user","content":"three","external_id":"dup"}]})");
  CHECK(batch.status == 202);
  CHECK(batch.body ==
        R"({"messages":[{"id":"id-2","duplicate":false},{"id":"id-3","duplicate":false},)"
        R"({"id":"id-4","duplicate":true}]})");
  auto got = f.api->ingested();
  REQUIRE(got.size() == 4);
  CHECK(got[0].channel == "api");
  CHECK(got[1].content == "one");
  CHECK(got[2].role == "assistant");
  CHECK(got[2].channel == "web");
  CHECK(got[2].created_at == 9);
  CHECK(got[3].user_id == "b");
}

TEST_CASE("server: malformed JSON messages get a JSON 400 and ingest nothing") {
  fixture f;
  check_error(f.post_json("/v1/messages", "{not json"), 400, "invalid_json");
  check_error(f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":7})"), 400,
              "invalid_field");
  check_error(f.post_json("/v1/messages", R"({"user_id":"u","role":"user"})"), 400,
              "missing_field");
  check_error(f.post_json("/v1/messages", R"({"messages":[]})"), 400, "invalid_field");
  check_error(
      f.post_json("/v1/messages", "{\"user_id\":\"u\",\"role\":\"user\",\"content\":\"\xc3\x28\"}"),
      400, "invalid_utf8");
  check_error(
      f.post_json("/v1/messages", R"({"messages":[{"user_id":"u","role":"user","content":"ok"},)"
                                  R"({"user_id":"u","role":"robot","content":"x"}]})"),
      400, "invalid_field");
  check_error(http_request(f.port, "POST", "/v1/messages", R"({"user_id":"u"})", "text/plain"), 415,
              "unsupported_media_type");
  CHECK(f.api->calls() == 0);
}

//------------------------------------------------------------------------------
// Twilio signatures

namespace {

// Twilio's published vector (see twilio_signature_tests.cpp), as the form Twilio posts.
const char* kVectorUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const char* kVectorForm =
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&"
    "To=%2B18005551212";
const char* kVectorSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

server_options twilio_options(std::string token = "12345", std::string url = kVectorUrl) {
  auto o = test_options();
  o.twilio_auth_token = std::move(token);
  o.twilio_webhook_url = std::move(url);
  return o;
}

http_response post_signed(std::uint16_t port, const std::string& target, const std::string& body,
                          std::optional<std::string> signature,
                          const std::string& content_type = "application/x-www-form-urlencoded") {
  std::map<std::string, std::string> headers;
  if (signature) headers["X-Twilio-Signature"] = *signature;
  return http_request(port, "POST", target, body, content_type, headers);
}

}  // namespace

TEST_CASE("server: a webhook with Twilio's published signature is stored") {
  fixture f(twilio_options());
  for (const char* target : {"/webhooks/twilio", "/sms"}) {
    INFO(target);
    auto r = post_signed(f.port, target, kVectorForm, kVectorSignature);
    CHECK(r.status == 200);
    CHECK(r.body == kTwiml);
  }
  auto got = f.api->ingested();
  REQUIRE(got.size() == 2);
  CHECK(got[0].user_id == "+14158675309");
  CHECK(got[0].content.empty());
}

TEST_CASE(
    "server: a tampered parameter a wrong token or no signature gets 403 and stores nothing") {
  fixture f(twilio_options());
  const std::string tampered =
      "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=9999&From=%2B14158675309&"
      "To=%2B18005551212";
  check_error(post_signed(f.port, "/webhooks/twilio", tampered, kVectorSignature), 403,
              "invalid_signature");
  const std::string added = std::string(kVectorForm) + "&Body=hello";
  check_error(post_signed(f.port, "/webhooks/twilio", added, kVectorSignature), 403,
              "invalid_signature");
  auto missing = post_signed(f.port, "/webhooks/twilio", kVectorForm, std::nullopt);
  check_error(missing, 403, "invalid_signature");
  CHECK(missing.body.find("missing") != std::string::npos);
  check_error(post_signed(f.port, "/sms", kVectorForm, ""), 403, "invalid_signature");
  check_error(post_signed(f.port, "/sms", kVectorForm, "not-a-signature"), 403,
              "invalid_signature");
  // Right signature, wrong content type: the form parameters are not what was sent.
  check_error(post_signed(f.port, "/sms", kVectorForm, kVectorSignature, "text/plain"), 403,
              "invalid_signature");
  // Malformed percent-encoding cannot be verified.
  check_error(post_signed(f.port, "/sms", "From=%2", kVectorSignature), 403, "invalid_signature");
  // The signature is not echoed back.
  CHECK(post_signed(f.port, "/sms", tampered, kVectorSignature).body.find(kVectorSignature) ==
        std::string::npos);
  CHECK(f.api->calls() == 0);

  fixture wrong_token(twilio_options("54321"));
  check_error(post_signed(wrong_token.port, "/webhooks/twilio", kVectorForm, kVectorSignature), 403,
              "invalid_signature");
  fixture wrong_url(twilio_options("12345", "https://mycompany.com/other.php?foo=1&bar=2"));
  check_error(post_signed(wrong_url.port, "/webhooks/twilio", kVectorForm, kVectorSignature), 403,
              "invalid_signature");
  CHECK(wrong_token.api->calls() == 0);
  CHECK(wrong_url.api->calls() == 0);
}

TEST_CASE("server: a configured URL with its default port still accepts the signature") {
  fixture f(twilio_options("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2"));
  CHECK(post_signed(f.port, "/webhooks/twilio", kVectorForm, kVectorSignature).status == 200);
  CHECK(f.api->ingested().size() == 1);
}

TEST_CASE("server: without a configured URL the signature covers https Host and target") {
  fixture f(twilio_options("secret", ""));
  const std::string host = "127.0.0.1:" + std::to_string(f.port);
  const std::string body = "From=%2B15551234567&Body=I+like+tea&MessageSid=SM1";
  twilio::form_params params = {
      {"From", "+15551234567"}, {"Body", "I like tea"}, {"MessageSid", "SM1"}};
  const auto sig = twilio::compute_signature("secret", "https://" + host + "/sms?x=1", params);
  CHECK(post_signed(f.port, "/sms?x=1", body, sig).status == 200);
  // Signed for another path, or for http: refused.
  check_error(post_signed(f.port, "/webhooks/twilio?x=1", body, sig), 403, "invalid_signature");
  const auto http_sig = twilio::compute_signature("secret", "http://" + host + "/sms", params);
  check_error(post_signed(f.port, "/sms", body, http_sig), 403, "invalid_signature");
  // The bodySHA256 variant: the URL (with the body's hash) is signed, the body is hashed.
  const std::string target = "/sms?bodySHA256=" + twilio::sha256_hex(body);
  const auto body_sig = twilio::compute_signature("secret", "https://" + host + target, {});
  CHECK(post_signed(f.port, target, body, body_sig).status == 200);
  check_error(post_signed(f.port, target, body + "&x=1", body_sig), 403, "invalid_signature");
  // Form-only: a JSON body with a valid bodySHA256 signature is refused as a media type.
  const std::string json = R"({"From":"+15551234567"})";
  const std::string json_target = "/sms?bodySHA256=" + twilio::sha256_hex(json);
  const auto json_sig = twilio::compute_signature("secret", "https://" + host + json_target, {});
  check_error(post_signed(f.port, json_target, json, json_sig, "application/json"), 415,
              "unsupported_media_type");
  CHECK(f.api->ingested().size() == 2);
}

TEST_CASE("server: without a Twilio token webhooks are not checked") {
  fixture f;
  CHECK(post_signed(f.port, "/sms", kVectorForm, "anything").status == 200);
  CHECK(post_signed(f.port, "/sms", kVectorForm, std::nullopt).status == 200);
}
