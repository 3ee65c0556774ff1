// The message queue on PostgreSQL with several instances at once: each instance is a store
// with its own connection, as in several memoryd processes on one database. What SQLite's one
// writer never meets: claims racing each other, ingest groups locking the same queue rows in
// different orders (sequences that are not commit-ordered: pg_queue_order_tests.cpp).
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "store/postgres/conversation_store.hpp"
#include "tests/store/conversation_store_util.hpp"
#include "tests/store/pg_support.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

pg::link_options bounded() {
  pg::link_options o;
  o.statement_timeout = 20s;  // a lock that is never released fails the test, not the run
  return o;
}

}  // namespace

// Three instances claim a backlog of 240 users (3 messages each, interleaved) until nothing is
// left. Each user's 3 messages fit one claim (per_user 3, batch 12), so every user is claimed
// exactly once and a claim never locks a user it does not take; that makes FIFO checkable
// across instances: a user older than the newest user of a claim C, and not in C, must have
// been taken by a claim that had started before C ended (it held the row when C passed by).
TEST_CASE("pg: three instances claiming at once: one claim per user, FIFO, every message once",
          "[store][pg][concurrency]") {
  const migrated_pg_database db;
  const auto& url = db.url();
  constexpr int kUsers = 240, kEach = 3, kInstances = 3;
  std::map<std::string, std::int64_t> head;                  // user -> seq of first message
  std::map<std::string, std::vector<std::string>> messages;  // user -> contents in order
  {
    pg::conversation_store s(url);
    std::mt19937 rng(15);
    for (int r = 0; r < kEach; ++r) {
      std::vector<int> order(kUsers);
      for (int i = 0; i < kUsers; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<new_message> round;
      for (int i : order)
        round.push_back(
            msg("u" + std::to_string(i), "u" + std::to_string(i) + "." + std::to_string(r)));
      const auto out = s.ingest(round, 1000);
      for (std::size_t k = 0; k < round.size(); ++k) {
        head.emplace(round[k].user_id, out[k].seq);
        messages[round[k].user_id].push_back(round[k].content);
      }
    }
  }

  struct record {
    int start = 0, end = 0;
    std::vector<std::string> users;
    std::vector<std::vector<std::string>> contents;
  };
  std::mutex mu;
  std::vector<record> records;
  std::set<std::string> live, leased;  // users and message ids in a claim not yet marked done
  std::atomic<int> clock{0};
  problems trouble;
  std::vector<std::thread> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.emplace_back([&, i] {
      try {
        pg::conversation_store s(url, bounded());
        for (int round = 0; round < kUsers; ++round) {  // bounded: each claim takes >= 1 user
          record rec;
          rec.start = clock++;
          const auto c = s.claim(req_at(2000, 4 * kEach, kEach, 600000));
          rec.end = clock++;
          if (c.users.empty()) return;
          {
            std::lock_guard<std::mutex> lock(mu);
            for (const auto& u : c.users) {
              if (!live.insert(u.user_id).second) trouble.add(u.user_id + " is in two live claims");
              for (const auto& m : u.messages)
                if (!leased.insert(m.id).second) trouble.add(m.id + " claimed twice");
              rec.users.push_back(u.user_id);
              rec.contents.push_back(contents_of(u));
            }
            records.push_back(rec);
          }
          for (const auto& u : c.users) {
            {  // out of the registry before the commit that lets another claim take the user
              std::lock_guard<std::mutex> lock(mu);
              live.erase(u.user_id);
              for (const auto& m : u.messages) leased.erase(m.id);
            }
            s.mark_done(u.user_id, ids_of(u), 2100);
          }
        }
        trouble.add("instance " + std::to_string(i) + " did not run out of work");
      } catch (const std::exception& e) {
        trouble.add(std::string("instance failed: ") + e.what());
      }
    });
  }
  for (auto& t : instances) t.join();
  INFO(trouble.text());
  CHECK(trouble.list().empty());

  std::map<std::string, const record*> claimed_by;
  for (const auto& r : records) {
    for (std::size_t k = 0; k < r.users.size(); ++k) {
      const auto& u = r.users[k];
      INFO("claim " << r.start << ".." << r.end << ", user " << u);
      CHECK(claimed_by.emplace(u, &r).second);                 // claimed once
      CHECK(r.contents[k] == messages.at(u));                  // all of it, in arrival order
      if (k > 0) CHECK(head.at(r.users[k - 1]) < head.at(u));  // FIFO within the claim
    }
  }
  CHECK(claimed_by.size() == static_cast<std::size_t>(kUsers));
  int passed_by = 0;  // older users a claim left to a claim running beside it
  for (const auto& c : records) {
    std::int64_t newest = 0;
    std::set<std::string> in_c(c.users.begin(), c.users.end());
    for (const auto& u : c.users) newest = std::max(newest, head.at(u));
    for (const auto& [user, seq] : head) {
      if (seq >= newest || in_c.count(user)) continue;
      const record& d = *claimed_by.at(user);
      INFO("claim " << c.start << ".." << c.end << " passed " << user << ", claimed by " << d.start
                    << ".." << d.end);
      CHECK(d.start < c.end);
      if (d.end > c.start) ++passed_by;
    }
  }
  CHECK(passed_by > 0);  // the claims did run beside each other (~150 such users a run)
  pg::conversation_store s(url);
  const auto st = s.stats(3000);
  CHECK(st.done == kUsers * kEach);
  CHECK(st.pending + st.leased + st.dead == 0);
  CHECK(st.users_waiting == 0);
}

// Four instances ingest groups whose users overlap, in different orders. The stores do not
// retry conflicts here (conflict_retries = 0), so a deadlock would surface as an error.
TEST_CASE("pg: concurrent ingest groups over the same users: no deadlock, queue rows right",
          "[store][pg][concurrency]") {
  const migrated_pg_database db;
  const auto& url = db.url();
  constexpr int kInstances = 4, kGroups = 60, kUsers = 6;
  std::mutex mu;
  std::vector<std::pair<new_message, ingest_outcome>> stored;
  problems trouble;
  std::vector<std::thread> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.emplace_back([&, i] {
      try {
        auto o = bounded();
        o.conflict_retries = 0;
        pg::conversation_store s(url, o);
        std::mt19937 rng(100 + i);
        for (int g = 0; g < kGroups; ++g) {
          std::vector<std::vector<new_message>> group(1 + rng() % 4);
          int k = 0;
          for (auto& request : group) {
            const auto n = 1 + rng() % 3;
            for (std::size_t m = 0; m < n; ++m, ++k) {
              const auto id =
                  "i" + std::to_string(i) + ".g" + std::to_string(g) + "." + std::to_string(k);
              request.push_back(msg("u" + std::to_string(rng() % kUsers), id, 1000,
                                    k % 2 ? "x-" + id : "", rng() % 5 ? "user" : "assistant"));
            }
          }
          const auto out = s.ingest_group(group, 1000);
          std::lock_guard<std::mutex> lock(mu);
          for (std::size_t r = 0; r < group.size(); ++r)
            for (std::size_t m = 0; m < group[r].size(); ++m)
              stored.emplace_back(group[r][m], out.at(r).at(m));
        }
      } catch (const std::exception& e) {
        trouble.add(std::string("instance failed: ") + e.what());
      }
    });
  }
  for (auto& t : instances) t.join();
  INFO(trouble.text());
  REQUIRE(trouble.list().empty());

  pg::connection c(url);
  CHECK(c.exec("SELECT count(*) FROM messages").integer(0, 0) ==
        static_cast<std::int64_t>(stored.size()));
  std::map<std::string, std::int64_t> seq_of;  // content -> seq as stored
  auto rows = c.exec("SELECT content, seq, id FROM messages");
  std::map<std::string, std::string> id_of;
  for (int i = 0; i < rows.rows(); ++i) {
    seq_of[rows.text(i, 0)] = rows.integer(i, 1);
    id_of[rows.text(i, 0)] = rows.text(i, 2);
  }
  for (const auto& [m, out] : stored) {
    INFO(m.content);
    REQUIRE(seq_of.count(m.content) == 1);  // stored, once (contents are unique)
    CHECK_FALSE(out.duplicate);
    CHECK(out.seq == seq_of.at(m.content));
    CHECK(out.id == id_of.at(m.content));
  }
  // Each waiting user has a row whose head is their oldest waiting message; no other rows.
  auto heads = [&](const std::string& sql) {
    std::map<std::string, std::int64_t> out;
    auto r = c.exec(sql);
    for (int i = 0; i < r.rows(); ++i) out[r.text(i, 0)] = r.integer(i, 1);
    return out;
  };
  const auto expected = heads(
      "SELECT user_id, min(seq) FROM messages WHERE status IN ('pending', 'leased') "
      "GROUP BY user_id");
  CHECK(expected.size() == static_cast<std::size_t>(kUsers));
  CHECK(heads("SELECT user_id, head_seq FROM user_queue") == expected);
  // And the queue drains in per-user arrival order.
  pg::conversation_store s(url);
  std::map<std::string, std::int64_t> last;
  for (int round = 0; round < 1000; ++round) {
    const auto claim = s.claim(req_at(2000, 50, 7, 600000));
    if (claim.users.empty()) break;
    for (const auto& u : claim.users) {
      for (const auto& m : u.messages) {
        CHECK(m.seq > last[u.user_id]);
        last[u.user_id] = m.seq;
      }
      s.mark_done(u.user_id, ids_of(u), 2100);
    }
  }
  CHECK(s.stats(3000).pending == 0);
  CHECK(s.stats(3000).users_waiting == 0);
}

// The same deliveries (external ids) reach several instances at once, grouped and ordered
// differently (a webhook retried against another instance): each is stored once and every
// instance answers with the stored message. Here groups can deadlock: the unique index makes
// a group wait for another's uncommitted insert of the same delivery, and a group inserts in
// arrival order (seq order), which cannot be sorted by external id. The server aborts one of
// them and the link runs that single-statement ingest again (conflict_retries); with
// conflict_retries = 0 this test fails now and then with "deadlock detected".
TEST_CASE("pg: the same deliveries ingested by several instances at once are stored once",
          "[store][pg][concurrency]") {
  const migrated_pg_database db;
  const auto& url = db.url();
  constexpr int kInstances = 4, kDeliveries = 600, kGroup = 20;
  std::mutex mu;
  std::map<std::string, std::set<std::string>> answers;  // external id -> ids answered
  problems trouble;
  std::vector<std::thread> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.emplace_back([&, i] {
      try {
        pg::conversation_store s(url, bounded());
        std::vector<int> order(kDeliveries);
        for (int k = 0; k < kDeliveries; ++k) order[k] = k;
        std::mt19937 rng(200 + i);
        std::shuffle(order.begin(), order.end(), rng);
        for (int g = 0; g < kDeliveries / kGroup; ++g) {
          std::vector<std::vector<new_message>> group;
          for (int k = g * kGroup; k < (g + 1) * kGroup; ++k) {
            const auto n = std::to_string(order[k]);
            group.push_back({msg("u" + std::to_string(order[k] % 5), "m" + n, 1000, "SM" + n)});
          }
          const auto out = s.ingest_group(group, 1000);
          std::lock_guard<std::mutex> lock(mu);
          for (std::size_t r = 0; r < group.size(); ++r)
            answers[group[r][0].external_id].insert(out.at(r).at(0).id);
        }
      } catch (const std::exception& e) {
        trouble.add(std::string("instance failed: ") + e.what());
      }
    });
  }
  for (auto& t : instances) t.join();
  INFO(trouble.text());
  CHECK(trouble.list().empty());
  pg::connection c(url);
  CHECK(c.exec("SELECT count(*) FROM messages").integer(0, 0) == kDeliveries);
  REQUIRE(answers.size() == static_cast<std::size_t>(kDeliveries));
  for (const auto& [external, ids] : answers) {
    INFO(external);
    REQUIRE(ids.size() == 1);
    CHECK(c.exec("SELECT external_id FROM messages WHERE id = $1", {*ids.begin()}).text(0, 0) ==
          external);
  }
  CHECK(c.exec("SELECT count(*) FROM user_queue").integer(0, 0) == 5);
}
