// conversation store: the dead-letter list (GET /v1/processor/dead), newest first, a keyset
// page at a time, on both backends.
#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

// Ingests one message for each of `users` and dead-letters it at `at`; their ids, in order.
std::vector<std::string> kill(conversation_store& s, const std::vector<std::string>& users,
                              millis at) {
  std::vector<new_message> in;
  for (const auto& u : users) in.push_back(msg(u, u + ".m", at));
  s.ingest(in, at);
  std::vector<std::string> out;
  auto c = s.claim(req_at(at, 1000, 25, 60000));
  for (const auto& b : c.users) {
    if (std::find(users.begin(), users.end(), b.user_id) == users.end()) {
      s.release(b.user_id, ids_of(b));  // someone else's waiting message
      continue;
    }
    s.dead_letter(b.user_id, ids_of(b), "boom " + b.user_id, at + 5);
    for (const auto& id : ids_of(b)) out.push_back(id);
  }
  return out;
}

std::vector<std::string> ids_in(const std::vector<stored_message>& page) {
  std::vector<std::string> out;
  for (const auto& m : page) out.push_back(m.id);
  return out;
}

}  // namespace

TEST_CASE("dead_letters lists dead messages newest first with their error and times",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("alice", "ok"), msg("alice", "reply", 1000, {}, "assistant")}, 1000);
  const auto dead = kill(s, {"+15551230001", "+15551230002"}, 2000);
  REQUIRE(dead.size() == 2);
  auto page = s.dead_letters({10, 0});
  REQUIRE(page.size() == 2);
  CHECK(page[0].id == dead[1]);  // newest first
  CHECK(page[1].id == dead[0]);
  CHECK(page[0].user_id == "+15551230002");
  CHECK(page[0].status == message_status::dead);
  CHECK(page[0].last_error == "boom +15551230002");
  CHECK(page[0].attempts == 1);
  CHECK(page[0].created_at == 2000);
  CHECK(page[0].processed_at == 2005);
  CHECK(page[0].seq > page[1].seq);
  CHECK(s.dead_letters({1, 0}).size() == 1);
  CHECK(ids_in(s.dead_letters({10, page[0].seq})) == std::vector<std::string>{dead[0]});
  CHECK(s.dead_letters({10, page[1].seq}).empty());
  s.retry_dead({dead[1]}, 3000);
  CHECK(ids_in(s.dead_letters({10, 0})) == std::vector<std::string>{dead[0]});
}

TEST_CASE("paging the dead letters while messages arrive and die shows each one once",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<std::string> users;
  for (int i = 0; i < 23; ++i) users.push_back("u" + std::to_string(i));
  const auto before = kill(s, users, 1000);
  REQUIRE(before.size() == 23);
  // Read pages of 5; between pages more messages arrive, some die, one is retried.
  std::vector<std::string> seen;
  std::int64_t cursor = 0;
  int pages = 0;
  for (; pages < 20; ++pages) {
    auto page = s.dead_letters({5, cursor});
    for (std::size_t i = 1; i < page.size(); ++i) CHECK(page[i - 1].seq > page[i].seq);
    for (const auto& m : page) seen.push_back(m.id);
    if (page.size() < 5) break;
    cursor = page.back().seq;
    kill(s, {"late" + std::to_string(pages)}, 5000 + pages);
    s.ingest({msg("alive", "x" + std::to_string(pages))}, 6000);
  }
  CHECK(pages == 4);
  // Every message dead before the first page, once each, newest first; none of the later ones
  // (their seq is above the first page).
  std::vector<std::string> expected(before.rbegin(), before.rend());
  CHECK(seen == expected);
}

TEST_CASE("a lease that expires at max_attempts is dead-lettered at the claim's time",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("alice", "a1")}, 1000);
  REQUIRE(s.claim(req_at(1000, 100, 25, 100, 1)).users.size() == 1);
  auto again = s.claim(req_at(1200, 100, 25, 100, 1));  // lease over, attempts used up
  CHECK(again.dead_lettered == 1);
  auto page = s.dead_letters({10, 0});
  REQUIRE(page.size() == 1);
  CHECK(page[0].processed_at == 1200);
  CHECK(page[0].last_error == "lease expired after 1 attempts");
}
