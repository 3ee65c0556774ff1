// Request parsing without sockets: form decoding, UTF-8, Twilio forms, the JSON message API.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

#include "http/json_render.hpp"
#include "http/request_parsing.hpp"

using namespace memoryd;

namespace {

// The error of a rejected parse, failing the test when it was accepted.
api_failure error_of(const parsed_messages& p) {
  REQUIRE(p.error.has_value());
  CHECK(p.messages.empty());
  CHECK(p.error->http_status == 400);
  return *p.error;
}

new_message only_message(const parsed_messages& p) {
  INFO((p.error ? p.error->message : std::string("no error")));
  REQUIRE_FALSE(p.error.has_value());
  REQUIRE(p.messages.size() == 1);
  return p.messages[0];
}

}  // namespace

TEST_CASE("parse_form decodes plus and percent escapes in order") {
  auto f = parse_form("From=%2B15551234567&Body=Hello+world%21&Empty=&Flag&x=a%3Db");
  REQUIRE(f.has_value());
  REQUIRE(f->size() == 5);
  CHECK((*f)[0] == std::pair<std::string, std::string>{"From", "+15551234567"});
  CHECK((*f)[1] == std::pair<std::string, std::string>{"Body", "Hello world!"});
  CHECK((*f)[2] == std::pair<std::string, std::string>{"Empty", ""});
  CHECK((*f)[3] == std::pair<std::string, std::string>{"Flag", ""});
  CHECK((*f)[4] == std::pair<std::string, std::string>{"x", "a=b"});
}

TEST_CASE("parse_form accepts empty bodies, stray ampersands and lower-case hex") {
  auto empty = parse_form("");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
  auto f = parse_form("&a=%c3%a9&&");
  REQUIRE(f.has_value());
  REQUIRE(f->size() == 1);
  CHECK((*f)[0].second == "\xc3\xa9");
}

TEST_CASE("parse_form rejects malformed escapes") {
  CHECK_FALSE(parse_form("a=%").has_value());
  CHECK_FALSE(parse_form("a=%4").has_value());
  CHECK_FALSE(parse_form("a=%zz").has_value());
  CHECK_FALSE(parse_form("a%G1=1").has_value());
  CHECK_FALSE(parse_form("ok=1&b=100%").has_value());
}

TEST_CASE("is_valid_utf8 accepts well-formed text") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xc3\xa9"));                   // U+00E9
  CHECK(is_valid_utf8("\xe2\x82\xac"));                  // U+20AC
  CHECK(is_valid_utf8("\xf0\x9f\x90\xb6"));              // U+1F436 (dog)
  CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));              // U+10FFFF
  CHECK(is_valid_utf8("\xed\x9f\xbf"));                  // U+D7FF, just below surrogates
  CHECK(is_valid_utf8(std::string("nul\0inside", 10)));  // NUL is valid UTF-8
}

TEST_CASE("is_valid_utf8 rejects overlongs surrogates and out of range code points") {
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xc1\xbf"));          // overlong
  CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));  // overlong 4-byte
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // U+D800
  CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));      // U+DFFF
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\x80"));      // lone continuation
  CHECK_FALSE(is_valid_utf8("ab\xc3"));    // truncated
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));  // truncated
  CHECK_FALSE(is_valid_utf8("\xc3\x28"));  // bad continuation
}

TEST_CASE("parse_twilio_form maps an SMS webhook to a user message") {
  auto m = only_message(parse_twilio_form(
      "ToCountry=US&SmsSid=SM1&Body=I+have+a+dog+named+Max&From=%2B15551234567&To=%2B15557654321&"
      "MessageSid=SM0123456789abcdef&NumMedia=0"));
  CHECK(m.user_id == "+15551234567");
  CHECK(m.channel == "sms");
  CHECK(m.role == "user");
  CHECK(m.content == "I have a dog named Max");
  CHECK(m.external_id == "SM0123456789abcdef");
  CHECK(m.created_at == 0);
}

TEST_CASE("parse_twilio_form strips the whatsapp prefix into the channel") {
  auto m = only_message(parse_twilio_form("From=whatsapp%3A%2B15551234567&Body=hi&MessageSid=SM9"));
  CHECK(m.user_id == "+15551234567");
  CHECK(m.channel == "whatsapp");
  CHECK(m.content == "hi");
}

TEST_CASE("parse_twilio_form accepts an empty or missing Body and a missing MessageSid") {
  auto empty = only_message(parse_twilio_form("From=%2B15551234567&Body=&NumMedia=1"));
  CHECK(empty.content.empty());
  CHECK(empty.external_id.empty());
  auto missing = only_message(parse_twilio_form("From=%2B15551234567"));
  CHECK(missing.content.empty());
}

TEST_CASE("parse_twilio_form rejects a missing or empty From") {
  auto e = error_of(parse_twilio_form("Body=hello&MessageSid=SM1"));
  CHECK(e.code == "missing_field");
  CHECK(e.message.find("From") != std::string::npos);
  CHECK(error_of(parse_twilio_form("From=&Body=hello")).code == "missing_field");
  CHECK(error_of(parse_twilio_form("From=whatsapp%3A&Body=x")).code == "invalid_field");
}

TEST_CASE("parse_twilio_form rejects invalid UTF-8 and bad escapes") {
  auto e = error_of(parse_twilio_form("From=%2B1555&Body=%C0%AF"));
  CHECK(e.code == "invalid_utf8");
  CHECK(e.message.find("Body") != std::string::npos);
  CHECK(error_of(parse_twilio_form("From=%2B1555&Body=%ED%A0%80")).code == "invalid_utf8");
  CHECK(error_of(parse_twilio_form("From=%FF&Body=x")).code == "invalid_utf8");
  CHECK(error_of(parse_twilio_form("From=%2B1555&Body=100%")).code == "invalid_form");
  CHECK(error_of(parse_twilio_form("From=" + std::string(300, '1'))).code == "invalid_field");
}

TEST_CASE("NUL characters are refused in every stored text field, by name") {
  // PostgreSQL's text cannot hold NUL: one such message would fail its whole group commit.
  auto body = error_of(parse_twilio_form("From=%2B1555&Body=a%00b"));
  CHECK(body.code == "invalid_field");
  CHECK(body.message == "Body: must not contain NUL characters");
  CHECK(error_of(parse_twilio_form("From=%2B15%0055&Body=x")).message.find("From") == 0);
  CHECK(error_of(parse_twilio_form("From=%2B1555&Body=x&MessageSid=SM%00"))
            .message.find("MessageSid") == 0);
  for (const char* field : {"user_id", "content", "channel", "external_id"}) {
    INFO(field);
    boost::json::object m{{"user_id", "u"}, {"role", "user"}, {"content", "hello"}};
    m[field] = std::string("a\0b", 3);
    const auto e = error_of(parse_messages_json(boost::json::serialize(m)));
    CHECK(e.code == "invalid_field");
    CHECK(e.message == std::string(field) + ": must not contain NUL characters");
  }
  const auto fact = parse_add_fact_json("{\"text\":\"a\\u0000b\"}");
  REQUIRE(fact.error);
  CHECK(fact.error->message == "text: must not contain NUL characters");
  CHECK(is_valid_utf8(std::string("a\0b", 3)));
  CHECK_FALSE(is_storable_text(std::string("a\0b", 3)));
  CHECK(is_storable_text("caf\xc3\xa9"));
}

TEST_CASE("parse_messages_json accepts one message with defaults") {
  auto m = only_message(
      parse_messages_json(R"({"user_id":"+15551234567","role":"user","content":"I like coffee"})"));
  CHECK(m.user_id == "+15551234567");
  CHECK(m.role == "user");
  CHECK(m.content == "I like coffee");
  CHECK(m.channel == "api");
  CHECK(m.external_id.empty());
  CHECK(m.created_at == 0);
}

TEST_CASE("parse_messages_json reads optional fields and ignores unknown ones") {
  auto m = only_message(parse_messages_json(
      R"({"user_id":"u1","role":"assistant","content":"Noted \u00e9","channel":"web",)"
      R"("external_id":"ext-1","created_at":1700000000000,"extra":{"x":[1,2]},"channel_hint":1})"));
  CHECK(m.role == "assistant");
  CHECK(m.content == "Noted \xc3\xa9");
  CHECK(m.channel == "web");
  CHECK(m.external_id == "ext-1");
  CHECK(m.created_at == 1700000000000);
  auto nulls = only_message(parse_messages_json(
      R"({"user_id":"u1","role":"user","content":"x","channel":null,"external_id":null,"created_at":null})"));
  CHECK(nulls.channel == "api");
  CHECK(nulls.created_at == 0);
  CHECK(nulls.priority == message_priority::live);  // the API's default
  auto old = only_message(
      parse_messages_json(R"({"user_id":"u1","role":"user","content":"x","priority":"backfill"})"));
  CHECK(old.priority == message_priority::backfill);
  auto now = only_message(
      parse_messages_json(R"({"user_id":"u1","role":"user","content":"x","priority":"live"})"));
  CHECK(now.priority == message_priority::live);
}

TEST_CASE("parse_messages_json accepts a batch in order") {
  auto p =
      parse_messages_json(R"({"messages":[{"user_id":"a","role":"user","content":"one"},)"
                          R"({"user_id":"b","role":"assistant","content":"two","created_at":5}]})");
  REQUIRE_FALSE(p.error.has_value());
  REQUIRE(p.messages.size() == 2);
  CHECK(p.messages[0].user_id == "a");
  CHECK(p.messages[0].content == "one");
  CHECK(p.messages[1].user_id == "b");
  CHECK(p.messages[1].created_at == 5);
}

TEST_CASE("parse_messages_json rejects what is not a JSON object") {
  CHECK(error_of(parse_messages_json("")).code == "invalid_json");
  CHECK(error_of(parse_messages_json("{")).code == "invalid_json");
  CHECK(error_of(parse_messages_json(R"({"user_id":"a",})")).code == "invalid_json");
  CHECK(error_of(parse_messages_json("[1,2]")).code == "invalid_json");
  CHECK(error_of(parse_messages_json("\"text\"")).code == "invalid_json");
  CHECK(error_of(parse_messages_json("{\"user_id\":\"\xff\"}")).code == "invalid_utf8");
}

TEST_CASE("parse_messages_json checks every field type and names the field") {
  struct bad_case {
    const char* json;
    const char* code;
    const char* field;
  };
  const bad_case cases[] = {
      {R"({"role":"user","content":"x"})", "missing_field", "user_id"},
      {R"({"user_id":"u","content":"x"})", "missing_field", "role"},
      {R"({"user_id":"u","role":"user"})", "missing_field", "content"},
      {R"({"user_id":5,"role":"user","content":"x"})", "invalid_field", "user_id"},
      {R"({"user_id":null,"role":"user","content":"x"})", "invalid_field", "user_id"},
      {R"({"user_id":"","role":"user","content":"x"})", "invalid_field", "user_id"},
      {R"({"user_id":"u","role":"system","content":"x"})", "invalid_field", "role"},
      {R"({"user_id":"u","role":true,"content":"x"})", "invalid_field", "role"},
      {R"({"user_id":"u","role":"user","content":""})", "invalid_field", "content"},
      {R"({"user_id":"u","role":"user","content":["x"]})", "invalid_field", "content"},
      {R"({"user_id":"u","role":"user","content":{"t":1}})", "invalid_field", "content"},
      {R"({"user_id":"u","role":"user","content":"x","channel":7})", "invalid_field", "channel"},
      {R"({"user_id":"u","role":"user","content":"x","channel":""})", "invalid_field", "channel"},
      {R"({"user_id":"u","role":"user","content":"x","external_id":1})", "invalid_field",
       "external_id"},
      {R"({"user_id":"u","role":"user","content":"x","created_at":"1"})", "invalid_field",
       "created_at"},
      {R"({"user_id":"u","role":"user","content":"x","created_at":1.5})", "invalid_field",
       "created_at"},
      {R"({"user_id":"u","role":"user","content":"x","created_at":-1})", "invalid_field",
       "created_at"},
      {R"({"user_id":"u","role":"user","content":"x","created_at":18446744073709551615})",
       "invalid_field", "created_at"},
      {R"({"user_id":"u","role":"user","content":"x","created_at":true})", "invalid_field",
       "created_at"},
      {R"({"user_id":"u","role":"user","content":"\ud800"})", "", "content"},
      {R"({"user_id":"u","role":"user","content":"x","priority":"urgent"})", "invalid_field",
       "priority"},
      {R"({"user_id":"u","role":"user","content":"x","priority":1})", "invalid_field", "priority"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto e = error_of(parse_messages_json(c.json));
    // A lone surrogate escape is either refused by the JSON parser or by our UTF-8 check.
    if (*c.code) CHECK(e.code == c.code);
    if (*c.code) CHECK(e.message.find(c.field) != std::string::npos);
  }
}

TEST_CASE("parse_messages_json enforces string length limits") {
  auto msg = [](const std::string& field, std::size_t n) {
    std::string uid = field == "user_id" ? std::string(n, 'u') : "u";
    std::string channel = field == "channel" ? std::string(n, 'c') : "api";
    std::string ext = field == "external_id" ? std::string(n, 'e') : "e";
    return R"({"user_id":")" + uid + R"(","role":"user","content":"x","channel":")" + channel +
           R"(","external_id":")" + ext + R"("})";
  };
  CHECK_FALSE(parse_messages_json(msg("user_id", 256)).error.has_value());
  CHECK(error_of(parse_messages_json(msg("user_id", 257))).code == "invalid_field");
  CHECK_FALSE(parse_messages_json(msg("channel", 32)).error.has_value());
  CHECK(error_of(parse_messages_json(msg("channel", 33))).code == "invalid_field");
  CHECK_FALSE(parse_messages_json(msg("external_id", 256)).error.has_value());
  CHECK(error_of(parse_messages_json(msg("external_id", 257))).code == "invalid_field");
}

TEST_CASE("parse_messages_json batch errors name the index") {
  auto e =
      error_of(parse_messages_json(R"({"messages":[{"user_id":"a","role":"user","content":"ok"},)"
                                   R"({"user_id":"b","role":"user","content":3}]})"));
  CHECK(e.code == "invalid_field");
  CHECK(e.message.find("messages[1].content") != std::string::npos);
  auto not_object = error_of(parse_messages_json(R"({"messages":[1]})"));
  CHECK(not_object.message.find("messages[0]") != std::string::npos);
  CHECK(error_of(parse_messages_json(R"({"messages":{}})")).code == "invalid_field");
}

TEST_CASE("parse_messages_json rejects empty and oversized batches") {
  auto empty = error_of(parse_messages_json(R"({"messages":[]})"));
  CHECK(empty.code == "invalid_field");
  CHECK(empty.message.find("messages") != std::string::npos);

  std::string three = R"({"messages":[)";
  for (int i = 0; i < 3; ++i) {
    if (i) three += ",";
    three += R"({"user_id":"u","role":"user","content":"x"})";
  }
  three += "]}";
  CHECK_FALSE(parse_messages_json(three, 3).error.has_value());
  CHECK(error_of(parse_messages_json(three, 2)).code == "invalid_field");
}

TEST_CASE("redact_user_id keeps the last four characters") {
  CHECK(redact_user_id("+15551234567") == "***4567");
  CHECK(redact_user_id("12345") == "***2345");
  CHECK(redact_user_id("1234") == "***");
  CHECK(redact_user_id("12") == "***");
  CHECK(redact_user_id("") == "***");
  CHECK(redact_user_id("ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") ==
        "***\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
}

TEST_CASE("render_error and render_history shapes") {
  CHECK(render_error("not_found", "no \"such\" thing") ==
        R"({"error":{"code":"not_found","message":"no \"such\" thing"}})");
  stored_message m;
  m.id = "id1";
  m.seq = 7;
  m.role = "user";
  m.content = "hi";
  m.channel = "sms";
  m.created_at = 42;
  m.status = "pending";
  CHECK(render_history("+1", {m}) ==
        R"({"user_id":"+1","messages":[{"id":"id1","seq":7,"role":"user","content":"hi",)"
        R"("channel":"sms","external_id":null,"created_at":42,"status":"pending","attempts":0,)"
        R"("last_error":null,"processed_at":null,"priority":"live"}],"next_cursor":null})");
  CHECK(render_history("+1", {}, "Yz") == R"({"user_id":"+1","messages":[],"next_cursor":"Yz"})");
  CHECK(render_health({true, ""}) == R"({"status":"ok"})");
}

TEST_CASE("twilio From: an unencoded plus (decoded as a space) is restored, spaces trimmed") {
  auto raw_plus = memoryd::parse_twilio_form("From=whatsapp:+15551234567&Body=hi");
  REQUIRE_FALSE(raw_plus.error);
  CHECK(raw_plus.messages.at(0).user_id == "+15551234567");
  auto spaced = memoryd::parse_twilio_form("From=+alice+&Body=hi");
  REQUIRE_FALSE(spaced.error);
  CHECK(spaced.messages.at(0).user_id == "alice");
}
