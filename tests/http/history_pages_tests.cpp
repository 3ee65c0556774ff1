// GET /v1/users/{id}/messages a page at a time: next_cursor toward older messages, null on
// the last page, and cursors bound to their user and filters. handle_request without a socket,
// over the fake service (which pages its history_result as a store does).
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "http/handlers.hpp"
#include "http/page_cursor.hpp"
#include "tests/http/fake_service.hpp"

using namespace memoryd;
using namespace memoryd::testing;
namespace http = boost::beast::http;

namespace {

response get(fake_api& api, const std::string& target) {
  request req{http::verb::get, target, 11};
  auto t = parse_target(req.target());
  std::optional<response> out;
  handle_request(req, t, {}, api, [&](response r) { out = std::move(r); });
  REQUIRE(out);
  return std::move(*out);
}

boost::json::object body_of(const response& r) { return boost::json::parse(r.body()).as_object(); }

// Seqs 10, 20, ..., 120, all at the same created_at.
std::vector<stored_message> twelve() {
  std::vector<stored_message> out;
  for (std::int64_t seq = 10; seq <= 120; seq += 10) {
    stored_message m;
    m.seq = seq;
    m.id = "m" + std::to_string(seq);
    m.user_id = "alice";
    m.role = "user";
    m.content = "c" + std::to_string(seq);
    m.channel = "sms";
    m.created_at = 1000;
    m.status = "pending";
    out.push_back(m);
  }
  return out;
}

std::vector<std::int64_t> seqs_of(const boost::json::object& body) {
  std::vector<std::int64_t> out;
  for (const auto& m : body.at("messages").as_array()) out.push_back(m.at("seq").as_int64());
  return out;
}

std::string next_of(const boost::json::object& body) {
  const auto& n = body.at("next_cursor");
  return n.is_null() ? std::string() : std::string(n.as_string().c_str());
}

void check_refused(fake_api& api, const std::string& target) {
  INFO(target);
  auto r = get(api, target);
  CHECK(r.result_int() == 400);
  if (r.result_int() != 400) return;  // no error body to read
  CHECK(r[http::field::content_type] == "application/json");
  auto err = body_of(r).at("error").as_object();
  CHECK(err.at("code").as_string() == "invalid_parameter");
  CHECK(std::string(err.at("message").as_string().c_str()).rfind("cursor: ", 0) == 0);
}

}  // namespace

TEST_CASE("history pages by cursor toward older messages: each once, null on the last page") {
  fake_api api;
  api.history_result = twelve();
  auto first = body_of(get(api, "/v1/users/alice/messages?limit=5"));
  // The first page is what it always was: the latest `limit`, oldest first.
  CHECK(seqs_of(first) == std::vector<std::int64_t>{80, 90, 100, 110, 120});
  REQUIRE_FALSE(next_of(first).empty());
  auto second = body_of(get(api, "/v1/users/alice/messages?limit=5&cursor=" + next_of(first)));
  CHECK(seqs_of(second) == std::vector<std::int64_t>{30, 40, 50, 60, 70});
  REQUIRE_FALSE(next_of(second).empty());
  auto third = body_of(get(api, "/v1/users/alice/messages?limit=5&cursor=" + next_of(second)));
  CHECK(seqs_of(third) == std::vector<std::int64_t>{10, 20});
  CHECK(third.at("next_cursor").is_null());
  CHECK(third.at("user_id").as_string() == "alice");
  // The store is asked for one row more than the page, below the oldest row shown.
  auto qs = api.histories();
  REQUIRE(qs.size() == 3);
  CHECK(qs[0].limit == 6);
  CHECK(qs[0].before_seq == 0);
  CHECK(qs[1].before_seq == 80);
  CHECK(qs[2].before_seq == 30);
  for (const auto& q : qs) CHECK(q.user_id == "alice");

  SECTION("a page that holds exactly the rest has no next page") {
    auto all = body_of(get(api, "/v1/users/alice/messages?limit=12"));
    CHECK(seqs_of(all).size() == 12);
    CHECK(all.at("next_cursor").is_null());
    auto rest = body_of(get(api, "/v1/users/alice/messages?limit=10&cursor=" + next_of(second)));
    CHECK(seqs_of(rest) == std::vector<std::int64_t>{10, 20});
    CHECK(rest.at("next_cursor").is_null());
  }
  SECTION("limit may change between pages, and the default page is 50") {
    auto one = body_of(get(api, "/v1/users/alice/messages?limit=1&cursor=" + next_of(first)));
    CHECK(seqs_of(one) == std::vector<std::int64_t>{70});
    auto rest = body_of(get(api, "/v1/users/alice/messages?cursor=" + next_of(one)));
    CHECK(seqs_of(rest) == std::vector<std::int64_t>{10, 20, 30, 40, 50, 60});
    CHECK(rest.at("next_cursor").is_null());
    CHECK(api.histories().back().limit == 51);
  }
  SECTION("an empty history is one page with no next") {
    api.history_result.clear();
    auto none = body_of(get(api, "/v1/users/alice/messages"));
    CHECK(none.at("messages").as_array().empty());
    CHECK(none.at("next_cursor").is_null());
  }
}

TEST_CASE("history cursors keep their filters, whatever the parameter order") {
  fake_api api;
  api.history_result = twelve();
  auto first = body_of(
      get(api, "/v1/users/alice/messages?role=user&processed=false&since=5&until=9999&limit=5"));
  const auto cursor = next_of(first);
  REQUIRE_FALSE(cursor.empty());
  auto second = get(api, "/v1/users/alice/messages?cursor=" + cursor +
                             "&until=9999&limit=5&since=5&processed=false&role=user");
  REQUIRE(second.result_int() == 200);
  CHECK(seqs_of(body_of(second)) == std::vector<std::int64_t>{30, 40, 50, 60, 70});
  auto q = api.histories().back();
  CHECK(q.before_seq == 80);
  CHECK(q.role == "user");
  CHECK(q.processed == 0);
  CHECK(q.since == 5);
  CHECK(q.until == 9999);
}

TEST_CASE("history refuses a cursor that is not of this user and these filters") {
  fake_api api;
  api.history_result = twelve();
  const auto plain = next_of(body_of(get(api, "/v1/users/alice/messages?limit=5")));
  const auto users_only =
      next_of(body_of(get(api, "/v1/users/alice/messages?limit=5&role=user&processed=true")));
  REQUIRE_FALSE(plain.empty());
  REQUIRE_FALSE(users_only.empty());
  const auto asked = api.histories().size();

  // Not a cursor at all, or one changed by a character.
  for (const auto& bad :
       std::vector<std::string>{"", "abc", "!!!", "bm90IGEgY3Vyc29y", std::string(300, 'A')})
    check_refused(api, "/v1/users/alice/messages?cursor=" + bad);
  auto changed = plain;
  changed[5] = changed[5] == 'A' ? 'B' : 'A';
  check_refused(api, "/v1/users/alice/messages?limit=5&cursor=" + changed);
  // Another user's.
  check_refused(api, "/v1/users/bob/messages?limit=5&cursor=" + plain);
  check_refused(api, "/v1/users/alic/messages?limit=5&cursor=" + plain);
  // Other filters: added, dropped or changed.
  check_refused(api, "/v1/users/alice/messages?limit=5&role=user&cursor=" + plain);
  check_refused(api, "/v1/users/alice/messages?limit=5&processed=false&cursor=" + plain);
  check_refused(api, "/v1/users/alice/messages?limit=5&since=1&cursor=" + plain);
  check_refused(api, "/v1/users/alice/messages?limit=5&until=2000&cursor=" + plain);
  check_refused(api, "/v1/users/alice/messages?limit=5&cursor=" + users_only);
  check_refused(api, "/v1/users/alice/messages?limit=5&role=user&cursor=" + users_only);
  check_refused(api,
                "/v1/users/alice/messages?limit=5&role=user&processed=false&cursor=" + users_only);
  check_refused(api, "/v1/users/alice/messages?role=assistant&processed=true&cursor=" + users_only);
  // The dead-letter list's, as GET /v1/processor/dead hands it out, and one made for "messages"
  // with a scope that is not this query's.
  for (std::int64_t seq = 5; seq >= 1; --seq) {
    stored_message d;
    d.seq = seq;
    d.id = "d" + std::to_string(seq);
    d.status = "dead";
    api.dead_result.push_back(d);
  }
  const auto dead = next_of(body_of(get(api, "/v1/processor/dead?limit=2")));
  REQUIRE_FALSE(dead.empty());
  check_refused(api, "/v1/users/alice/messages?cursor=" + dead);
  check_refused(api,
                "/v1/users/alice/messages?cursor=" + page_cursor::encode("messages", "alice", 80));
  // None of these reached the store; the good ones still work.
  CHECK(api.histories().size() == asked);
  CHECK(get(api, "/v1/users/alice/messages?limit=5&cursor=" + plain).result_int() == 200);
  CHECK(get(api, "/v1/users/alice/messages?processed=true&role=user&cursor=" + users_only)
            .result_int() == 200);
  // And a messages cursor is no dead-letter cursor.
  CHECK(get(api, "/v1/processor/dead?cursor=" + plain).result_int() == 400);
}
