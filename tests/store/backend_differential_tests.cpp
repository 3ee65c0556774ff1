// The two backends side by side: the same random sequence of calls on a SQLite store and a
// PostgreSQL store must give the same answers (ids aside, which are each store's own) and
// leave the same messages behind. The contract cases pin down what each call does; this
// finds what they did not think of (orders of transitions, dead letters, duplicates, erasure).
#include <array>
#include <map>
#include <set>

#include "store/fact_merge.hpp"
#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

// A message as both backends must show it: everything but its id and seq.
std::string shown(const stored_message& m) {
  return m.user_id + "|" + m.role + "|" + m.content + "|" + m.channel + "|" + m.external_id + "|" +
         std::to_string(m.created_at) + "|" + m.status + "|" + std::to_string(m.attempts) + "|" +
         std::to_string(m.next_attempt_at) + "|" + std::to_string(m.lease_until) + "|" +
         m.last_error + "|" + std::to_string(m.processed_at) + "|" + to_string(m.priority);
}

std::string shown(const claim_result& c) {
  std::string out = "dead " + std::to_string(c.dead_lettered) + ":";
  for (const auto& u : c.users) {
    out += " " + u.user_id + "[";
    for (const auto& m : u.messages)
      out += m.content + "/" + std::to_string(m.attempts) + "/" + std::to_string(m.created_at) +
             "/" + to_string(m.priority) + " ";
    out += "]";
  }
  return out;
}

std::string shown(const queue_stats& s) {
  return std::to_string(s.pending) + " " + std::to_string(s.leased) + " " + std::to_string(s.done) +
         " " + std::to_string(s.dead) + " " + std::to_string(s.skipped) + " " +
         std::to_string(s.retry_scheduled) + " " + std::to_string(s.oldest_pending_age_ms) + " " +
         std::to_string(s.users_waiting) + " live " + std::to_string(s.live.users_waiting) + "/" +
         std::to_string(s.live.messages_waiting) + "/" + std::to_string(s.live.oldest_age_ms) +
         " backfill " + std::to_string(s.backfill.users_waiting) + "/" +
         std::to_string(s.backfill.messages_waiting) + "/" +
         std::to_string(s.backfill.oldest_age_ms);
}

}  // namespace

TEST_CASE("both backends answer a random sequence of calls alike",
          "[store][conversation][pg][differential]") {
  const auto seed = GENERATE(1, 2, 3, 4);
  INFO("seed " << seed);
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  store_backend sqlite_backend("sqlite", "normal"), pg_backend("postgres");
  std::array<conversation_store*, 2> stores = {&sqlite_backend.conversations(),
                                               &pg_backend.conversations()};
  std::array<std::map<std::string, std::string>, 2> id_of;  // content -> id, per backend
  std::vector<std::pair<std::string, std::vector<std::string>>> claimed;  // user, contents
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4"};
  auto any = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  millis now = 1000;
  int next = 0;
  for (int step = 0; step < 250; ++step) {
    now += static_cast<millis>(any(60));
    const auto op = any(100);
    INFO("step " << step << ", op " << op << ", now " << now);
    if (op < 30) {  // an ingest group, with duplicate deliveries and assistant messages
      std::vector<std::vector<new_message>> group(1 + any(3));
      for (auto& request : group)
        for (std::size_t k = 1 + any(3); k > 0; --k) {
          request.push_back(msg(users[any(users.size())], "c" + std::to_string(next++),
                                any(2) ? 0 : now - static_cast<millis>(any(500)),
                                any(3) ? "" : "E" + std::to_string(any(30)),
                                any(5) ? "user" : "assistant"));
          if (any(3) == 0) request.back().priority = message_priority::backfill;
        }
      std::array<std::string, 2> answers;
      for (int b = 0; b < 2; ++b) {
        const auto out = stores[b]->ingest_group(group, now);
        REQUIRE(out.size() == group.size());
        for (std::size_t r = 0; r < group.size(); ++r) {
          REQUIRE(out[r].size() == group[r].size());
          for (std::size_t k = 0; k < group[r].size(); ++k) {
            answers[b] += out[r][k].duplicate ? "d" : "n";
            if (!out[r][k].duplicate) id_of[b][group[r][k].content] = out[r][k].id;
          }
        }
      }
      CHECK(answers[0] == answers[1]);
    } else if (op < 55) {  // a claim with random caps, lease and attempts
      auto req =
          req_at(now, static_cast<std::int32_t>(1 + any(10)), static_cast<std::int32_t>(1 + any(4)),
                 static_cast<millis>(50 + any(250)), static_cast<std::int32_t>(1 + any(3)));
      req.backfill_share = std::array<double, 3>{0, 0.2, 0.5}[any(3)];
      if (any(3) == 0) {  // a quiet period, bounded
        req.quiet_ms = static_cast<millis>(20 + any(100));
        req.max_wait_ms = static_cast<millis>(100 + any(300));
      }
      std::array<claim_result, 2> c;
      for (int b = 0; b < 2; ++b) c[b] = stores[b]->claim(req);
      CHECK(shown(c[0]) == shown(c[1]));
      for (const auto& u : c[0].users) claimed.emplace_back(u.user_id, contents_of(u));
    } else if (op < 85 && !claimed.empty()) {  // a transition of a claim, maybe a stale one
      const auto which = any(claimed.size());
      const auto [user, contents] = claimed[which];
      if (any(4)) claimed.erase(claimed.begin() + static_cast<std::ptrdiff_t>(which));
      const auto kind = any(4);
      const auto name = any(8) ? user : users[any(users.size())];  // sometimes the wrong user
      const std::string note = any(2) ? "" : "note";
      const millis retry_at = now + static_cast<millis>(any(200));
      for (int b = 0; b < 2; ++b) {
        std::vector<std::string> ids;
        for (const auto& content : contents) ids.push_back(id_of[b][content]);
        auto& s = *stores[b];
        if (kind == 0) s.mark_done(name, ids, now, note);
        if (kind == 1) s.schedule_retry(name, ids, "retry", retry_at);
        if (kind == 2) s.dead_letter(name, ids, "dead", now);
        if (kind == 3) s.release(name, ids);
      }
    } else if (op < 90) {  // dead letters back, all or some
      std::vector<std::string> contents;
      if (any(2))
        for (const auto& [content, id] : id_of[0])
          if (any(4) == 0) contents.push_back(content);
      std::array<std::int64_t, 2> n{};
      for (int b = 0; b < 2; ++b) {
        std::vector<std::string> ids;
        for (const auto& content : contents) ids.push_back(id_of[b][content]);
        n[b] = contents.empty() ? stores[b]->retry_dead({}, now) : stores[b]->retry_dead(ids, now);
      }
      CHECK(n[0] == n[1]);
    } else if (op < 93) {  // an erasure
      const auto& user = users[any(users.size())];
      CHECK(stores[0]->erase_user(user) == stores[1]->erase_user(user));
    }
    CHECK(shown(stores[0]->stats(now)) == shown(stores[1]->stats(now)));
    history_query everything;
    everything.limit = 1000;
    std::array<std::string, 2> rows;
    for (int b = 0; b < 2; ++b)
      for (const auto& m : stores[b]->history(everything)) rows[b] += shown(m) + "\n";
    REQUIRE(rows[0] == rows[1]);
  }
  // Both drain alike, too.
  for (int round = 0; round < 100; ++round) {
    now += 1000;
    std::array<claim_result, 2> c;
    for (int b = 0; b < 2; ++b) c[b] = stores[b]->claim(req_at(now, 100, 25, 100, 100));
    REQUIRE(shown(c[0]) == shown(c[1]));
    if (c[0].users.empty() && stores[0]->stats(now).pending == 0) break;
    for (int b = 0; b < 2; ++b)
      for (const auto& u : c[b].users) stores[b]->mark_done(u.user_id, ids_of(u), now);
  }
  CHECK(shown(stores[0]->stats(now)) == shown(stores[1]->stats(now)));
  CHECK(stores[1]->stats(now).pending + stores[1]->stats(now).leased == 0);
}

namespace {

// A user's facts and events as both backends must show them: fact ids replaced by the fact's
// place in all_facts (ids are each store's own).
std::string shown_facts(memory_store& m, const std::string& user) {
  std::map<std::string, std::string> place;
  std::string out;
  for (const auto& f : m.all_facts(user)) {
    place[f.id] = "#" + std::to_string(place.size());
    out += place[f.id] + " " + f.text + "|" + f.category + "|" + f.status + "|" +
           std::to_string(f.observed_at) + "|" + std::to_string(f.created_at) + "|" +
           std::to_string(f.updated_at) + "|" + encode_ids(f.source_ids) + "\n";
  }
  out += "active:";
  for (const auto& f : m.active_facts(user)) out += " " + place[f.id];
  out += "\n";
  for (const auto& e : m.events(user))
    out += e.kind + " " + place[e.fact_id] + ">" + place[e.new_fact_id] + " " + e.old_text + "|" +
           e.new_text + "|" + e.cause + "|" + e.extractor + "|" + encode_ids(e.source_ids) + "|" +
           std::to_string(e.observed_at) + "|" + std::to_string(e.at) + "\n";
  return out;
}

std::string shown(const apply_result& r) {
  return std::to_string(r.added) + " " + std::to_string(r.updated) + " " +
         std::to_string(r.deleted) + " " + std::to_string(r.unchanged) + " " +
         std::to_string(r.rejected) + (r.replay ? " replay " : " ") +
         std::to_string(r.fact_ids.size());
}

}  // namespace

TEST_CASE("both backends merge a random sequence of fact operations alike",
          "[store][memory][pg][differential]") {
  const auto seed = GENERATE(1, 2, 3);
  INFO("seed " << seed);
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  store_backend sqlite_backend("sqlite", "normal"), pg_backend("postgres");
  std::array<memory_store*, 2> stores = {&sqlite_backend.memory(), &pg_backend.memory()};
  const std::vector<std::string> users = {"alice", "bob"};
  const std::vector<std::string> texts = {
      "Likes tea",     "likes TEA!",    "Has a cat", "Lives in Oslo",
      "lives in oslo", "Works at ACME", "",          "Plays chess"};
  const std::vector<std::string> categories = {"preferences", "location", "hobbies", ""};
  auto any = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  millis now = 10000;
  for (int step = 0; step < 150; ++step) {
    now += static_cast<millis>(any(100));
    const auto& user = users[any(users.size())];
    const auto op = any(100);
    INFO("step " << step << ", op " << op);
    // Facts are named by their place in the user's all_facts (same on both when all is well).
    std::array<std::vector<fact>, 2> all;
    const auto& owner = users[any(users.size())];  // sometimes another user's fact
    for (int b = 0; b < 2; ++b) all[b] = stores[b]->all_facts(owner);
    const auto target = any(all[0].size() + 1);  // past the end: an unknown id
    auto id_for = [&](int b) {
      return target < all[b].size() ? all[b][target].id : std::string("no-such-fact");
    };
    if (op < 70) {
      fact_batch batch;
      batch.user_id = user;
      batch.extractor = "rules/1";
      batch.now = now;
      batch.batch_key = any(4) ? "" : "k" + std::to_string(any(6));
      std::vector<std::pair<int, fact_op>> ops;  // kind 0 add, 1 update, 2 delete
      for (std::size_t n = 1 + any(3); n > 0; --n) {
        fact_op o;
        const int kind = static_cast<int>(any(3));
        o.kind = kind == 0 ? "add" : kind == 1 ? "update" : "delete";
        o.text = texts[any(texts.size())];
        o.category = categories[any(categories.size())];
        o.observed_at = now - static_cast<millis>(any(3000));
        o.source_ids = {"m" + std::to_string(any(5))};
        ops.emplace_back(kind, o);
      }
      std::array<std::string, 2> results;
      for (int b = 0; b < 2; ++b) {
        batch.ops.clear();
        for (auto [kind, o] : ops) {
          if (kind != 0) o.fact_id = id_for(b);
          batch.ops.push_back(o);
        }
        results[b] = shown(stores[b]->apply(batch));
      }
      CHECK(results[0] == results[1]);
    } else if (op < 85) {
      const auto& text = texts[any(texts.size())];
      const auto& category = categories[any(categories.size())];
      CHECK(stores[0]->remember(user, text, category, now).has_value() ==
            stores[1]->remember(user, text, category, now).has_value());
    } else if (op < 97) {
      CHECK(stores[0]->forget(user, id_for(0), now) == stores[1]->forget(user, id_for(1), now));
    } else {
      const auto r0 = stores[0]->erase_user(user), r1 = stores[1]->erase_user(user);
      CHECK(r0.facts == r1.facts);
      CHECK(r0.fact_events == r1.fact_events);
    }
    for (const auto& u : users) REQUIRE(shown_facts(*stores[0], u) == shown_facts(*stores[1], u));
    CHECK(stores[0]->count_facts() == stores[1]->count_facts());
  }
}
