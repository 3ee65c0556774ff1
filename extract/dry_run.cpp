#include "extract/dry_run.hpp"

#include <boost/json.hpp>

#include <istream>
#include <ostream>
#include <string>

namespace memoryd {
namespace {

namespace json = boost::json;

bool blank(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

std::string string_or_number(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return {};
}

// Builds the extraction input of one record; returns an error text, empty when fine.
std::string read_record(const json::value& v, json::value& id, extraction_input& in) {
  if (!v.is_object()) return "not a JSON object";
  const json::object& o = v.get_object();
  if (const json::value* p = o.if_contains("user_id"); p && p->is_string())
    in.user_id = std::string(p->get_string());
  if (const json::value* p = o.if_contains("id"); p && (p->is_string() || p->is_number()))
    id = *p;
  else if (!in.user_id.empty())
    id = json::string(in.user_id);
  else
    return "record has no \"id\" or \"user_id\"";
  const json::value* ms = o.if_contains("messages");
  if (ms == nullptr || !ms->is_array()) return "\"messages\" is missing or not an array";
  std::size_t k = 0;
  std::string context;  // an assistant turn waiting for the user message it came before
  for (const json::value& m : ms->get_array()) {
    extraction_message em;
    em.id = "m" + std::to_string(k);
    if (m.is_string()) {
      em.content = std::string(m.get_string());
    } else if (m.is_object()) {
      const json::object& mo = m.get_object();
      const json::value* c = mo.if_contains("content");
      if (c == nullptr || !c->is_string())
        return "message " + std::to_string(k) + " has no string \"content\"";
      em.content = std::string(c->get_string());
      // Another role's turn (the assistant's) is context for the next user message: read,
      // never mined.
      if (const json::value* r = mo.if_contains("role");
          r && r->is_string() && r->get_string() != "user") {
        context = std::move(em.content);
        ++k;
        continue;
      }
      if (const json::value* t = mo.if_contains("created_at"); t && t->is_number()) {
        boost::system::error_code ec;
        const auto ms_value = t->to_number<std::int64_t>(ec);
        if (!ec) em.created_at = ms_value;
      }
      if (const json::value* i = mo.if_contains("id")) {
        const std::string s = string_or_number(*i);
        if (!s.empty()) em.id = s;
      }
    } else {
      return "message " + std::to_string(k) + " is neither a string nor an object";
    }
    if (!context.empty()) in.context_before[em.id] = std::move(context);
    context.clear();
    in.messages.push_back(std::move(em));
    ++k;
  }
  return {};
}

}  // namespace

int run_dry_run(std::istream& in, std::ostream& out, std::ostream& err,
                extractor_backend& backend) {
  int rc = 0;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (blank(line)) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    json::value id;
    extraction_input input;
    std::string problem = ec ? "invalid JSON: " + ec.message() : read_record(v, id, input);
    if (!problem.empty()) {
      err << "line " << line_no << ": " << problem << "\n";
      rc = 1;
      continue;
    }
    extraction_output res;
    std::string error;
    try {
      res = backend.extract(input);
    } catch (const extraction_failure& e) {
      error = to_string(e.kind()) + ": " + e.what();
    } catch (const std::exception& e) {
      error = std::string("extraction failed: ") + e.what();
    }
    // The record keeps its output line (one per record, in input order) and says why it has
    // no facts: a prompt being tried must not look like one that finds nothing.
    if (!error.empty()) {
      err << "line " << line_no << ": " << error << "\n";
      rc = 1;
    }
    json::array facts;
    for (const fact_op& op : res.ops) {
      if (op.kind != "add" && op.kind != "update") continue;
      json::object f;
      f["text"] = op.text;
      f["category"] = op.category.empty() ? "other" : op.category;
      facts.push_back(std::move(f));
    }
    json::object rec;
    rec["id"] = std::move(id);
    rec["facts"] = std::move(facts);
    if (!error.empty()) rec["error"] = error;
    out << json::serialize(rec) << "\n";
  }
  return rc;
}

}  // namespace memoryd
