// The real memoryd binary on a free loopback port with temporary databases. The cases about
// what the service stores run on both backends (FOR_EACH_SERVICE_BACKEND); the command line,
// the dry run and the token and signature checks of the HTTP layer touch no storage and run
// once, on SQLite.
#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>

#include <sstream>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stored_db.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace memoryd::testing;
namespace json = boost::json;

using counts = std::map<std::string, long long>;

TEST_CASE("a WhatsApp message becomes facts after one cycle of the running service") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "200";
  service svc(dir, env);
  auto r = twilio(svc.port, dog_form);
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"].find("text/xml") != std::string::npos);
  CHECK(r.body.find("<Response") != std::string::npos);
  std::vector<std::string> facts;
  for (int i = 0; i < 100 && facts.size() < 2; ++i) {  // bounded: 10 s at most
    std::this_thread::sleep_for(100ms);
    facts = fact_texts(svc.port, "%2B15551234567");
  }
  CHECK(facts.size() == 2);
  CHECK(std::count(facts.begin(), facts.end(), "Has a dog named Max") == 1);
  CHECK(std::count(facts.begin(), facts.end(), "Is allergic to peanuts") == 1);
  // The facts commit first, then the message is marked done (at-least-once with an
  // idempotent write): it may still be leased for a moment after the facts are visible.
  auto msgs = messages_of(svc.port, "%2B15551234567");
  for (int i = 0; i < 100 && msgs.size() == 1 && msgs[0].at("status").as_string() != "done";
       ++i) {  // bounded: 2 s at most
    std::this_thread::sleep_for(20ms);
    msgs = messages_of(svc.port, "%2B15551234567");
  }
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].at("channel").as_string() == "whatsapp");
  CHECK(msgs[0].at("status").as_string() == "done");
  // Info logs carry no message text and no full phone number.
  auto out = svc.proc.out();
  CHECK(out.find("peanuts") == std::string::npos);
  CHECK(out.find("15551234567") == std::string::npos);
  CHECK(out.find("memory_processor_complete") != std::string::npos);
  CHECK(svc.stop() == 0);
  stored_db db(b, dir);
  CHECK(db.messages_by_status() == counts{{"done", 1}});
  CHECK(db.fact_texts().size() == 2);
}

TEST_CASE("process-once processes what the service stored and prints the cycle as JSON") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  {
    service svc(dir, env);
    CHECK(twilio(svc.port, dog_form).status == 200);
    auto r =
        http_request(svc.port, "POST", "/v1/messages",
                     R"({"messages":[{"user_id":"u1","role":"user","content":"I live in New York."},
                              {"user_id":"u1","role":"assistant","content":"I love New York too!"}]})",
                     "application/json");
    CHECK(r.status == 202);
    CHECK(svc.stop() == 0);
  }
  auto once = run_command({binary, "process-once"}, env);
  REQUIRE(once.exit_code == 0);
  auto result = json::parse(once.out).as_object();
  CHECK(result.at("messages_processed").as_int64() == 2);
  CHECK(result.at("facts_written").as_int64() == 3);
  CHECK(result.at("errors").as_int64() == 0);
  for (auto key : {"claim_ms", "extract_ms", "write_ms", "total_ms"}) CHECK(result.contains(key));
  // Facts are there for the next start; the assistant's words made none.
  service svc(dir, env);
  CHECK(fact_texts(svc.port, "u1") == std::vector<std::string>{"Lives in New York"});
  CHECK(fact_texts(svc.port, "%2B15551234567").size() == 2);
  CHECK(svc.stop() == 0);
  auto again = run_command({binary, "process-once"}, env);
  CHECK(json::parse(again.out).at("messages_processed").as_int64() == 0);
  // The assistant's message is not queued for extraction.
  CHECK(stored_db(b, dir).messages_by_status() == counts{{"done", 2}, {"skipped", 1}});
}

TEST_CASE("a repeated MessageSid adds no row and still answers 200") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  CHECK(twilio(svc.port, dog_form).status == 200);
  CHECK(twilio(svc.port, dog_form).status == 200);
  CHECK(messages_of(svc.port, "%2B15551234567").size() == 1);
  CHECK(svc.stop() == 0);
  CHECK(stored_db(b, dir).count(stored::conversations,
                                "SELECT count(*) FROM messages WHERE external_id = 'SM0001'") == 1);
}

TEST_CASE("malformed bodies get a 4xx with a JSON error and write nothing") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  struct bad {
    std::string target, body, type;
  };
  std::vector<bad> cases = {
      {"/v1/messages", "{not json", "application/json"},
      {"/v1/messages", R"({"user_id":"x","role":"user","content":5})", "application/json"},
      {"/v1/messages", R"({"user_id":"x","role":"boss","content":"hi"})", "application/json"},
      {"/v1/messages", R"({"user_id":"","role":"user","content":"hi"})", "application/json"},
      {"/v1/messages", "{\"user_id\":\"x\",\"role\":\"user\",\"content\":\"\xff\xfe\"}",
       "application/json"},
      {"/v1/messages",
       R"({"messages":[{"user_id":"x","role":"user","content":"ok"},{"user_id":"x"}]})",
       "application/json"},
      {"/webhooks/twilio", "Body=hello&MessageSid=SM1", "application/x-www-form-urlencoded"},
      {"/webhooks/twilio", "From=%2B1555&Body=%ZZ", "application/x-www-form-urlencoded"},
      {"/sms", "From=%2B1555&Body=%FF%FE", "application/x-www-form-urlencoded"},
      {"/v1/messages", std::string(70000, 'a'), "application/json"},
  };
  for (auto& c : cases) {
    auto r = http_request(svc.port, "POST", c.target, c.body, c.type);
    INFO(c.target << " " << c.body.substr(0, 80));
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    auto err = json::parse(r.body).at("error").as_object();
    CHECK(!err.at("code").as_string().empty());
    CHECK(!err.at("message").as_string().empty());
  }
  CHECK(messages_of(svc.port, "x").empty());
  CHECK(messages_of(svc.port, "%2B1555").empty());
  CHECK(svc.stop() == 0);
  stored_db db(b, dir);
  CHECK(db.count(stored::conversations, "SELECT count(*) FROM messages") == 0);
  CHECK(db.count(stored::conversations, "SELECT count(*) FROM user_queue") == 0);
}

TEST_CASE("SIGTERM exits cleanly and every acknowledged message is there after a restart") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  env["MEMORYD_SYNCHRONOUS"] = "full";
  int acked = 0;
  {
    service svc(dir, env);
    for (int i = 0; i < 20; ++i) {
      auto r = http_request(
          svc.port, "POST", "/v1/messages",
          R"({"user_id":"d","role":"user","content":"note )" + std::to_string(i) + R"("})",
          "application/json");
      acked += r.status == 202 ? 1 : 0;
    }
    CHECK(svc.stop() == 0);
    CHECK(svc.proc.out().find("server_stopped") != std::string::npos);
  }
  CHECK(acked == 20);
  CHECK(stored_db(b, dir).count(stored::conversations,
                                "SELECT count(*) FROM messages WHERE user_id = ?1", {"d"}) == 20);
  service svc(dir, env);
  CHECK(messages_of(svc.port, "d").size() == 20);
  CHECK(svc.stop() == 0);
}

TEST_CASE("command line: help, version, config errors exit 2 naming the key") {
  auto help = run_command({binary, "--help"}, {});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("process-once") != std::string::npos);
  CHECK(run_command({binary, "--version"}, {}).exit_code == 0);
  auto bad = run_command({binary, "serve"}, {{"MEMORY_PROCESSOR_BATCH_SIZE", "many"}});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("processor.batch_size") != std::string::npos);
  auto unknown = run_command({binary, "frobnicate"}, {});
  CHECK(unknown.exit_code == 2);
  auto open = run_command({binary, "serve"}, {{"MEMORYD_LISTEN", "0.0.0.0:0"}});
  CHECK(open.exit_code == 2);
  CHECK(open.err.find("server.api_token") != std::string::npos);
}

TEST_CASE("extract is a dry run over JSONL records") {
  auto r = run_command({binary, "extract"}, {},
                       "{\"id\":\"a\",\"user_id\":\"u\",\"messages\":[\"I have a dog named "
                       "Max.\",\"how are you?\"]}\n"
                       "{\"id\":\"b\",\"user_id\":\"v\",\"messages\":[\"lol\"]}\n");
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  auto a = json::parse(first);
  CHECK(a.at("id").as_string() == "a");
  REQUIRE(a.at("facts").as_array().size() == 1);
  CHECK(a.at("facts").as_array()[0].at("text").as_string() == "Has a dog named Max");
  CHECK(json::parse(second).at("facts").as_array().empty());
}

TEST_CASE("with an API token every v1 route needs it and the webhook does not") {
  temp_dir dir;
  auto env = env_for(dir);
  env["MEMORYD_API_TOKEN"] = "s3cret-token";
  service svc(dir, env);
  const std::string body = R"({"user_id":"t","role":"user","content":"I like tea."})";
  std::vector<std::map<std::string, std::string>> wrong = {
      {},
      {{"Authorization", "Bearer nope"}},
      {{"Authorization", "s3cret-token"}},
      {{"Authorization", "Bearer s3cret-token-and-more"}}};
  for (auto& headers : wrong) {
    CHECK(
        http_request(svc.port, "POST", "/v1/messages", body, "application/json", headers).status ==
        401);
    CHECK(http_request(svc.port, "GET", "/v1/users/t/messages", "", "", headers).status == 401);
    CHECK(http_request(svc.port, "GET", "/v1/users/t/facts", "", "", headers).status == 401);
  }
  std::map<std::string, std::string> good = {{"Authorization", "Bearer s3cret-token"}};
  CHECK(http_request(svc.port, "POST", "/v1/messages", body, "application/json", good).status ==
        202);
  auto r = http_request(svc.port, "GET", "/v1/users/t/messages", "", "", good);
  CHECK(r.status == 200);
  CHECK(json::parse(r.body).at("messages").as_array().size() == 1);
  CHECK(twilio(svc.port, dog_form).status == 200);
  CHECK(http_request(svc.port, "GET", "/healthz").status == 200);
  CHECK(svc.stop() == 0);
}

TEST_CASE(
    "no anonymous writers: beyond loopback without TWILIO_AUTH_TOKEN serve refuses to start") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  env["MEMORYD_LISTEN"] = "0.0.0.0:0";  // refused before anything listens
  env["MEMORYD_API_TOKEN"] = "admin-token-0123456789";
  auto refused = run_command({binary, "serve"}, env);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("twilio.auth_token") != std::string::npos);
  CHECK(refused.err.find("TWILIO_ALLOW_UNSIGNED") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("conversation.db")));  // nothing was opened
  if (b.postgres())  // not even a connection: no migration ran
    CHECK(pg_client(b.url()).number("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema = current_schema()") == 0);
  env.erase("MEMORYD_API_TOKEN");
  env["TWILIO_AUTH_TOKEN"] = "tw";
  auto no_api = run_command({binary, "serve"}, env);
  CHECK(no_api.exit_code == 2);
  CHECK(no_api.err.find("server.api_token") != std::string::npos);
}

TEST_CASE("twilio.allow_unsigned is logged as a warning at start and readyz says unsigned") {
  temp_dir dir;
  auto env = env_for(dir);
  env["TWILIO_ALLOW_UNSIGNED"] = "true";
  service svc(dir, env);
  CHECK(svc.proc.out().find("\"insecure_configuration\"") != std::string::npos);
  auto ready = http_request(svc.port, "GET", "/readyz");
  CHECK(ready.body.find("\"webhook_signed\":false") != std::string::npos);
  CHECK(svc.stop() == 0);
}

TEST_CASE("scoped tokens over HTTP: a bot's ingest+read token cannot erase or read status") {
  temp_dir dir;
  auto env = env_for(dir);
  env["MEMORYD_API_TOKENS"] = "ingest:bot-0123456789,read:bot-0123456789,admin:ops-0123456789";
  env["TWILIO_AUTH_TOKEN"] = "tw";
  service svc(dir, env);
  const std::map<std::string, std::string> bot = {{"Authorization", "Bearer bot-0123456789"}},
                                           ops = {{"Authorization", "Bearer ops-0123456789"}};
  const std::string body = R"({"user_id":"t","role":"user","content":"I like tea."})";
  CHECK(http_request(svc.port, "POST", "/v1/messages", body, "application/json", bot).status ==
        202);
  CHECK(http_request(svc.port, "GET", "/v1/users/t/messages", "", "", bot).status == 200);
  auto erase = http_request(svc.port, "DELETE", "/v1/users/t", "", "", bot);
  CHECK(erase.status == 403);
  CHECK(erase.body.find("'admin' scope") != std::string::npos);
  CHECK(http_request(svc.port, "GET", "/v1/processor/status", "", "", bot).status == 403);
  CHECK(http_request(svc.port, "GET", "/v1/processor/status", "", "", ops).status == 200);
  CHECK(http_request(svc.port, "DELETE", "/v1/users/t", "", "", ops).status == 200);
  CHECK(http_request(svc.port, "GET", "/v1/users/t/messages").status == 401);
  CHECK(http_request(svc.port, "GET", "/readyz").body.find("\"webhook_signed\":true") !=
        std::string::npos);
  CHECK(svc.proc.out().find("0123456789") == std::string::npos);  // tokens are never logged
  CHECK(svc.stop() == 0);
}
