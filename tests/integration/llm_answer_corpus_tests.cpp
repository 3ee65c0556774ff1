// The corpus of answer shapes (tests/data/llm_answers/*.json) against the real binary: each
// fixture's answers are served in order by the fake LLM on 127.0.0.1 to a memoryd with that
// provider, and the fixture's messages must end with the expected status, attempts,
// last_error and facts, after exactly the expected number of LLM calls.
//
// SQLite only: the corpus is about how answers are read (about 50 s under ctest, a service
// per section); the outcomes they lead to (done, retry, dead, attempts, last_error) are the
// store's transitions that llm_tests.cpp and llm_faults_tests.cpp run on both backends.
//
// A fixture: {"shape", "provider": "openai" | "anthropic", "messages": [text...],
//   "answers": [{"status", "content_type", "headers": {name: value}, "body": string | JSON,
//                "encoding": "gzip" | "zlib" | "raw" (compress the body; the fixture's
//                headers carry its Content-Encoding)}],
//   "expect": {"status", "attempts", "last_error": null | substring, "facts": [text...],
//              "requests"}}
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/compress.hpp"
#include "tests/support/fake_llm.hpp"
#include "tests/support/memoryd_service.hpp"

using namespace memoryd::testing;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(MEMORYD_SOURCE_DIR) / "tests/data/llm_answers";

struct fixture {
  std::string name;
  json::object doc;
};

std::vector<fixture> fixtures_of(const std::string& provider) {
  std::vector<fixture> out;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream f(entry.path());
    std::stringstream ss;
    ss << f.rdbuf();
    auto doc = json::parse(ss.str()).as_object();
    if (doc.at("provider").as_string() == provider.c_str())
      out.push_back({entry.path().stem().string(), std::move(doc)});
  }
  std::sort(out.begin(), out.end(),
            [](const fixture& a, const fixture& b) { return a.name < b.name; });
  return out;
}

fake_response response_of(const json::object& a) {
  fake_response r;
  r.status = static_cast<int>(a.at("status").as_int64());
  if (const auto* ct = a.if_contains("content_type")) r.content_type = ct->as_string().c_str();
  if (const auto* hs = a.if_contains("headers"))
    for (const auto& [name, value] : hs->as_object())
      r.headers.emplace_back(std::string(name), value.as_string().c_str());
  const auto& body = a.at("body");
  r.body = body.is_string() ? std::string(body.as_string().c_str()) : json::serialize(body);
  if (const auto* enc = a.if_contains("encoding")) {
    const std::string e = enc->as_string().c_str();
    r.body = compress(r.body, e == "gzip"   ? compression::gzip
                              : e == "zlib" ? compression::zlib
                                            : compression::raw);
  }
  return r;
}

std::map<std::string, std::string> corpus_env(const temp_dir& dir, const std::string& provider,
                                              const fake_llm& llm) {
  auto env = env_for(dir);
  env["EXTRACTOR"] = provider;
  env["EXTRACTOR_POOL_SIZE"] = "1";
  env["LLM_TIMEOUT_MS"] = "5000";
  env["LLM_MAX_TOKENS"] = "1024";
  env["MEMORY_PROCESSOR_MAX_ATTEMPTS"] = "3";
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = "20";
  env["MEMORY_PROCESSOR_RETRY_MAX_MS"] = "40";
  if (provider == "openai") {
    env["OPENAI_BASE_URL"] = llm.url() + "/v1";
    env["OPENAI_MODEL"] = "test-model";
    env["OPENAI_API_KEY"] = "";
  } else {
    env["ANTHROPIC_BASE_URL"] = llm.url();
    env["ANTHROPIC_MODEL"] = "claude-test";
    env["ANTHROPIC_API_KEY"] = "sk-ant-test";
  }
  return env;
}

bool final_status(const json::value& m) {
  const auto& s = m.at("status").as_string();
  return s != "pending" && s != "leased";
}

void run_fixture(std::uint16_t port, fake_llm& llm, const fixture& fx) {
  const auto& expect = fx.doc.at("expect").as_object();
  INFO("fixture " << fx.name << ": " << fx.doc.at("shape").as_string().c_str());
  const std::size_t calls_before = llm.requests().size();
  for (const auto& a : fx.doc.at("answers").as_array()) llm.push(response_of(a.as_object()));
  json::array batch;
  for (const auto& text : fx.doc.at("messages").as_array())
    batch.push_back(json::object{{"user_id", fx.name}, {"role", "user"}, {"content", text}});
  auto posted =
      http_request(port, "POST", "/v1/messages", json::serialize(json::object{{"messages", batch}}),
                   "application/json");
  REQUIRE(posted.status == 202);

  // Cycles until every message is done or dead; retries are due after 10..40 ms.
  json::array msgs;
  for (int i = 0; i < 200; ++i) {
    http_request(port, "POST", "/v1/processor/run", "", "application/json", {}, 20s);
    msgs = messages_of(port, fx.name);
    if (std::all_of(msgs.begin(), msgs.end(), final_status)) break;
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(msgs.size() == fx.doc.at("messages").as_array().size());
  for (const auto& m : msgs) {
    CAPTURE(json::serialize(m));
    CHECK(m.at("status").as_string() == expect.at("status").as_string());
    CHECK(m.at("attempts").as_int64() == expect.at("attempts").as_int64());
    const auto& want = expect.at("last_error");
    const auto& got = m.at("last_error");
    if (want.is_null()) {
      CHECK(got.is_null());
    } else {
      REQUIRE(got.is_string());
      CHECK_THAT(std::string(got.as_string().c_str()),
                 Catch::Contains(std::string(want.as_string().c_str())));
    }
  }
  auto facts = fact_texts(port, fx.name);
  std::sort(facts.begin(), facts.end());
  std::vector<std::string> want_facts;
  for (const auto& f : expect.at("facts").as_array())
    want_facts.emplace_back(f.as_string().c_str());
  std::sort(want_facts.begin(), want_facts.end());
  CHECK(facts == want_facts);
  CHECK(llm.requests().size() - calls_before ==
        static_cast<std::size_t>(expect.at("requests").as_int64()));
}

void run_corpus(const std::string& provider) {
  const auto fixtures = fixtures_of(provider);
  REQUIRE(fixtures.size() >= 8);
  temp_dir dir;
  fake_llm llm;
  service svc(dir, corpus_env(dir, provider, llm));
  for (const auto& fx : fixtures) {
    SECTION(fx.name) { run_fixture(svc.port, llm, fx); }
  }
  // No answer shape reaches the log with message text at info level.
  CHECK(svc.proc.out().find("dog named Max.") == std::string::npos);
  CHECK(svc.stop() == 0);
}

}  // namespace

TEST_CASE("answer corpus: OpenAI-compatible shapes end as the fixtures say", "[llm_corpus]") {
  run_corpus("openai");
}

TEST_CASE("answer corpus: Anthropic shapes end as the fixtures say", "[llm_corpus]") {
  run_corpus("anthropic");
}
