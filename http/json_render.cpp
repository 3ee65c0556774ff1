#include "http/json_render.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdio>

namespace memoryd {
namespace {

namespace json = boost::json;

json::value string_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::value(s);
}

json::value time_or_null(millis t) {
  if (t == 0) return nullptr;
  return json::value(t);
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object to_json(const stored_message& m) {
  return {{"id", m.id},
          {"seq", m.seq},
          {"role", m.role},
          {"content", m.content},
          {"channel", m.channel},
          {"external_id", string_or_null(m.external_id)},
          {"created_at", m.created_at},
          {"status", m.status},
          {"attempts", m.attempts},
          {"last_error", string_or_null(m.last_error)},
          {"processed_at", time_or_null(m.processed_at)},
          {"priority", to_string(m.priority)}};
}

json::object to_json(const fact& f) {
  return {{"id", f.id},
          {"text", f.text},
          {"category", f.category},
          {"status", f.status},
          {"observed_at", f.observed_at},
          {"created_at", f.created_at},
          {"updated_at", f.updated_at},
          {"source_ids", string_array(f.source_ids)}};
}

json::object to_json(const fact_event& e) {
  return {{"seq", e.seq},
          {"fact_id", e.fact_id},
          {"new_fact_id", string_or_null(e.new_fact_id)},
          {"kind", e.kind},
          {"old_text", string_or_null(e.old_text)},
          {"new_text", string_or_null(e.new_text)},
          {"cause", e.cause},
          {"extractor", string_or_null(e.extractor)},
          {"source_ids", string_array(e.source_ids)},
          {"observed_at", e.observed_at},
          {"at", e.at}};
}

// Boost.JSON writes doubles as 1.5E0; these are milliseconds and ratios that people read:
// at most 3 decimals, plain notation, non-finite as null.
void append_number(double d, std::string& out) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", d);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  out += s;
}

// json::serialize, except for doubles (see append_number).
void dump(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(kv.key()));
        out += ':';
        dump(kv.value(), out);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        dump(e, out);
      }
      out += ']';
      return;
    }
    case json::kind::double_:
      return append_number(v.get_double(), out);
    default:
      out += json::serialize(v);
  }
}

std::string dump(const json::value& v) {
  std::string out;
  dump(v, out);
  return out;
}

json::object to_json(const priority_stats& p) {
  return {{"users_waiting", p.users_waiting},
          {"messages_waiting", p.messages_waiting},
          {"oldest_age_ms", p.oldest_age_ms}};
}

json::object to_json(const cycle_result& c) {
  return {{"cycle_id", c.cycle_id},
          {"users", c.users},
          {"messages_processed", c.messages_processed},
          {"facts_written", c.facts_written},
          {"errors", c.errors},
          {"retries_scheduled", c.retries_scheduled},
          {"dead_lettered", c.dead_lettered},
          {"claimed", {{"live", c.live_claimed}, {"backfill", c.backfill_claimed}}},
          {"claim_ms", c.claim_ms},
          {"extract_ms", c.extract_ms},
          {"write_ms", c.write_ms},
          {"total_ms", c.total_ms}};
}

}  // namespace

std::string render_error(std::string_view code, std::string_view message) {
  json::object err{{"code", code}, {"message", message}};
  return json::serialize(json::object{{"error", std::move(err)}});
}

std::string render_ingest(const std::vector<ingest_outcome>& outcomes) {
  json::array a;
  a.reserve(outcomes.size());
  for (const auto& o : outcomes)
    a.push_back(json::object{{"id", o.id}, {"duplicate", o.duplicate}});
  return json::serialize(json::object{{"messages", std::move(a)}});
}

std::string render_history(std::string_view user_id, const std::vector<stored_message>& msgs,
                           std::string_view next_cursor) {
  json::array a;
  a.reserve(msgs.size());
  for (const auto& m : msgs) a.push_back(to_json(m));
  json::value next = nullptr;
  if (!next_cursor.empty()) next = json::string(next_cursor);
  return json::serialize(
      json::object{{"user_id", user_id}, {"messages", std::move(a)}, {"next_cursor", next}});
}

namespace {
json::value cursor_or_null(const std::string& cursor) {
  if (cursor.empty()) return nullptr;
  return json::string(cursor);
}

json::array events_json(const std::vector<fact_event>& events) {
  json::array out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(to_json(e));
  return out;
}
}  // namespace

std::string render_facts(std::string_view user_id, const fact_listing& listing,
                         const std::string& next_cursor,
                         const std::optional<std::string>& events_next) {
  json::array facts;
  facts.reserve(listing.facts.size());
  for (const auto& f : listing.facts) facts.push_back(to_json(f));
  json::object out{{"user_id", user_id},
                   {"facts", std::move(facts)},
                   {"next_cursor", cursor_or_null(next_cursor)}};
  if (events_next) {
    out["events"] = events_json(listing.events);
    out["events_next_cursor"] = cursor_or_null(*events_next);
  }
  return json::serialize(out);
}

std::string render_fact_events(std::string_view user_id, const std::vector<fact_event>& events,
                               const std::string& next_cursor) {
  return json::serialize(json::object{{"user_id", user_id},
                                      {"events", events_json(events)},
                                      {"next_cursor", cursor_or_null(next_cursor)}});
}

std::string render_search(std::string_view user_id, std::string_view query,
                          const std::vector<scored_fact>& results) {
  json::array a;
  a.reserve(results.size());
  for (const auto& r : results) {
    auto o = to_json(r.f);
    o["score"] = std::round(r.score * 10000) / 10000;
    a.push_back(std::move(o));
  }
  return json::serialize(
      json::object{{"user_id", user_id}, {"query", query}, {"results", std::move(a)}});
}

std::string render_context(std::string_view user_id, std::string_view query,
                           const memory_context& context) {
  json::array a;
  a.reserve(context.facts.size());
  for (const auto& c : context.facts) {
    auto o = to_json(c.f);
    o["reason"] = c.reason;
    if (c.reason == "relevant") o["score"] = std::round(c.score * 10000) / 10000;
    a.push_back(std::move(o));
  }
  json::value q = query.empty() ? json::value(nullptr) : json::value(query);
  return json::serialize(json::object{
      {"user_id", user_id}, {"query", q}, {"text", context.text}, {"facts", std::move(a)}});
}

std::string render_health(const health_report& health) {
  if (health.ok) return R"({"status":"ok"})";
  return json::serialize(json::object{{"status", "unavailable"}, {"detail", health.detail}});
}

std::string render_fact_created(const fact& f) {
  return json::serialize(json::object{{"fact", to_json(f)}});
}

std::string render_deleted() { return R"({"deleted":true})"; }

std::string render_erase(std::string_view user_id, const erase_report& report) {
  json::object erased{
      {"messages", report.messages}, {"facts", report.facts}, {"fact_events", report.fact_events}};
  return json::serialize(json::object{{"user_id", user_id}, {"erased", std::move(erased)}});
}

std::string render_cycle(const cycle_result& c) { return dump(to_json(c)); }

std::string render_status(const status_report& s) {
  const auto& q = s.queue;
  json::object queue{
      {"pending", q.pending},
      {"leased", q.leased},
      {"done", q.done},
      {"dead", q.dead},
      {"skipped", q.skipped},
      {"retry_scheduled", q.retry_scheduled},
      {"oldest_pending_age_ms", q.oldest_pending_age_ms},
      {"users_waiting", q.users_waiting},
      {"priorities", {{"live", to_json(q.live)}, {"backfill", to_json(q.backfill)}}}};
  const auto& p = s.processor;
  json::value rate = nullptr;
  if (p.messages_processed + p.errors > 0) {
    rate = static_cast<double>(p.messages_processed) /
           static_cast<double>(p.messages_processed + p.errors);
  }
  json::value last = nullptr;
  if (p.cycles > 0) last = to_json(p.last_cycle);
  json::object extractions;
  for (std::size_t k = 0; k < kResults; ++k) extractions[kResultNames[k]] = p.extractions[k];
  json::object processor{{"running", p.running},
                         {"in_flight", p.in_flight},
                         {"queued", p.queued},
                         {"pool_size", p.pool_size},
                         {"concurrency_limit", p.concurrency_limit},
                         {"extractor", s.extractor},
                         {"model", string_or_null(s.model)},
                         {"cycles", p.cycles},
                         {"messages_processed", p.messages_processed},
                         {"errors", p.errors},
                         {"facts_written", p.facts_written},
                         {"dead_lettered", p.dead_lettered},
                         {"extractions", std::move(extractions)},
                         {"success_rate", std::move(rate)},
                         {"last_cycle", std::move(last)}};
  json::array recent;
  for (const auto& c : p.recent_cycles) {
    auto o = to_json(c.result);
    o["finished_at"] = c.finished_at;
    recent.push_back(std::move(o));
  }
  processor["recent_cycles"] = std::move(recent);
  json::array alerts;
  for (const auto& a : s.alerts) {
    alerts.push_back(json::object{{"alert", a.alert},
                                  {"enabled", a.enabled},
                                  {"active", a.active},
                                  {"value", a.value},
                                  {"threshold", a.threshold},
                                  {"since", time_or_null(a.since)}});
  }
  return dump(json::object{{"queue", std::move(queue)},
                           {"processor", std::move(processor)},
                           {"alerts", std::move(alerts)}});
}

std::string render_retried(std::int64_t n) { return json::serialize(json::object{{"retried", n}}); }

std::string render_ready(const health_report& ready, bool webhook_signed) {
  json::object o{{"status", ready.ok ? "ready" : "not_ready"}};
  if (!ready.ok) o["detail"] = ready.detail;
  o["webhook_signed"] = webhook_signed;
  return json::serialize(o);
}

}  // namespace memoryd
