// The rest of the API and the CLI, through the real binary, on both backends
// (FOR_EACH_SERVICE_BACKEND); the Twilio signature check is the HTTP layer's and runs once.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <future>
#include <thread>

#include "http/twilio_signature.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/stored_db.hpp"

using namespace memoryd::testing;
namespace json = boost::json;

namespace {

http_response post_json(std::uint16_t port, const std::string& target, const std::string& body) {
  return http_request(port, "POST", target, body, "application/json");
}

}  // namespace

TEST_CASE("remember, forget, run, status over HTTP") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  auto added =
      post_json(svc.port, "/v1/users/alice/facts", R"({"text":"Is vegan","category":"health"})");
  REQUIRE(added.status == 201);
  auto fact = json::parse(added.body).at("fact");
  CHECK(fact.at("text").as_string() == "Is vegan");
  CHECK(fact.at("category").as_string() == "health");
  std::string id(fact.at("id").as_string().c_str());
  // The same fact again (other case and punctuation) is the same fact.
  auto again = post_json(svc.port, "/v1/users/alice/facts", R"({"text":"is VEGAN!"})");
  CHECK(again.status == 201);
  CHECK(json::parse(again.body).at("fact").at("id").as_string() == id);
  CHECK(fact_texts(svc.port, "alice") == std::vector<std::string>{"Is vegan"});

  CHECK(post_json(svc.port, "/v1/users/alice/facts", R"({"text":""})").status == 400);
  CHECK(post_json(svc.port, "/v1/users/alice/facts", R"({"text":5})").status == 400);
  CHECK(post_json(svc.port, "/v1/users/alice/facts", R"({"text":"x","category":"food"})").status ==
        400);
  CHECK(post_json(svc.port, "/v1/users/alice/facts", "{nope").status == 400);

  CHECK(http_request(svc.port, "DELETE", "/v1/users/bob/facts/" + id).status == 404);
  CHECK(http_request(svc.port, "DELETE", "/v1/users/alice/facts/no-such-id").status == 404);
  CHECK(http_request(svc.port, "DELETE", "/v1/users/alice/facts/" + id).status == 200);
  CHECK(http_request(svc.port, "DELETE", "/v1/users/alice/facts/" + id).status == 404);
  CHECK(fact_texts(svc.port, "alice").empty());
  auto history = http_request(svc.port, "GET", "/v1/users/alice/facts?include=history");
  CHECK(json::parse(history.body).at("events").as_array().size() == 2);

  post_json(svc.port, "/v1/messages",
            R"({"messages":[{"user_id":"carol","role":"user","content":"I live in Paris."},
                            {"user_id":"dave","role":"user","content":"I have two cats."}]})");
  auto run = post_json(svc.port, "/v1/processor/run", "");
  REQUIRE(run.status == 200);
  auto cycle = json::parse(run.body);
  CHECK(cycle.at("messages_processed").as_int64() == 2);
  CHECK(cycle.at("facts_written").as_int64() == 2);
  auto status = json::parse(http_request(svc.port, "GET", "/v1/processor/status").body);
  CHECK(status.at("queue").at("done").as_int64() == 2);
  CHECK(status.at("queue").at("pending").as_int64() == 0);
  CHECK(status.at("processor").at("pool_size").as_int64() == 4);
  CHECK(status.at("processor").at("last_cycle").at("messages_processed").as_int64() == 2);
  auto retried = post_json(svc.port, "/v1/processor/dead/retry", "{}");
  CHECK(retried.status == 200);
  CHECK(json::parse(retried.body).at("retried").as_int64() == 0);
  CHECK(svc.stop() == 0);
}

TEST_CASE("erasing a user leaves nothing of them in either database") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  const std::string user = "+15551234567";
  {
    service svc(dir, env);
    CHECK(twilio(svc.port, dog_form).status == 200);
    post_json(svc.port, "/v1/messages",
              R"({"user_id":"+15551234567","role":"assistant","content":"Cute dog!"})");
    post_json(svc.port, "/v1/messages",
              R"({"user_id":"other","role":"user","content":"I like tea."})");
    post_json(svc.port, "/v1/processor/run", "");
    CHECK(fact_texts(svc.port, "%2B15551234567").size() == 2);
    {  // The checks below can fail: the user is in the tables before.
      stored_db db(b, dir);
      auto before = db.rows_of(user);
      CHECK(before["messages"] == 2);
      CHECK(before["facts"] == 2);
      CHECK(before["fact_events"] == 2);
      CHECK_FALSE(db.mentions("15551234567").empty());
    }
    auto erased = http_request(svc.port, "DELETE", "/v1/users/%2B15551234567");
    REQUIRE(erased.status == 200);
    auto report = json::parse(erased.body).at("erased");
    CHECK(report.at("messages").as_int64() == 2);
    CHECK(report.at("facts").as_int64() == 2);
    CHECK(report.at("fact_events").as_int64() == 2);
    CHECK(fact_texts(svc.port, "%2B15551234567").empty());
    CHECK(messages_of(svc.port, "%2B15551234567").empty());
    CHECK(fact_texts(svc.port, "other") == std::vector<std::string>{"Likes tea"});
    CHECK(svc.stop() == 0);
  }
  // Straight from the database: no row of the user in any table with a user_id column, no
  // value of any text column that mentions the number; the other user is untouched.
  // (Bytes left in SQLite's files: erasure_tests.cpp.)
  stored_db db(b, dir);
  auto left = db.rows_of(user);
  INFO(stored_db::describe(left));
  CHECK(left.empty());
  auto mentions = db.mentions("15551234567");
  INFO(Catch::Detail::stringify(mentions));
  CHECK(mentions.empty());
  CHECK(db.rows_of("other")["facts"] == 1);
}

TEST_CASE("five concurrent deliveries of one MessageSid store one row and all answer 200") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 5; ++i)
    answers.push_back(
        std::async(std::launch::async, [&] { return twilio(svc.port, dog_form).status; }));
  for (auto& a : answers) CHECK(a.get() == 200);
  CHECK(messages_of(svc.port, "%2B15551234567").size() == 1);
  CHECK(svc.stop() == 0);
  CHECK(stored_db(b, dir).count(stored::conversations, "SELECT count(*) FROM messages") == 1);
}

TEST_CASE("readyz and metrics") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  auto ready = http_request(svc.port, "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(twilio(svc.port, dog_form).status == 200);
  post_json(svc.port, "/v1/processor/run", "");
  auto m = http_request(svc.port, "GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.headers["content-type"].find("text/plain") != std::string::npos);
  for (auto needle :
       {"# TYPE memoryd_http_requests_total counter",
        "memoryd_messages_ingested_total{channel=\"whatsapp\"} 1",
        "memoryd_queue_messages{status=\"done\"} 1", "memoryd_facts_written_total{op=\"add\"} 2",
        "memoryd_extraction_duration_seconds_count 1", "memoryd_cycles_total 1",
        "memoryd_http_request_duration_seconds_bucket"}) {
    INFO(needle);
    CHECK(m.body.find(needle) != std::string::npos);
  }
  CHECK(svc.stop() == 0);
}

TEST_CASE("import streams JSONL, skips bad lines by number, and is idempotent") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  auto file = dir.file("history.jsonl");
  {
    std::ofstream out(file);
    out << R"({"user_id":"u1","role":"user","content":"I have a cat named Tom.","external_id":"h1","created_at":1000})"
        << "\n"
        << "this is not json\n"
        << R"({"user_id":"u1","role":"assistant","content":"Nice!","external_id":"h2"})"
        << "\n"
        << "\n"
        << R"({"user_id":"u2","role":"user","content":5})"
        << "\n"
        << R"({"user_id":"u2","role":"user","content":"I work as a nurse.","external_id":"h3"})"
        << "\n";
  }
  auto first = run_command({binary, "import", file}, env);
  CHECK(first.exit_code == 1);  // bad lines were reported; the rest is imported
  CHECK(first.err.find("line 2:") != std::string::npos);
  CHECK(first.err.find("line 5:") != std::string::npos);
  auto counts = json::parse(first.out);
  CHECK(counts.at("imported").as_int64() == 3);
  CHECK(counts.at("bad_lines").as_int64() == 2);
  auto second = run_command({binary, "import", file}, env);
  auto again = json::parse(second.out);
  CHECK(again.at("imported").as_int64() == 0);
  CHECK(again.at("duplicates").as_int64() == 3);
  // Imported history is backfill unless --priority says live.
  auto waiting = json::parse(run_command({binary, "stats", "--json"}, env).out);
  const auto& priorities = waiting.at("queue").at("priorities");
  CHECK(priorities.at("backfill").at("messages_waiting").as_int64() == 2);
  CHECK(priorities.at("live").at("messages_waiting").as_int64() == 0);
  {
    std::ofstream out(dir.file("live.jsonl"));
    out << R"({"user_id":"u3","role":"user","content":"I like tea.","external_id":"h4"})"
        << "\n";
  }
  auto bad = run_command({binary, "import", dir.file("live.jsonl"), "--priority", "urgent"}, env);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("priority") != std::string::npos);
  CHECK(run_command({binary, "import", dir.file("live.jsonl"), "--priority", "live"}, env)
            .exit_code == 0);
  waiting = json::parse(run_command({binary, "stats", "--json"}, env).out);
  CHECK(waiting.at("queue").at("priorities").at("live").at("messages_waiting").as_int64() == 1);

  auto once = run_command({binary, "process-once"}, env);
  REQUIRE(once.exit_code == 0);
  CHECK(json::parse(once.out).at("messages_processed").as_int64() == 3);
  CHECK(json::parse(once.out).at("claimed").at("live").as_int64() == 1);
  CHECK(json::parse(once.out).at("claimed").at("backfill").as_int64() == 2);
  auto facts = run_command({binary, "facts", "u1", "--json"}, env);
  REQUIRE(facts.exit_code == 0);
  auto f = json::parse(facts.out).at("facts").as_array();
  REQUIRE(f.size() == 1);
  CHECK(f[0].at("text").as_string() == "Has a cat named Tom");
  CHECK(f[0].at("observed_at").as_int64() == 1000);
  auto stats = run_command({binary, "stats", "--json"}, env);
  REQUIRE(stats.exit_code == 0);
  auto st = json::parse(stats.out);
  CHECK(st.at("queue").at("done").as_int64() == 3);
  CHECK(st.at("queue").at("skipped").as_int64() == 1);
  CHECK(st.at("facts").as_int64() == 3);
  CHECK(run_command({binary, "facts"}, env).exit_code == 2);
  CHECK(run_command({binary, "import", dir.file("missing.jsonl")}, env).exit_code == 1);
  CHECK(stored_db(b, dir).count(stored::conversations, "SELECT count(*) FROM messages") == 4);
}

TEST_CASE("with a Twilio auth token only correctly signed webhooks are stored") {
  temp_dir dir;
  auto env = env_for(dir);
  env["TWILIO_AUTH_TOKEN"] = "twilio-secret";
  env["TWILIO_WEBHOOK_URL"] = "https://memoryd.example.com/webhooks/twilio";
  service svc(dir, env);
  memoryd::twilio::form_params params = {{"From", "whatsapp:+15551234567"},
                                         {"Body", "I have a dog named Max."},
                                         {"MessageSid", "SM-signed"}};
  auto form = "From=whatsapp%3A%2B15551234567&Body=I+have+a+dog+named+Max.&MessageSid=SM-signed";
  auto good =
      memoryd::twilio::compute_signature("twilio-secret", env["TWILIO_WEBHOOK_URL"], params);
  auto post = [&](const std::string& body, std::map<std::string, std::string> headers) {
    return http_request(svc.port, "POST", "/webhooks/twilio", body,
                        "application/x-www-form-urlencoded", headers)
        .status;
  };
  CHECK(post(form, {}) == 403);                                                        // missing
  CHECK(post(form, {{"X-Twilio-Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}) == 403);  // wrong
  CHECK(post(std::string(form) + "&NumMedia=1", {{"X-Twilio-Signature", good}}) ==
        403);  // tampered
  CHECK(post(std::string(form).replace(0, 4, "From=whatsapp%3A%2B15550000000&Body=x&X"),
             {{"X-Twilio-Signature", good}}) == 403);
  CHECK(messages_of(svc.port, "%2B15551234567").empty());
  auto wrong_token = memoryd::twilio::compute_signature("other", env["TWILIO_WEBHOOK_URL"], params);
  CHECK(post(form, {{"X-Twilio-Signature", wrong_token}}) == 403);
  CHECK(post(form, {{"X-Twilio-Signature", good}}) == 200);
  CHECK(messages_of(svc.port, "%2B15551234567").size() == 1);
  CHECK(svc.stop() == 0);
}

TEST_CASE("a user's whole history reads by cursor while messages keep arriving") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  // 800 messages of "+15551234567" with bob's between them, all in the same millisecond, in
  // requests of 250 (the body limit is 64 KiB).
  for (int from = 0; from < 1000; from += 250) {
    std::string batch = R"({"messages":[)";
    for (int i = from; i < from + 250; ++i) {
      const bool bob = i % 5 == 4;
      batch += (i > from ? "," : "") + std::string(R"({"user_id":")") +
               (bob ? "bob" : "+15551234567") + R"(","role":")" +
               (i % 3 == 2 ? "assistant" : "user") + R"(","content":"m)" + std::to_string(i) +
               R"(","created_at":1700000000000})";
    }
    batch += "]}";
    REQUIRE(post_json(svc.port, "/v1/messages", batch).status == 202);
  }

  // Pages of 37, newest first; between two pages the user writes again.
  auto read_all = [&](const std::string& filters) {
    std::vector<std::vector<std::string>> pages;
    std::string cursor;
    for (int n = 0; n < 100; ++n) {
      auto r = http_request(svc.port, "GET",
                            "/v1/users/%2B15551234567/messages?limit=37" + filters +
                                (cursor.empty() ? "" : "&cursor=" + cursor));
      REQUIRE(r.status == 200);
      auto body = json::parse(r.body).as_object();
      std::vector<std::string> page;
      for (auto& m : body.at("messages").as_array()) {
        CHECK(m.at("created_at").as_int64() == 1700000000000);
        page.emplace_back(m.at("content").as_string().c_str());
      }
      pages.push_back(page);
      if (body.at("next_cursor").is_null()) break;
      cursor = body.at("next_cursor").as_string().c_str();
      post_json(
          svc.port, "/v1/messages",
          R"({"user_id":"+15551234567","role":"user","content":"late","created_at":1700000000000})");
    }
    std::vector<std::string> all;  // oldest first
    for (auto p = pages.rbegin(); p != pages.rend(); ++p)
      all.insert(all.end(), p->begin(), p->end());
    return std::make_pair(pages.size(), all);
  };
  std::vector<std::string> everything, users_only;
  for (int i = 0; i < 1000; ++i) {
    if (i % 5 == 4) continue;
    everything.push_back("m" + std::to_string(i));
    if (i % 3 != 2) users_only.push_back("m" + std::to_string(i));
  }
  auto [pages, all] = read_all("");
  CHECK(pages == (800 + 36) / 37);
  CHECK(all == everything);
  // The first pass's late messages are there for the second from its start.
  users_only.insert(users_only.end(), pages - 1, "late");
  auto [user_pages, users] = read_all("&role=user");
  CHECK(user_pages == (users_only.size() + 36) / 37);
  CHECK(users == users_only);

  // A cursor is refused for another user or other filters.
  auto first =
      json::parse(http_request(svc.port, "GET", "/v1/users/%2B15551234567/messages?limit=5").body);
  const std::string cursor = first.at("next_cursor").as_string().c_str();
  for (const std::string target :
       {"/v1/users/bob/messages?cursor=", "/v1/users/%2B15551234567/messages?role=user&cursor=",
        "/v1/processor/dead?cursor="}) {
    auto r = http_request(svc.port, "GET", target + cursor);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body).at("error").at("code").as_string() == "invalid_parameter");
  }
  CHECK(svc.stop() == 0);
}

TEST_CASE("a user's facts and fact history read by cursor") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  std::vector<std::string> ids;  // written order
  for (int i = 0; i < 25; ++i) {
    auto r = post_json(svc.port, "/v1/users/alice/facts",
                       R"({"text":"Likes thing )" + std::to_string(i) + R"("})");
    REQUIRE(r.status == 201);
    ids.emplace_back(json::parse(r.body).at("fact").at("id").as_string().c_str());
  }
  REQUIRE(http_request(svc.port, "DELETE", "/v1/users/alice/facts/" + ids[10]).status == 200);
  ids.erase(ids.begin() + 10);
  REQUIRE(post_json(svc.port, "/v1/users/bob/facts", R"({"text":"Likes tea"})").status == 201);

  // Facts: pages of 4, oldest first, next_cursor after each page's last fact.
  std::vector<std::string> got;
  std::string cursor, first_cursor;
  int pages = 0;
  for (; pages < 50; ++pages) {
    auto r =
        http_request(svc.port, "GET",
                     "/v1/users/alice/facts?limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    auto body = json::parse(r.body).as_object();
    CHECK_FALSE(body.contains("events"));
    for (auto& f : body.at("facts").as_array()) got.emplace_back(f.at("id").as_string().c_str());
    if (body.at("next_cursor").is_null()) break;
    cursor = body.at("next_cursor").as_string().c_str();
    if (first_cursor.empty()) first_cursor = cursor;
  }
  CHECK(pages + 1 == 6);
  CHECK(got == ids);

  // Events: pages of 7, newest page first, each page oldest first.
  std::vector<std::string> kinds;  // newest first
  cursor.clear();
  for (pages = 0; pages < 50; ++pages) {
    auto r = http_request(
        svc.port, "GET",
        "/v1/users/alice/facts/events?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    auto body = json::parse(r.body).as_object();
    auto& events = body.at("events").as_array();
    for (auto e = events.rbegin(); e != events.rend(); ++e)
      kinds.emplace_back(e->at("kind").as_string().c_str());
    if (body.at("next_cursor").is_null()) break;
    cursor = body.at("next_cursor").as_string().c_str();
  }
  CHECK(pages + 1 == 4);
  REQUIRE(kinds.size() == 26);
  CHECK(kinds.front() == "delete");
  CHECK(std::count(kinds.begin(), kinds.end(), "add") == 25);
  // include=history: the newest events with the facts, and no older page here.
  auto all =
      json::parse(http_request(svc.port, "GET", "/v1/users/alice/facts?include=history").body)
          .as_object();
  CHECK(all.at("facts").as_array().size() == 24);
  CHECK(all.at("events").as_array().size() == 26);
  CHECK(all.at("events_next_cursor").is_null());
  CHECK(all.at("next_cursor").is_null());

  // Cursors belong to their list and user; limits are bounded.
  for (const std::string& target : {"/v1/users/bob/facts?cursor=" + first_cursor,
                                    "/v1/users/alice/facts/events?cursor=" + first_cursor,
                                    "/v1/users/alice/messages?cursor=" + first_cursor,
                                    std::string("/v1/users/alice/facts?limit=0"),
                                    std::string("/v1/users/alice/facts?limit=1001"),
                                    std::string("/v1/users/alice/facts/events?limit=x"),
                                    std::string("/v1/users/alice/facts?cursor=abc")}) {
    INFO(target);
    auto r = http_request(svc.port, "GET", target);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body).at("error").at("code").as_string() == "invalid_parameter");
  }
  CHECK(svc.stop() == 0);
}
