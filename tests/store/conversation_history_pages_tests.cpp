// conversation store: a user's history read a keyset page at a time (GET /v1/users/{id}/messages
// with cursor, issue 18), on both backends. Every message shares one created_at, so any
// pagination by time would skip or repeat at page boundaries; seq must not.
#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

using pages = std::vector<std::vector<stored_message>>;

// Reads `q` (a user and filters) as the HTTP handler does: limit + 1 rows per page, the extra
// (oldest) one only says that an older page follows, and the page's oldest row is the key of
// the next one (before_seq). `between` runs after each page that has a successor.
pages read_pages(conversation_store& s, history_query q, std::size_t limit,
                 const std::function<void(std::size_t)>& between = {}) {
  pages out;
  q.before_seq = 0;
  for (;;) {
    q.limit = static_cast<std::int32_t>(limit + 1);
    auto rows = s.history(q);
    REQUIRE(rows.size() <= limit + 1);
    const bool older = rows.size() > limit;
    if (older) rows.erase(rows.begin());
    out.push_back(rows);
    if (!older) return out;  // next_cursor null: the last page
    REQUIRE(out.size() < 100000);
    q.before_seq = rows.front().seq;
    if (between) between(out.size());
  }
}

// The pages came newest page first, each page oldest first. Together they must be `expected`
// (ids, oldest first) exactly: each once, in order, nothing else; every page full but the last.
void check_pages(const pages& got, const std::vector<std::string>& expected, std::size_t limit,
                 const std::string& user) {
  INFO("limit " << limit << ", " << expected.size() << " expected");
  REQUIRE_FALSE(got.empty());
  const std::size_t want_pages = expected.empty() ? 1 : (expected.size() + limit - 1) / limit;
  CHECK(got.size() == want_pages);
  for (std::size_t p = 0; p < got.size(); ++p) {
    INFO("page " << p);
    if (p + 1 < got.size()) CHECK(got[p].size() == limit);
    if (p + 1 == got.size() && !expected.empty()) CHECK_FALSE(got[p].empty());
    for (std::size_t i = 1; i < got[p].size(); ++i) CHECK(got[p][i - 1].seq < got[p][i].seq);
    if (p > 0 && !got[p].empty()) CHECK(got[p].back().seq < got[p - 1].front().seq);
    for (const auto& m : got[p]) CHECK(m.user_id == user);
  }
  std::vector<std::string> all;
  for (auto page = got.rbegin(); page != got.rend(); ++page)
    for (const auto& m : *page) all.push_back(m.id);
  CHECK(all == expected);
}

struct stored {
  std::string id;
  std::int64_t seq = 0;
  std::string role;
  bool done = false;
};

std::vector<std::string> ids_where(const std::vector<stored>& msgs,
                                   const std::function<bool(const stored&)>& keep) {
  std::vector<std::string> out;
  for (const auto& m : msgs)
    if (keep(m)) out.push_back(m.id);
  return out;
}

}  // namespace

TEST_CASE("5,000 messages with one created_at page by seq: each once, in order, filters kept",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  // alice's 5,000 messages (every third an assistant reply) with bob's between them, all at
  // created_at 1000, ingested 1,000 per request.
  std::vector<new_message> in;
  std::vector<bool> is_alice;
  for (int i = 0, a = 0, b = 0; i < 6000; ++i) {
    if (i % 6 == 5) {
      in.push_back(msg("bob", "b" + std::to_string(b++), 1000));
      is_alice.push_back(false);
    } else {
      const bool reply = a % 3 == 2;
      in.push_back(msg("alice", "a" + std::to_string(a++), 1000, {}, reply ? "assistant" : "user"));
      is_alice.push_back(true);
    }
  }
  std::vector<stored> alice;
  for (std::size_t from = 0; from < in.size(); from += 1000) {
    std::vector<new_message> chunk(in.begin() + from, in.begin() + from + 1000);
    auto out = s.ingest(chunk, 1000);
    REQUIRE(out.size() == chunk.size());
    for (std::size_t i = 0; i < out.size(); ++i)
      if (is_alice[from + i]) alice.push_back({out[i].id, out[i].seq, chunk[i].role, false});
  }
  REQUIRE(alice.size() == 5000);
  // alice's oldest 700 user messages processed: `processed` then differs from `role`.
  auto c = s.claim(req_at(2000, 700, 700, 60000));
  REQUIRE(c.users.size() == 1);
  REQUIRE(c.users[0].user_id == "alice");
  REQUIRE(c.users[0].messages.size() == 700);
  s.mark_done("alice", ids_of(c.users[0]), 2000);
  for (const auto& id : ids_of(c.users[0]))
    for (auto& m : alice)
      if (m.id == id) m.done = true;

  history_query q;
  q.user_id = "alice";
  const auto everything = ids_where(alice, [](const stored&) { return true; });
  for (std::size_t limit : {100, 37, 1000, 1}) {
    if (limit == 1 && backend.postgres()) continue;  // 5,000 round trips: SQLite shows it
    INFO("no filter");
    check_pages(read_pages(s, q, limit), everything, limit, "alice");
  }
  {
    INFO("since and until that hold every message");
    auto f = q;
    f.since = 1000;
    f.until = 1001;
    check_pages(read_pages(s, f, 100), everything, 100, "alice");
    f.until = 1000;  // created_at < 1000: none
    check_pages(read_pages(s, f, 100), {}, 100, "alice");
  }
  {
    INFO("role=user");
    auto f = q;
    f.role = "user";
    const auto want = ids_where(alice, [](const stored& m) { return m.role == "user"; });
    REQUIRE(want.size() == 3334);
    check_pages(read_pages(s, f, 37), want, 37, "alice");
    check_pages(read_pages(s, f, 100), want, 100, "alice");
  }
  {
    INFO("processed=true (done and skipped)");
    auto f = q;
    f.processed = 1;
    const auto want =
        ids_where(alice, [](const stored& m) { return m.done || m.role == "assistant"; });
    REQUIRE(want.size() == 700 + 1666);
    check_pages(read_pages(s, f, 37), want, 37, "alice");
  }
  {
    INFO("role=user and processed=false");
    auto f = q;
    f.role = "user";
    f.processed = 0;
    const auto want = ids_where(alice, [](const stored& m) { return m.role == "user" && !m.done; });
    REQUIRE(want.size() == 3334 - 700);
    check_pages(read_pages(s, f, 100), want, 100, "alice");
  }
  {
    INFO("bob's own pages hold only bob");
    history_query b;
    b.user_id = "bob";
    auto got = read_pages(s, b, 37);
    std::size_t n = 0;
    for (const auto& page : got)
      for (const auto& m : page) {
        CHECK(m.user_id == "bob");
        ++n;
      }
    CHECK(n == 1000);
  }
  // A page and one more is the most a store returns (the handler's 1,000 + 1).
  q.limit = 1001;
  CHECK(s.history(q).size() == 1001);
  q.limit = 5000;
  CHECK(s.history(q).size() == 1001);
  // Below the oldest message there is nothing; below the 11th, the ten before it.
  q.limit = 10;
  q.before_seq = alice.front().seq;
  CHECK(s.history(q).empty());
  q.before_seq = alice[10].seq;
  std::vector<std::string> ten;
  for (const auto& m : s.history(q)) ten.push_back(m.id);
  CHECK(ten == std::vector<std::string>(everything.begin(), everything.begin() + 10));
}

TEST_CASE("messages that arrive between history pages cause no gap and no repeat",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<stored> alice;
  for (int i = 0; i < 300; ++i) {
    const std::string role = i % 4 == 3 ? "assistant" : "user";
    auto out = s.ingest({msg("alice", "a" + std::to_string(i), 1000, {}, role),
                         msg("bob", "b" + std::to_string(i), 1000)},
                        1000);
    alice.push_back({out[0].id, out[0].seq, role, false});
  }
  int late = 0;
  // Between two pages: alice and bob write again (same created_at, and one stamped by the
  // store), and some of alice's messages are processed.
  auto meanwhile = [&](std::size_t) {
    for (int k = 0; k < 3; ++k) {
      const auto n = std::to_string(late++);
      s.ingest({msg("alice", "late" + n, 1000), msg("alice", "now" + n, 0, {}, "assistant"),
                msg("bob", "late" + n, 1000)},
               5000);
    }
    auto c = s.claim(req_at(3000, 20, 10, 60000));
    for (const auto& b : c.users) s.mark_done(b.user_id, ids_of(b), 3000);
  };
  history_query q;
  q.user_id = "alice";
  SECTION("no filter") {
    check_pages(read_pages(s, q, 37, meanwhile),
                ids_where(alice, [](const stored&) { return true; }), 37, "alice");
  }
  SECTION("role=user") {
    q.role = "user";
    check_pages(read_pages(s, q, 37, meanwhile),
                ids_where(alice, [](const stored& m) { return m.role == "user"; }), 37, "alice");
  }
  SECTION("since, until and role=assistant") {
    q.role = "assistant";
    q.since = 1000;
    q.until = 1001;
    check_pages(read_pages(s, q, 7, meanwhile),
                ids_where(alice, [](const stored& m) { return m.role == "assistant"; }), 7,
                "alice");
  }
  CHECK(late > 0);
  // A new pass from the top starts with what arrived meanwhile.
  history_query top;
  top.user_id = "alice";
  top.limit = 1;
  CHECK(s.history(top).at(0).content == "now" + std::to_string(late - 1));
}

TEST_CASE("history pages follow arrival, not created_at, within since and until",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  // Imported history arrives out of time order: created_at is a shuffle of 1000..1199, and
  // ten messages share each millisecond of it.
  std::vector<millis> times;
  for (int i = 0; i < 2000; ++i) times.push_back(1000 + i / 10);
  std::mt19937 rng(18);
  std::shuffle(times.begin(), times.end(), rng);
  std::vector<new_message> in;
  for (int i = 0; i < 2000; ++i) in.push_back(msg("alice", "a" + std::to_string(i), times[i]));
  auto out = s.ingest(in, 5000);
  std::vector<std::string> window;
  for (int i = 0; i < 2000; ++i)
    if (times[i] >= 1050 && times[i] < 1150) window.push_back(out[i].id);
  REQUIRE(window.size() == 1000);
  history_query q;
  q.user_id = "alice";
  q.since = 1050;
  q.until = 1150;
  for (std::size_t limit : {7, 100, 1000})
    check_pages(read_pages(s, q, limit), window, limit, "alice");
}
