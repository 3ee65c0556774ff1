#include "extract/llm_answer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <optional>
#include <set>

#include "domain/fact_text.hpp"

namespace memoryd {
namespace {

namespace json = boost::json;

// Balanced {...} / [...] candidates tried in prose before giving up.
constexpr int kMaxCandidates = 200;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<json::value> try_parse(std::string_view s) {
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  json::error_code ec;
  auto v = json::parse(json::string_view(s.data(), s.size()), ec, {}, opts);
  if (ec) return std::nullopt;
  return v;
}

// The operations array of an accepted shape, else null.
const json::array* ops_array(const json::value& v) {
  if (const auto* arr = v.if_array()) return arr;
  if (const auto* obj = v.if_object()) {
    for (const char* key : {"operations", "ops", "facts"}) {
      if (const auto* field = obj->if_contains(key)) {
        if (const auto* arr = field->if_array()) return arr;
      }
    }
  }
  return nullptr;
}

// End (one past) of the balanced bracket block starting at `start`, skipping strings.
std::optional<std::size_t> balanced_end(std::string_view s, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::nullopt;
}

struct found_json {
  std::optional<json::value> value;  // has an operations array
  bool saw_json = false;             // some JSON parsed, but of another shape
};

void consider(std::string_view candidate, found_json& found) {
  if (found.value) return;
  auto v = try_parse(trim(candidate));
  if (!v) return;
  if (ops_array(*v)) {
    found.value = std::move(v);
  } else {
    found.saw_json = true;
  }
}

found_json find_json(std::string_view text) {
  found_json found;
  consider(text, found);
  // Code fences: ``` or ```json, up to the next ```.
  for (std::size_t pos = text.find("```"); !found.value && pos != std::string_view::npos;) {
    std::size_t body = pos + 3;
    while (body < text.size() && std::isalpha(static_cast<unsigned char>(text[body]))) ++body;
    const std::size_t close = text.find("```", body);
    if (close == std::string_view::npos) {
      consider(text.substr(body), found);
      break;
    }
    consider(text.substr(body, close - body), found);
    pos = text.find("```", close + 3);
  }
  // The first balanced block in prose that parses to the expected shape.
  int tried = 0;
  for (std::size_t pos = text.find_first_of("{[");
       !found.value && pos != std::string_view::npos && tried < kMaxCandidates;
       pos = text.find_first_of("{[", pos + 1), ++tried) {
    if (auto end = balanced_end(text, pos)) consider(text.substr(pos, *end - pos), found);
  }
  return found;
}

// A string field, or nullopt when absent. Throws (caught per op) when of the wrong type.
struct malformed_field {};

std::optional<std::string> string_field(const json::object& obj, const char* key) {
  const auto* v = obj.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (const auto* s = v->if_string()) return std::string(s->data(), s->size());
  throw malformed_field{};
}

std::optional<std::string> id_field(const json::object& obj) {
  const auto* v = obj.if_contains("id");
  if (!v || v->is_null()) return std::nullopt;
  if (const auto* s = v->if_string())
    return std::string(trim(std::string_view(s->data(), s->size())));
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  throw malformed_field{};
}

}  // namespace

llm_answer parse_llm_answer(std::string_view text, const extraction_input& in) {
  llm_answer out;
  auto found = find_json(text);
  if (!found.value) {
    out.parse_error = found.saw_json ? "the answer's JSON has no operations array"
                                     : "no JSON found in the answer";
    return out;
  }

  std::set<std::string> active;
  for (const auto& f : in.facts) active.insert(f.id);
  std::set<std::string> touched;  // ids already updated / deleted by this answer
  const millis observed_at = in.messages.empty() ? 0 : in.messages.back().created_at;
  std::vector<std::string> source_ids;
  for (const auto& m : in.messages) source_ids.push_back(m.id);

  auto drop = [&out](const char* reason) { ++out.dropped[reason]; };
  std::size_t seen = 0;
  for (const auto& item : *ops_array(*found.value)) {
    if (++seen > max_ops_per_answer) {
      drop("too_many_ops");
      continue;
    }
    const auto* obj = item.if_object();
    if (!obj) {
      drop("malformed");
      continue;
    }
    try {
      std::string kind;
      auto op_name = string_field(*obj, "op");
      if (!op_name && obj->contains("action")) op_name = string_field(*obj, "action");
      auto text_value = string_field(*obj, "text");
      if (!text_value) text_value = string_field(*obj, "fact");
      if (!op_name && text_value && !obj->contains("id")) {
        op_name = "add";  // the older [{"fact", "category"}] format
      }
      kind = lower(trim(op_name.value_or("")));
      if (kind != "add" && kind != "update" && kind != "delete") {
        drop("unknown_op");
        continue;
      }
      fact_op op;
      op.kind = kind;
      if (kind != "add") {
        auto id = id_field(*obj);
        if (!id || !active.count(*id)) {
          drop("unknown_id");
          continue;
        }
        if (touched.count(*id)) {
          drop("duplicate_id");
          continue;
        }
        op.fact_id = *id;
      }
      if (kind != "delete") {
        const std::string raw = text_value.value_or("");
        const std::string_view t = trim(raw);
        if (t.empty()) {
          drop("empty_text");
          continue;
        }
        if (t.size() > max_fact_text_bytes) {
          drop("text_too_long");
          continue;
        }
        op.text = std::string(t);
        const std::string category = lower(trim(string_field(*obj, "category").value_or("")));
        if (category.empty()) {
          op.category = kind == "add" ? "other" : "";
        } else if (!is_valid_category(category)) {
          drop("unknown_category");
          continue;
        } else {
          op.category = category;
        }
      }
      if (!op.fact_id.empty()) touched.insert(op.fact_id);
      op.observed_at = observed_at;
      op.source_ids = source_ids;
      out.ops.push_back(std::move(op));
    } catch (const malformed_field&) {
      drop("malformed");
    }
  }
  return out;
}

}  // namespace memoryd
