// The real binary with an LLM backend, against a fake LLM server on 127.0.0.1. The cases whose
// outcome is a stored status (dead letter, retry) run on both storage backends; the request
// shapes of the providers and the dry run do not depend on storage and run once.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "tests/support/fake_llm.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/stored_db.hpp"

#include <thread>

using namespace memoryd::testing;
namespace json = boost::json;

namespace {

const std::string ops_answer =
    R"({"operations":[{"op":"add","text":"Has a dog named Max","category":"relationships"},)"
    R"({"op":"add","text":"Is allergic to peanuts","category":"health"}]})";

// `env` (env_for(dir) or env_for(b, dir)) with the extractor of `provider` at the fake LLM.
std::map<std::string, std::string> llm_env(std::map<std::string, std::string> env,
                                           const std::string& provider, const fake_llm& llm) {
  env["EXTRACTOR"] = provider;
  env["EXTRACTOR_POOL_SIZE"] = "2";
  env["LLM_TIMEOUT_MS"] = "5000";
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

json::value run_cycle(std::uint16_t port) {
  auto r = http_request(port, "POST", "/v1/processor/run", "", "application/json", {}, 20s);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

}  // namespace

TEST_CASE("openai-compatible backend: facts land and the request is what the API expects") {
  temp_dir dir;
  fake_llm llm;
  llm.push(openai_reply(ops_answer, 321, 45));
  service svc(dir, llm_env(env_for(dir), "openai", llm));
  CHECK(twilio(svc.port, dog_form).status == 200);
  auto cycle = run_cycle(svc.port);
  CHECK(cycle.at("facts_written").as_int64() == 2);
  auto facts = fact_texts(svc.port, "%2B15551234567");
  CHECK(facts.size() == 2);
  auto reqs = llm.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].target == "/v1/chat/completions");
  CHECK(reqs[0].headers.count("authorization") == 0);  // no key: local server
  auto body = json::parse(reqs[0].body);
  CHECK(body.at("model").as_string() == "test-model");
  CHECK(body.at("temperature").to_number<double>() == 0);
  // The user's words are in the prompt; the log has the token counts but not the words.
  CHECK(reqs[0].body.find("allergic to peanuts") != std::string::npos);
  auto out = svc.proc.out();
  CHECK(out.find("\"input_tokens\":321") != std::string::npos);
  CHECK(out.find("peanuts") == std::string::npos);
  auto metrics = http_request(svc.port, "GET", "/metrics").body;
  CHECK(metrics.find("memoryd_llm_tokens_total{direction=\"input\"} 321") != std::string::npos);
  CHECK(svc.stop() == 0);
}

TEST_CASE("anthropic backend: facts land with the API key header") {
  temp_dir dir;
  fake_llm llm;
  llm.push(anthropic_reply("Here you go:\n```json\n" + ops_answer + "\n```"));
  service svc(dir, llm_env(env_for(dir), "anthropic", llm));
  CHECK(twilio(svc.port, dog_form).status == 200);
  CHECK(run_cycle(svc.port).at("facts_written").as_int64() == 2);
  auto reqs = llm.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].target == "/v1/messages");
  CHECK(reqs[0].headers["x-api-key"] == "sk-ant-test");
  CHECK(reqs[0].headers["anthropic-version"] == "2023-06-01");
  CHECK(svc.stop() == 0);
}

TEST_CASE("the pipeline gives the LLM the assistant turn before a reply, marked as context") {
  temp_dir dir;
  fake_llm llm;
  llm.push(openai_reply(
      R"({"operations":[{"op":"add","text":"Is not married","category":"relationships"}]})"));
  service svc(dir, llm_env(env_for(dir), "openai", llm));
  const std::string body =
      R"({"messages": [{"user_id": "u-ctx", "role": "assistant", "content": "Are you married?"},)"
      R"({"user_id": "u-ctx", "role": "user", "content": "No, not yet."}]})";
  REQUIRE(http_request(svc.port, "POST", "/v1/messages", body, "application/json").status == 202);
  CHECK(run_cycle(svc.port).at("facts_written").as_int64() == 1);
  auto reqs = llm.requests();
  REQUIRE(reqs.size() == 1);
  // The prompt is a JSON string inside the request body: its quotes are escaped there.
  const auto& sent = reqs[0].body;
  CHECK(sent.find(R"(\"assistant_before\": \"Are you married?\", \"text\": \"No, not yet.\")") !=
        std::string::npos);
  CHECK(fact_texts(svc.port, "u-ctx") == std::vector<std::string>{"Is not married"});
  CHECK(svc.stop() == 0);
}

TEST_CASE("a wrong key dead-letters at once and garbage is processed with its error") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  fake_llm llm;
  llm.push(error_reply(401, "invalid x-api-key"));
  service svc(dir, llm_env(env_for(b, dir), "anthropic", llm));
  CHECK(twilio(svc.port, dog_form).status == 200);
  auto cycle = run_cycle(svc.port);
  CHECK(cycle.at("dead_lettered").as_int64() == 1);
  auto msgs = messages_of(svc.port, "%2B15551234567");
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].at("status").as_string() == "dead");
  CHECK(std::string(msgs[0].at("last_error").as_string().c_str()).find("401") != std::string::npos);
  CHECK(llm.requests().size() == 1);  // no retries burnt on a permanent error

  llm.push(anthropic_reply("I'm sorry, I can't help with that."));
  http_request(svc.port, "POST", "/v1/messages",
               R"({"user_id":"g","role":"user","content":"I like tea."})", "application/json");
  cycle = run_cycle(svc.port);
  CHECK(cycle.at("messages_processed").as_int64() == 1);
  auto g = messages_of(svc.port, "g");
  REQUIRE(g.size() == 1);
  CHECK(g[0].at("status").as_string() == "done");
  CHECK(std::string(g[0].at("last_error").as_string().c_str()).find("parse") != std::string::npos);
  CHECK(svc.stop() == 0);
  auto dead = stored_db(b, dir).messages("status = 'dead'");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].user_id == "+15551234567");
  CHECK(dead[0].attempts == 1);
}

TEST_CASE("a server error is retried later, not dead-lettered") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  fake_llm llm;
  // Both answers are queued up front: the retry may come before this thread looks again
  // (under ThreadSanitizer it did), and it must find the good answer, not an empty queue.
  llm.push(error_reply(529, "overloaded"));
  llm.push(anthropic_reply(ops_answer));
  auto env = llm_env(env_for(b, dir), "anthropic", llm);
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = "100";
  service svc(dir, env);
  CHECK(twilio(svc.port, dog_form).status == 200);
  auto cycle = run_cycle(svc.port);
  CHECK(cycle.at("retries_scheduled").as_int64() == 1);
  CHECK(cycle.at("dead_lettered").as_int64() == 0);
  auto msgs = messages_of(svc.port, "%2B15551234567");
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].at("status").as_string() != "dead");  // pending, or already leased again
  // The batcher wakes itself when the retry is due (50..100 ms): bounded wait.
  for (int i = 0; i < 50 && fact_texts(svc.port, "%2B15551234567").size() < 2; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(fact_texts(svc.port, "%2B15551234567").size() == 2);
  CHECK(llm.requests().size() == 2);
  CHECK(svc.stop() == 0);
  auto msgs_stored = stored_db(b, dir).messages();
  REQUIRE(msgs_stored.size() == 1);
  CHECK(msgs_stored[0].status == "done");
  CHECK(msgs_stored[0].attempts == 2);  // the failed call and the good one
}

TEST_CASE("extract dry run works with an LLM backend") {
  temp_dir dir;
  fake_llm llm;
  llm.push(openai_reply(ops_answer));
  auto r = run_command({binary, "extract"}, llm_env(env_for(dir), "openai", llm),
                       R"({"id":"a","user_id":"u","messages":["I have a dog named Max."]})"
                       "\n");
  REQUIRE(r.exit_code == 0);
  auto line = json::parse(r.out);
  CHECK(line.at("id").as_string() == "a");
  CHECK(line.at("facts").as_array().size() == 2);
}

TEST_CASE("extract dry run shows a failed record's error and exits 1") {
  temp_dir dir;
  fake_llm llm;
  llm.push(openai_reply("Sorry, I can only answer in prose."));
  llm.push(openai_reply(ops_answer));
  auto r = run_command({binary, "extract"}, llm_env(env_for(dir), "openai", llm),
                       R"({"id":"a","user_id":"u","messages":["I have a dog named Max."]})"
                       "\n"
                       R"({"id":"b","user_id":"u","messages":["I have a dog named Max."]})"
                       "\n");
  CHECK(r.exit_code == 1);
  std::istringstream lines(r.out);
  std::string line;
  REQUIRE(std::getline(lines, line));
  auto a = json::parse(line);
  CHECK(a.at("id").as_string() == "a");
  CHECK(a.at("facts").as_array().empty());
  CHECK(std::string(a.at("error").as_string().c_str()).find("unparseable") == 0);
  REQUIRE(std::getline(lines, line));
  auto b = json::parse(line);
  CHECK(b.at("facts").as_array().size() == 2);
  CHECK_FALSE(b.as_object().contains("error"));
  CHECK(r.err.find("line 1: unparseable: no JSON found") != std::string::npos);
}
