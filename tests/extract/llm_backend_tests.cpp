// The LLM backends against the scripted fake server (tests/support/fake_llm): request format
// of both APIs, answers, error classification, timeouts, connection reuse, TLS.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <ctime>
#include <set>
#include <string>

#include "extract/https_client.hpp"
#include "extract/llm_backend.hpp"
#include "extract/prompt.hpp"
#include "tests/support/compress.hpp"
#include "tests/support/fake_llm.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kTlsDir = std::string(MEMORYD_SOURCE_DIR) + "/tests/data/tls/";
const char* kGoodAnswer =
    R"({"operations": [{"op": "update", "id": "f-1", "text": "Lives in Boston"},)"
    R"( {"op": "add", "text": "Has a dog named Max", "category": "relationships"}]})";

extraction_input sample_input() {
  extraction_input in;
  in.user_id = "u1";
  fact f;
  f.id = "f-1";
  f.user_id = "u1";
  f.text = "Lives in New York";
  f.category = "location";
  f.status = "active";
  in.facts = {f};
  in.messages = {{"m-1", "I moved to Boston", 1714564800000},
                 {"m-2", "My dog Max is great", 1714564860000}};
  return in;
}

llm_options anthropic_options(const fake_llm& fake) {
  llm_options o;
  o.provider = "anthropic";
  o.base_url = fake.url();
  o.api_key = "sk-ant-secret-key-123";
  o.model = "claude-test";
  o.max_tokens = 777;
  o.timeout = 5s;
  return o;
}

llm_options openai_options(const fake_llm& fake) {
  llm_options o;
  o.provider = "openai";
  o.base_url = fake.url() + "/v1";
  o.api_key = "sk-openai-secret-key-456";
  o.model = "gpt-test";
  o.max_tokens = 555;
  o.timeout = 5s;
  return o;
}

void check_good_ops(const extraction_output& out) {
  REQUIRE(out.ops.size() == 2);
  CHECK(out.ops[0].kind == "update");
  CHECK(out.ops[0].fact_id == "f-1");
  CHECK(out.ops[0].text == "Lives in Boston");
  CHECK(out.ops[1].kind == "add");
  CHECK(out.ops[1].text == "Has a dog named Max");
  CHECK(out.ops[1].category == "relationships");
  CHECK(out.ops[1].observed_at == 1714564860000);
  CHECK(out.ops[1].source_ids == std::vector<std::string>{"m-1", "m-2"});
}

// Runs one extraction that must fail, returns the failure.
extraction_failure failure_of(llm_extractor& ex) {
  try {
    ex.extract(sample_input());
  } catch (const extraction_failure& e) {
    return e;
  }
  FAIL("extract did not throw");
  return extraction_failure(failure_kind::transient, "unreachable");
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

TEST_CASE("llm anthropic: request as the SDK sends it with ops and tokens from the answer",
          "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(anthropic_reply(kGoodAnswer, 1234, 56));
  auto opts = anthropic_options(fake);
  opts.base_url += "/";  // a trailing slash is tolerated
  llm_extractor ex(opts);
  CHECK(ex.version() == "anthropic:claude-test/prompt-3");

  const auto out = ex.extract(sample_input());
  check_good_ops(out);
  CHECK(out.input_tokens == 1234);
  CHECK(out.output_tokens == 56);

  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 1);
  const auto& r = reqs[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/messages");
  CHECK(r.headers.at("x-api-key") == "sk-ant-secret-key-123");
  CHECK(r.headers.at("anthropic-version") == "2023-06-01");
  CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.headers.at("host") == "127.0.0.1:" + std::to_string(fake.port()));
  CHECK(r.headers.count("authorization") == 0);

  const auto body = json::parse(r.body).as_object();
  const auto prompt = build_prompt(sample_input());
  CHECK(body.at("model") == "claude-test");
  CHECK(body.at("max_tokens") == 777);
  CHECK(body.at("system") == prompt.system.c_str());
  const auto& messages = body.at("messages").as_array();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].at("role") == "user");
  CHECK(messages[0].at("content") == prompt.user.c_str());
  // Constrained output: one tool with the operations' schema, forced.
  const auto& tools = body.at("tools").as_array();
  REQUIRE(tools.size() == 1);
  CHECK(tools[0].at("name") == "record_memory_operations");
  CHECK(tools[0].at("input_schema") == operations_schema());
  CHECK(body.at("tool_choice") ==
        json::parse(R"({"type": "tool", "name": "record_memory_operations"})"));
}

TEST_CASE("llm openai: request as the SDK sends it with ops and tokens from the answer",
          "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(openai_reply(kGoodAnswer, 321, 45));
  llm_extractor ex(openai_options(fake));
  CHECK(ex.version() == "openai:gpt-test/prompt-3");

  const auto out = ex.extract(sample_input());
  check_good_ops(out);
  CHECK(out.input_tokens == 321);
  CHECK(out.output_tokens == 45);

  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 1);
  const auto& r = reqs[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/chat/completions");
  CHECK(r.headers.at("authorization") == "Bearer sk-openai-secret-key-456");
  CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.headers.count("x-api-key") == 0);
  CHECK(r.headers.count("anthropic-version") == 0);

  const auto body = json::parse(r.body).as_object();
  const auto prompt = build_prompt(sample_input());
  CHECK(body.at("model") == "gpt-test");
  CHECK(body.at("max_tokens") == 555);
  CHECK(body.at("temperature") == 0);
  const auto& format = body.at("response_format");
  CHECK(format.at("type") == "json_schema");
  CHECK(format.at("json_schema").at("name") == "memory_operations");
  CHECK(format.at("json_schema").at("strict") == true);
  CHECK(format.at("json_schema").at("schema") == operations_schema());
  const auto& messages = body.at("messages").as_array();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].at("role") == "system");
  CHECK(messages[0].at("content") == prompt.system.c_str());
  CHECK(messages[1].at("role") == "user");
  CHECK(messages[1].at("content") == prompt.user.c_str());
}

TEST_CASE("llm openai: no Authorization header without a key (local servers)",
          "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(openai_reply("Sure, here it is:\n```json\n" + std::string(kGoodAnswer) + "\n```"));
  auto opts = openai_options(fake);
  opts.api_key.clear();
  llm_extractor ex(opts);
  check_good_ops(ex.extract(sample_input()));
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].headers.count("authorization") == 0);
}

TEST_CASE("llm: JSON inside prose gives the ops", "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(anthropic_reply("I found these updates: " + std::string(kGoodAnswer) + " Done."));
  llm_extractor ex(anthropic_options(fake));
  check_good_ops(ex.extract(sample_input()));
}

// The unparseable failure an extraction throws, or FAILs.
extraction_failure unparseable_failure(llm_extractor& ex) {
  try {
    ex.extract(sample_input());
  } catch (const extraction_failure& e) {
    CHECK(e.kind() == failure_kind::unparseable);
    return e;
  }
  FAIL("the answer was understood");
  throw std::logic_error("unreachable");
}

TEST_CASE("llm: garbage answers are unparseable failures with their tokens counted",
          "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(anthropic_reply("I cannot comply with that request.", 100, 9));
  fake.push(openai_reply("", 7, 0));  // an OpenAI envelope: no Anthropic content blocks
  llm_extractor ex(anthropic_options(fake));

  auto e = unparseable_failure(ex);
  CHECK(e.input_tokens == 100);
  CHECK(e.output_tokens == 9);

  // An Anthropic extractor reading an OpenAI envelope finds no content blocks.
  e = unparseable_failure(ex);
  CHECK(std::string(e.what()).find("no text content") != std::string::npos);
}

TEST_CASE("llm: a 2xx that is not the API's JSON is transient (proxy pages, empty bodies)",
          "[extract_llm][backend]") {
  fake_llm fake;
  fake_response html;
  html.body = "<html><body>Please log in to the network</body></html>";
  html.content_type = "text/html; charset=utf-8";
  fake.push(html);
  fake_response empty;
  empty.body = "";
  fake.push(empty);
  fake_response gateway;  // an upstream error reported as 200 by a gateway
  gateway.body = R"({"error": {"message": "upstream timed out", "code": 504}})";
  fake.push(gateway);
  llm_extractor ex(openai_options(fake));

  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(std::string(e.what()).find("text/html") != std::string::npos);
  CHECK(std::string(e.what()).find("not a JSON object") != std::string::npos);
  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(std::string(e.what()).find("upstream timed out") != std::string::npos);
}

TEST_CASE("llm: a refusal is its own failure with the refusal text", "[extract_llm][backend]") {
  fake_llm fake;
  fake_response refusal;
  refusal.body = R"({"choices": [{"index": 0, "message": {"role": "assistant", "content": null,)"
                 R"( "refusal": "I can't help with that request."}, "finish_reason": "stop"}],)"
                 R"( "usage": {"prompt_tokens": 3, "completion_tokens": 1}})";
  fake.push(refusal);
  llm_extractor oai(openai_options(fake));
  auto e = failure_of(oai);
  CHECK(e.kind() == failure_kind::refused);
  CHECK(std::string(e.what()).find("I can't help with that request.") != std::string::npos);
  CHECK(e.input_tokens == 3);
  CHECK(e.output_tokens == 1);

  fake_llm fake2;
  fake2.push(anthropic_reply("", 5, 0, "refusal"));
  llm_extractor ant(anthropic_options(fake2));
  e = failure_of(ant);
  CHECK(e.kind() == failure_kind::refused);
}

TEST_CASE("llm: gzip and deflate answers are decoded, identity is asked for",
          "[extract_llm][backend]") {
  fake_llm fake;
  for (auto [coding, format] :
       {std::pair{"gzip", compression::gzip}, std::pair{"deflate", compression::zlib},
        std::pair{"deflate", compression::raw}}) {
    auto r = openai_reply(kGoodAnswer);
    r.body = compress(r.body, format);
    r.headers.emplace_back("content-encoding", coding);
    fake.push(r);
  }
  auto br = openai_reply(kGoodAnswer);
  br.headers.emplace_back("content-encoding", "br");
  fake.push(br);
  auto bomb = openai_reply(kGoodAnswer);  // 64 MiB of spaces after the JSON: over the limit
  bomb.body = compress(bomb.body + std::string(64u << 20, ' '), compression::gzip);
  bomb.headers.emplace_back("content-encoding", "gzip");
  fake.push(bomb);
  fake.push(openai_reply(kGoodAnswer));
  llm_extractor ex(openai_options(fake));
  for (int i = 0; i < 3; ++i) {
    INFO("answer " << i);
    check_good_ops(ex.extract(sample_input()));
  }
  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(std::string(e.what()).find("br") != std::string::npos);
  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(std::string(e.what()).find("exceeds") != std::string::npos);
  INFO("after the bomb");
  check_good_ops(ex.extract(sample_input()));  // the connection is still usable
  for (const auto& r : fake.requests()) CHECK(r.headers.at("accept-encoding") == "identity");
  CHECK(fake.connections() == 1);
}

TEST_CASE("llm: x-should-retry overrides the status", "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(error_reply(500, "internal error", {{"x-should-retry", "false"}}));
  fake.push(error_reply(529, "overloaded", {{"x-should-retry", "false"}}));
  fake.push(error_reply(400, "try once more", {{"x-should-retry", "true"}}));
  fake.push(error_reply(503, "busy", {{"x-should-retry", "true"}}));
  llm_extractor ex(anthropic_options(fake));
  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::permanent);
  CHECK(std::string(e.what()).find("x-should-retry: false") != std::string::npos);
  CHECK(failure_of(ex).kind() == failure_kind::permanent);
  CHECK(failure_of(ex).kind() == failure_kind::transient);
  CHECK(failure_of(ex).kind() == failure_kind::transient);
}

namespace {

const std::string kTruncated = R"({"operations": [{"op": "add", "text": "Has a d)";

std::string add_answer(const std::string& text) {
  return R"({"operations": [{"op": "add", "text": ")" + text + R"(", "category": "other"}]})";
}

extraction_input four_messages() {
  auto in = sample_input();
  in.messages = {{"m-1", "msg-one", 1000},
                 {"m-2", "msg-two", 2000},
                 {"m-3", "msg-three", 3000},
                 {"m-4", "msg-four", 4000}};
  return in;
}

std::int64_t budget_of(const fake_request& r) {
  return json::parse(r.body).at("max_tokens").as_int64();
}

}  // namespace

TEST_CASE("llm: a truncated answer is asked again with twice the budget",
          "[extract_llm][backend][truncation]") {
  fake_llm fake;
  fake.push(anthropic_reply(kTruncated, 100, 777, "max_tokens"));
  fake.push(anthropic_reply(kGoodAnswer, 100, 900));
  llm_extractor ex(anthropic_options(fake));
  const auto out = ex.extract(sample_input());
  check_good_ops(out);
  CHECK(out.input_tokens == 200);
  CHECK(out.output_tokens == 1677);
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(budget_of(reqs[0]) == 777);
  CHECK(budget_of(reqs[1]) == 1554);
}

TEST_CASE("llm: truncated twice, the batch is split in halves and the ops merged",
          "[extract_llm][backend][truncation]") {
  fake_llm fake;
  fake.push(openai_reply(kTruncated, 10, 555, "length"));
  fake.push(openai_reply(kTruncated, 10, 1110, "length"));
  fake.push(openai_reply(add_answer("Counts to two"), 6, 20));
  fake.push(openai_reply(add_answer("Counts to four"), 6, 20));
  llm_extractor ex(openai_options(fake));
  const auto out = ex.extract(four_messages());
  REQUIRE(out.ops.size() == 2);
  CHECK(out.ops[0].text == "Counts to two");
  CHECK(out.ops[0].observed_at == 2000);
  CHECK(out.ops[0].source_ids == std::vector<std::string>{"m-1", "m-2"});
  CHECK(out.ops[1].text == "Counts to four");
  CHECK(out.ops[1].observed_at == 4000);
  CHECK(out.ops[1].source_ids == std::vector<std::string>{"m-3", "m-4"});
  CHECK(out.input_tokens == 32);
  CHECK(out.output_tokens == 1705);
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(budget_of(reqs[2]) == 1110);
  // Each half carries its own messages and not the other half's.
  CHECK(reqs[2].body.find("msg-two") != std::string::npos);
  CHECK(reqs[2].body.find("msg-three") == std::string::npos);
  CHECK(reqs[3].body.find("msg-three") != std::string::npos);
  CHECK(reqs[3].body.find("msg-one") == std::string::npos);
}

TEST_CASE("llm: still truncated after the split, or one message truncated twice, is truncated",
          "[extract_llm][backend][truncation]") {
  fake_llm fake;
  fake.push(openai_reply(kTruncated, 1, 1, "length"));
  fake.push(openai_reply(kTruncated, 1, 1, "length"));
  fake.push(openai_reply(add_answer("Counts to two"), 1, 1));
  fake.push(openai_reply("", 1, 1, "length"));  // a reasoning model spent the budget thinking
  llm_extractor ex(openai_options(fake));
  try {
    ex.extract(four_messages());
    FAIL("no failure");
  } catch (const extraction_failure& e) {
    CHECK(e.kind() == failure_kind::truncated);
    CHECK(std::string(e.what()).find("halves") != std::string::npos);
    CHECK(e.output_tokens == 4);
  }
  CHECK(fake.requests().size() == 4);

  fake_llm fake2;
  fake2.push(anthropic_reply(kTruncated, 1, 1, "max_tokens"));
  fake2.push(anthropic_reply(kTruncated, 1, 1, "max_tokens"));
  llm_extractor ex2(anthropic_options(fake2));
  auto in = sample_input();
  in.messages.resize(1);
  try {
    ex2.extract(in);
    FAIL("no failure");
  } catch (const extraction_failure& e) {
    CHECK(e.kind() == failure_kind::truncated);
    CHECK(std::string(e.what()).find("one message") != std::string::npos);
  }
  CHECK(fake2.requests().size() == 2);
}

TEST_CASE("llm openai: max_tokens or max_completion_tokens", "[extract_llm][backend]") {
  CHECK(default_token_limit_field("https://api.openai.com/v1") == "max_completion_tokens");
  CHECK(default_token_limit_field("HTTPS://API.OpenAI.com:443/v1/") == "max_completion_tokens");
  CHECK(default_token_limit_field("http://127.0.0.1:11434/v1") == "max_tokens");
  CHECK(default_token_limit_field("https://api.openai.com.example.net/v1") == "max_tokens");
  CHECK(default_token_limit_field("https://my-vllm:8000/v1") == "max_tokens");

  fake_llm fake;
  fake.push(openai_reply(kGoodAnswer));
  fake.push(openai_reply(kGoodAnswer));
  auto opts = openai_options(fake);
  opts.token_limit_field = "max_completion_tokens";
  llm_extractor modern(opts);
  check_good_ops(modern.extract(sample_input()));
  opts.token_limit_field = "auto";  // 127.0.0.1: a local server
  llm_extractor local(opts);
  check_good_ops(local.extract(sample_input()));
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 2);
  const auto a = json::parse(reqs[0].body).as_object();
  CHECK(a.at("max_completion_tokens") == 555);
  CHECK_FALSE(a.contains("max_tokens"));
  CHECK_FALSE(a.contains("temperature"));
  const auto b = json::parse(reqs[1].body).as_object();
  CHECK(b.at("max_tokens") == 555);
  CHECK_FALSE(b.contains("max_completion_tokens"));
  CHECK(b.at("temperature") == 0);

  opts.token_limit_field = "max_output_tokens";
  CHECK_THROWS_AS(llm_extractor(opts), std::invalid_argument);
}

TEST_CASE("llm: 429 is rate_limited with Retry-After", "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(error_reply(429, "rate limited", {{"retry-after", "7"}}));
  fake.push(
      error_reply(429, "rate limited", {{"retry-after", http_date(std::time(nullptr) + 30)}}));
  fake.push(error_reply(429, "rate limited", {{"retry-after-ms", "1500"}}));
  fake.push(error_reply(429, "rate limited"));
  llm_extractor ex(openai_options(fake));

  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::rate_limited);
  CHECK(e.retry_after_ms() == 7000);
  CHECK(std::string(e.what()).find("429") != std::string::npos);

  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::rate_limited);
  CHECK(e.retry_after_ms() > 20000);
  CHECK(e.retry_after_ms() <= 31000);

  e = failure_of(ex);
  CHECK(e.retry_after_ms() == 1500);

  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::rate_limited);
  CHECK(e.retry_after_ms() == 0);
}

TEST_CASE("llm: Retry-After values", "[extract_llm][backend]") {
  const millis date_ms = 1445412480000;  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(parse_retry_after("7", 0) == 7000);
  CHECK(parse_retry_after(" 1.5 ", 0) == 1500);
  CHECK(parse_retry_after("0", 0) == 0);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", date_ms - 10000) == 10000);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", date_ms + 10000) == 0);
  CHECK(parse_retry_after("soon", 0) == 0);
  CHECK(parse_retry_after("-3", 0) == 0);
  CHECK(parse_retry_after("", 0) == 0);
  CHECK(parse_retry_after("99999999999", 0) == 24LL * 3600 * 1000);
}

TEST_CASE("llm: 408 409 5xx and 529 are transient", "[extract_llm][backend]") {
  fake_llm fake;
  for (int status : {408, 409, 500, 502, 503, 529}) {
    fake.push(error_reply(status, "try again later", {{"retry-after", "2"}}));
  }
  fake.push(error_reply(500, "boom"));
  llm_extractor ex(anthropic_options(fake));
  for (int status : {408, 409, 500, 502, 503, 529}) {
    CAPTURE(status);
    const auto e = failure_of(ex);
    CHECK(e.kind() == failure_kind::transient);
    CHECK(e.retry_after_ms() == 2000);
    CHECK(std::string(e.what()).find(std::to_string(status)) != std::string::npos);
  }
  const auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(e.retry_after_ms() == 0);
  CHECK(std::string(e.what()).find("boom") != std::string::npos);
}

TEST_CASE("llm: 400 401 403 404 and 422 are permanent without the key", "[extract_llm][backend]") {
  fake_llm fake;
  for (int status : {400, 401, 403, 404, 422}) {
    fake.push(error_reply(status, "Incorrect API key provided: sk-openai-secret-key-456"));
  }
  // Plain JSON mode: with the schema, a 400 / 422 is asked again without it (tested below).
  auto opts = openai_options(fake);
  opts.structured_output = false;
  llm_extractor ex(opts);
  for (int status : {400, 401, 403, 404, 422}) {
    CAPTURE(status);
    const auto e = failure_of(ex);
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(e.kind() == failure_kind::permanent);
    CHECK(what.find("HTTP " + std::to_string(status)) != std::string::npos);
    CHECK(what.find("Incorrect API key provided") != std::string::npos);
    CHECK(what.find("sk-openai-secret-key-456") == std::string::npos);
  }
}

TEST_CASE("llm: a slow server times out (transient) within the timeout", "[extract_llm][backend]") {
  fake_llm fake;
  fake_response slow = anthropic_reply(kGoodAnswer);
  slow.delay = 3s;
  fake.push(slow);
  auto opts = anthropic_options(fake);
  opts.timeout = 300ms;
  llm_extractor ex(opts);
  const auto start = std::chrono::steady_clock::now();
  const auto e = failure_of(ex);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(e.kind() == failure_kind::transient);
  CHECK(std::string(e.what()).find("timed out") != std::string::npos);
  CHECK(elapsed < 2500ms);  // generous: the answer would come after 3 s
}

TEST_CASE("llm: a connection reset or refused is transient", "[extract_llm][backend]") {
  fake_llm fake;
  fake_response reset;
  reset.reset = true;
  fake.push(reset);
  llm_extractor ex(openai_options(fake));
  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(fake.requests().size() == 1);  // a fresh connection is not retried

  llm_options refused;
  {
    fake_llm gone;
    refused = openai_options(gone);
  }  // nothing listens on that port any more
  llm_extractor ex2(refused);
  e = failure_of(ex2);
  CHECK(e.kind() == failure_kind::transient);
}

TEST_CASE("llm: one kept-alive connection per extractor", "[extract_llm][backend]") {
  fake_llm fake;
  fake.push(openai_reply(kGoodAnswer));
  fake.push(openai_reply(kGoodAnswer));
  fake.push(openai_reply(kGoodAnswer));
  llm_extractor ex(openai_options(fake));
  check_good_ops(ex.extract(sample_input()));
  check_good_ops(ex.extract(sample_input()));
  check_good_ops(ex.extract(sample_input()));
  CHECK(fake.connections() == 1);
  CHECK(ex.connections_opened() == 1);
  REQUIRE(fake.requests().size() == 3);
  for (const auto& r : fake.requests()) CHECK(r.connection == 1);
}

TEST_CASE("llm: reconnects after the server closes the connection", "[extract_llm][backend]") {
  fake_llm fake;
  auto closing = anthropic_reply(kGoodAnswer);
  closing.close = true;  // Connection: close
  fake.push(closing);
  fake.push(anthropic_reply(kGoodAnswer));
  llm_extractor ex(anthropic_options(fake));
  check_good_ops(ex.extract(sample_input()));
  check_good_ops(ex.extract(sample_input()));
  CHECK(fake.connections() == 2);
  CHECK(fake.requests().size() == 2);
}

TEST_CASE("llm: a failure on a reused connection is retried once on a new one",
          "[extract_llm][backend]") {
  // The server resets a reused connection after reading the request: the client cannot
  // tell this from a connection that went stale, and sends once more on a new one.
  fake_llm fake;
  fake.push(openai_reply(kGoodAnswer));
  fake_response reset;
  reset.reset = true;
  fake.push(reset);
  fake.push(openai_reply(kGoodAnswer));
  llm_extractor ex(openai_options(fake));
  check_good_ops(ex.extract(sample_input()));
  check_good_ops(ex.extract(sample_input()));
  CHECK(fake.connections() == 2);
  CHECK(fake.requests().size() == 3);
}

TEST_CASE("llm: TLS with the CA from config", "[extract_llm][backend][tls]") {
  fake_llm fake({kTlsDir + "server.pem", kTlsDir + "server.key"});
  for (const char* host : {"localhost", "127.0.0.1"}) {
    CAPTURE(host);
    fake.push(anthropic_reply(kGoodAnswer, 3, 4));
    auto opts = anthropic_options(fake);
    opts.base_url = fake.url(host);
    opts.ca_file = kTlsDir + "ca.pem";
    llm_extractor ex(opts);
    const auto out = ex.extract(sample_input());
    check_good_ops(out);
    CHECK(out.input_tokens == 3);
  }
  CHECK(fake.requests().size() == 2);
}

TEST_CASE("llm: TLS with a CA that does not know the server is permanent",
          "[extract_llm][backend][tls]") {
  fake_llm fake({kTlsDir + "server.pem", kTlsDir + "server.key"});
  auto wrong = anthropic_options(fake);
  wrong.base_url = fake.url("localhost");
  wrong.ca_file = kTlsDir + "other_ca.pem";
  llm_extractor ex(wrong);
  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::permanent);
  CHECK(std::string(e.what()).find("certificate") != std::string::npos);

  // The system store does not know the test CA either.
  auto system = anthropic_options(fake);
  system.base_url = fake.url("localhost");
  llm_extractor ex2(system);
  e = failure_of(ex2);
  CHECK(e.kind() == failure_kind::permanent);
  CHECK(fake.requests().empty());  // no request went over an unverified connection
}

TEST_CASE("llm: TLS connection reuse", "[extract_llm][backend][tls]") {
  fake_llm fake({kTlsDir + "server.pem", kTlsDir + "server.key"});
  fake.push(openai_reply(kGoodAnswer));
  fake.push(openai_reply(kGoodAnswer));
  auto opts = openai_options(fake);
  opts.base_url = fake.url("localhost") + "/v1";
  opts.ca_file = kTlsDir + "ca.pem";
  llm_extractor ex(opts);
  check_good_ops(ex.extract(sample_input()));
  check_good_ops(ex.extract(sample_input()));
  CHECK(fake.connections() == 1);
}

TEST_CASE("llm: options and inputs that need no request", "[extract_llm][backend]") {
  llm_options o;
  o.provider = "gemini";
  o.base_url = "http://127.0.0.1:1";
  o.model = "m";
  CHECK_THROWS_AS(llm_extractor(o), std::invalid_argument);
  o.provider = "openai";
  o.model.clear();
  CHECK_THROWS_AS(llm_extractor(o), std::invalid_argument);
  o.model = "m";
  o.ca_file = kTlsDir + "does-not-exist.pem";
  CHECK_THROWS_AS(llm_extractor(o), https_error);
  o.ca_file.clear();
  o.base_url = "ftp://example.com";
  llm_extractor bad_scheme(o);
  try {
    bad_scheme.extract(sample_input());
    FAIL("no failure for an ftp:// URL");
  } catch (const extraction_failure& e) {
    CHECK(e.kind() == failure_kind::permanent);
  }

  fake_llm fake;
  llm_extractor ex(anthropic_options(fake));
  extraction_input empty;
  empty.user_id = "u1";
  const auto out = ex.extract(empty);
  CHECK(out.ops.empty());
  CHECK(fake.requests().empty());
}

// ---- constrained output -------------------------------------------------------------------

namespace {

// OpenAI's strict mode: every object lists all its properties in "required" and has
// "additionalProperties": false; optional values are unions with null. Returns the paths
// that break a rule.
void strict_violations(const json::value& schema, const std::string& path,
                       std::vector<std::string>& out) {
  if (!schema.is_object()) return;
  const auto& o = schema.as_object();
  if (o.contains("type") && o.at("type") == "object") {
    if (!o.contains("additionalProperties") || o.at("additionalProperties") != false)
      out.push_back(path + ": additionalProperties is not false");
    const auto& props = o.at("properties").as_object();
    std::set<std::string> required;
    if (const auto* r = o.if_contains("required"))
      for (const auto& name : r->as_array()) required.insert(name.as_string().c_str());
    for (const auto& [name, sub] : props) {
      if (!required.count(std::string(name)))
        out.push_back(path + "." + std::string(name) + ": not required");
      strict_violations(sub, path + "." + std::string(name), out);
    }
  }
  if (const auto* items = o.if_contains("items")) strict_violations(*items, path + "[]", out);
  if (const auto* any = o.if_contains("anyOf"))
    for (const auto& alt : any->as_array()) strict_violations(alt, path + "|", out);
}

}  // namespace

TEST_CASE("llm: the operations schema is what strict mode accepts", "[extract_llm][schema]") {
  std::vector<std::string> violations;
  strict_violations(operations_schema(), "$", violations);
  CHECK(violations.empty());
  for (const auto& v : violations) UNSCOPED_INFO(v);
  // The rule is a real one: a schema with an optional property breaks it.
  json::value loose = operations_schema();
  loose.as_object()["properties"].as_object()["note"] = json::object{{"type", "string"}};
  loose.as_object()["additionalProperties"] = true;
  violations.clear();
  strict_violations(loose, "$", violations);
  CHECK(violations.size() == 2);
  // Every category is allowed, and only the three ops.
  const auto& op = operations_schema().at("properties").at("operations").at("items");
  CHECK(op.at("properties").at("op").at("enum") == json::parse(R"(["add","update","delete"])"));
  const auto& cats = op.at("properties").at("category").at("anyOf").at(0).at("enum").as_array();
  CHECK(cats.size() == std::size(fact_category::all));
}

TEST_CASE("llm: schema-conforming answers with nulls are understood", "[extract_llm][schema]") {
  // What strict decoding produces: every field present, the unused ones null.
  const std::string strict_answer =
      R"({"operations": [{"op": "update", "id": "f-1", "text": "Lives in Boston", "category": null},)"
      R"( {"op": "add", "id": null, "text": "Has a dog named Max", "category": "relationships"}]})";
  reset_structured_output_fallbacks();
  fake_llm fake;
  fake.push(openai_reply(strict_answer));
  fake.push(anthropic_tool_reply(strict_answer));
  llm_extractor oa(openai_options(fake));
  check_good_ops(oa.extract(sample_input()));
  llm_extractor an(anthropic_options(fake));
  const auto out = an.extract(sample_input());
  check_good_ops(out);
  CHECK(out.ops[0].category.empty());  // an update without a category keeps the old one
}

TEST_CASE("llm anthropic: the forced tool's input is the answer, text blocks are ignored",
          "[extract_llm][schema]") {
  reset_structured_output_fallbacks();
  fake_llm fake;
  auto reply = anthropic_tool_reply(kGoodAnswer);
  // A preamble text block next to the tool call (models add one) is not the answer.
  auto body = json::parse(reply.body);
  body.at("content").as_array().insert(
      body.at("content").as_array().begin(),
      json::object{{"type", "text"}, {"text", R"({"operations": []})"}});
  reply.body = json::serialize(body);
  fake.push(reply);
  fake.push(anthropic_tool_reply(kGoodAnswer, "some_other_tool"));
  llm_extractor ex(anthropic_options(fake));
  check_good_ops(ex.extract(sample_input()));
  // A call of another tool is no answer.
  auto e = unparseable_failure(ex);
  CHECK(std::string(e.what()).find("no text content") != std::string::npos);
}

TEST_CASE("llm anthropic: a tool input cut at max_tokens is truncated even when it parses",
          "[extract_llm][schema][truncation]") {
  reset_structured_output_fallbacks();
  fake_llm fake;
  fake.push(
      anthropic_tool_reply(R"({"operations": []})", "record_memory_operations", "max_tokens"));
  fake.push(anthropic_tool_reply(kGoodAnswer));
  llm_extractor ex(anthropic_options(fake));
  check_good_ops(ex.extract(sample_input()));
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(budget_of(reqs[1]) == 2 * budget_of(reqs[0]));
}

TEST_CASE("llm: structured_output false sends plain JSON mode", "[extract_llm][schema]") {
  reset_structured_output_fallbacks();
  fake_llm fake;
  fake.push(openai_reply(kGoodAnswer));
  fake.push(anthropic_reply(kGoodAnswer));
  auto oo = openai_options(fake);
  oo.structured_output = false;
  llm_extractor oa(oo);
  CHECK_FALSE(oa.uses_structured_output());
  check_good_ops(oa.extract(sample_input()));
  auto ao = anthropic_options(fake);
  ao.structured_output = false;
  llm_extractor an(ao);
  check_good_ops(an.extract(sample_input()));
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(json::parse(reqs[0].body).at("response_format").at("type") == "json_object");
  CHECK_FALSE(json::parse(reqs[1].body).as_object().contains("tools"));
  CHECK_FALSE(json::parse(reqs[1].body).as_object().contains("tool_choice"));
}

TEST_CASE("llm: a server that rejects the schema gets plain JSON mode, once per process",
          "[extract_llm][schema]") {
  reset_structured_output_fallbacks();
  const bool anthropic = GENERATE(false, true);
  CAPTURE(anthropic);
  fake_llm fake;
  fake.push(error_reply(400, anthropic ? "tools: Input tag 'tool' found using 'type' does not match"
                                       : "Invalid schema for response_format 'memory_operations'"));
  fake.push(anthropic ? anthropic_reply(kGoodAnswer) : openai_reply(kGoodAnswer));
  fake.push(anthropic ? anthropic_reply(kGoodAnswer) : openai_reply(kGoodAnswer));
  const auto opts = anthropic ? anthropic_options(fake) : openai_options(fake);
  llm_extractor first(opts);
  llm_extractor second(opts);  // another extractor of the same pool
  CHECK(first.uses_structured_output());
  check_good_ops(first.extract(sample_input()));
  CHECK_FALSE(first.uses_structured_output());
  CHECK_FALSE(second.uses_structured_output());
  check_good_ops(second.extract(sample_input()));  // one request: no new probe
  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 3);
  auto constrained = [&](const fake_request& r) {
    const auto b = json::parse(r.body).as_object();
    return anthropic ? b.contains("tools") : b.at("response_format").at("type") == "json_schema";
  };
  CHECK(constrained(reqs[0]));
  CHECK_FALSE(constrained(reqs[1]));
  CHECK_FALSE(constrained(reqs[2]));
  // Another model on the same server is asked with the schema again.
  fake.push(anthropic ? anthropic_reply(kGoodAnswer) : openai_reply(kGoodAnswer));
  auto other = opts;
  other.model = "another-model";
  llm_extractor third(other);
  CHECK(third.uses_structured_output());
  check_good_ops(third.extract(sample_input()));
  CHECK(constrained(fake.requests().back()));
}

TEST_CASE("llm: a 400 that is not about the schema stays permanent and keeps the schema",
          "[extract_llm][schema]") {
  reset_structured_output_fallbacks();
  fake_llm fake;
  fake.push(error_reply(400, "model 'gpt-test' does not exist"));
  fake.push(error_reply(400, "model 'gpt-test' does not exist"));
  llm_extractor ex(openai_options(fake));
  auto e = failure_of(ex);
  CHECK(e.kind() == failure_kind::permanent);
  CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
  CHECK(fake.requests().size() == 2);  // the probe without the schema
  CHECK(ex.uses_structured_output());

  // The plain request failing otherwise (503) is that failure, and proves nothing either.
  fake.push(error_reply(422, "unprocessable"));
  fake.push(error_reply(503, "overloaded"));
  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::transient);
  CHECK(ex.uses_structured_output());

  // Once the schema was accepted, a later 400 is not blamed on it: no probe.
  fake.push(openai_reply(kGoodAnswer));
  check_good_ops(ex.extract(sample_input()));
  const auto before = fake.requests().size();
  fake.push(error_reply(400, "context length exceeded"));
  e = failure_of(ex);
  CHECK(e.kind() == failure_kind::permanent);
  CHECK(fake.requests().size() == before + 1);
  CHECK(ex.uses_structured_output());
}
