#include "http/json_render.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

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
          {"processed_at", time_or_null(m.processed_at)}};
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

std::string render_history(std::string_view user_id, const std::vector<stored_message>& msgs) {
  json::array a;
  a.reserve(msgs.size());
  for (const auto& m : msgs) a.push_back(to_json(m));
  return json::serialize(json::object{{"user_id", user_id}, {"messages", std::move(a)}});
}

std::string render_facts(std::string_view user_id, const fact_listing& listing, bool with_history) {
  json::array facts;
  facts.reserve(listing.facts.size());
  for (const auto& f : listing.facts) facts.push_back(to_json(f));
  json::object out{{"user_id", user_id}, {"facts", std::move(facts)}};
  if (with_history) {
    json::array events;
    events.reserve(listing.events.size());
    for (const auto& e : listing.events) events.push_back(to_json(e));
    out["events"] = std::move(events);
  }
  return json::serialize(out);
}

std::string render_health(const health_report& health) {
  if (health.ok) return R"({"status":"ok"})";
  return json::serialize(json::object{{"status", "unavailable"}, {"detail", health.detail}});
}

}  // namespace memoryd
