// Erased means gone (DESIGN §2.9). On both backends, logically: no row of the user in any
// table with a user_id column, no value of any text column (the search index's too) with the
// user's id or words. On SQLite also the way an attacker with the files would read it: every
// byte of every file memoryd wrote (databases, -wal, -shm, and whatever else appears in its
// data directory), not the rows SQLite still shows. Not on PostgreSQL: it keeps deleted
// tuples in heap pages and WAL until VACUUM and WAL recycling, and its data directory is the
// server's, not memoryd's (docs/SECURITY.md).
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/file_scan.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/stored_db.hpp"

using namespace memoryd::testing;
namespace json = boost::json;

namespace {

// Distinctive, lower-case markers (fact text is also stored normalized, in lower case), none
// of which can appear by chance in a database page.
const std::string user_id = "erasee-qx7wz";
const std::string said = "zorblaxian";       // in the user's messages, mined into facts
const std::string remembered = "quimbrelt";  // only in an explicitly remembered fact
const std::string replied = "vexquorth";     // only in an assistant message

http_response post_json(std::uint16_t port, const std::string& target, const std::string& body) {
  return http_request(port, "POST", target, body, "application/json");
}

// Enough rows that the user's pages are shared with other users' and the WAL holds many
// versions of them: the erasure must zero cells in live pages, not just drop whole pages.
void ingest_neighbours(std::uint16_t port, int users) {
  for (int u = 0; u < users; ++u) {
    json::array batch;
    for (int i = 0; i < 10; ++i)
      batch.push_back(json::object{{"user_id", "neighbour-" + std::to_string(u)},
                                   {"role", "user"},
                                   {"content", "I like tea number " + std::to_string(i) + "."}});
    REQUIRE(post_json(port, "/v1/messages", json::serialize(json::object{{"messages", batch}}))
                .status == 202);
  }
}

// Each needle in each text column it appears in ("needle: table.column xN").
std::vector<std::string> mentions_of(stored_db& db, const std::vector<std::string>& needles) {
  std::vector<std::string> out;
  for (const auto& n : needles)
    for (const auto& m : db.mentions(n)) out.push_back(n + ": " + m);
  return out;
}

}  // namespace

TEST_CASE("after an erasure no row, value or byte of the user's text or id is left, running") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  service svc(dir, env_for(b, dir));
  ingest_neighbours(svc.port, 20);
  json::array mine;
  for (auto text : {"I have a dog named " + said + ".", "My favorite band is " + said + " rock.",
                    "I live in " + said + "ville."})
    mine.push_back(json::object{{"user_id", user_id}, {"role", "user"}, {"content", text}});
  mine.push_back(json::object{
      {"user_id", user_id}, {"role", "assistant"}, {"content", "Say hi to " + replied + "!"}});
  REQUIRE(post_json(svc.port, "/v1/messages", json::serialize(json::object{{"messages", mine}}))
              .status == 202);
  REQUIRE(post_json(svc.port, "/v1/users/" + user_id + "/facts",
                    R"({"text":"Is allergic to )" + remembered + R"("})")
              .status == 201);
  REQUIRE(post_json(svc.port, "/v1/processor/run", "").status == 200);
  // The run returns after its first claim (100 of the neighbours' 200 messages come first);
  // the batcher drains the rest on its own: wait, bounded, until this user's facts are in.
  auto mined = [&] {
    for (auto f : fact_texts(svc.port, user_id)) {
      for (auto& c : f) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (f.find(said) != std::string::npos) return true;
    }
    return false;
  };
  for (int i = 0; i < 200 && !mined(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(mined());
  ingest_neighbours(svc.port, 5);  // the user's rows are older than the newest pages

  const std::vector<std::string> needles{user_id, said, remembered, replied};
  {  // The checks can fail: every marker is in the tables before the erasure, facts included.
    stored_db db(b, dir);
    auto before = mentions_of(db, needles);
    INFO(Catch::Detail::stringify(before));
    for (const auto& n : needles) {
      INFO(n);
      CHECK(std::any_of(before.begin(), before.end(),
                        [&](const std::string& m) { return m.rfind(n + ": ", 0) == 0; }));
    }
    CHECK(std::any_of(before.begin(), before.end(),
                      [&](const std::string& m) { return m.rfind(said + ": facts.", 0) == 0; }));
    auto rows = db.rows_of(user_id);
    CHECK(rows["messages"] == 4);
    CHECK(rows["facts"] >= 2);
    CHECK(rows["fact_events"] >= 2);
  }
  if (!b.postgres()) {  // and on disk, in the files or their WAL
    auto before = occurrences_in_files(dir.path(), needles);
    CHECK(before.count("memory.db-wal: " + said) + before.count("memory.db: " + said) > 0);
    CHECK(before.count("memory.db-wal: " + remembered) + before.count("memory.db: " + remembered) >
          0);
    CHECK(before.count("conversation.db-wal: " + replied) +
              before.count("conversation.db: " + replied) >
          0);
  }

  auto erased = http_request(svc.port, "DELETE", "/v1/users/" + user_id);
  REQUIRE(erased.status == 200);
  auto report = json::parse(erased.body).at("erased");
  CHECK(report.at("messages").as_int64() == 4);
  CHECK(report.at("facts").as_int64() >= 2);

  // At once, with the service running: no row, no value, and on SQLite no byte left.
  {
    stored_db db(b, dir);
    auto rows = db.rows_of(user_id);
    INFO(stored_db::describe(rows));
    CHECK(rows.empty());
    auto left = mentions_of(db, needles);
    INFO(Catch::Detail::stringify(left));
    CHECK(left.empty());
  }
  if (!b.postgres()) {
    auto after = occurrences_in_files(dir.path(), needles);
    for (const auto& [where, count] : after) {
      INFO(where << " x" << count);
      CHECK(count == 0);
    }
    CHECK(after.empty());
  }
  // The neighbours are intact.
  CHECK(messages_of(svc.port, "neighbour-3").size() == 20);

  // Ingest after an erasure works, and the user may come back as a new user.
  REQUIRE(post_json(svc.port, "/v1/messages",
                    R"({"user_id":")" + user_id + R"(","role":"user","content":"Hello."})")
              .status == 202);
  CHECK(messages_of(svc.port, user_id).size() == 1);
  CHECK(svc.stop() == 0);
  stored_db db(b, dir);
  CHECK(mentions_of(db, {said, remembered, replied}).empty());
  if (!b.postgres()) CHECK(occurrences_in_files(dir.path(), {said, remembered, replied}).empty());
}
