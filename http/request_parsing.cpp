// Request bodies to typed messages. Everything here is pure: no sockets, no clocks, no logs.
// Each rejection is an api_failure with status 400, a machine-readable code and a message
// that names the offending field (and, in a batch, its index), never the field's value:
// the value may be a phone number or a message, which we do not echo back into logs.
#include "http/request_parsing.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdint>
#include <limits>

namespace memoryd {
namespace {

// Limits on individual fields. The body as a whole is bounded by server_options::body_limit.
constexpr std::size_t kMaxUserIdBytes = max_user_id_bytes;
constexpr std::size_t kMaxChannelBytes = 32;
constexpr std::size_t kMaxExternalIdBytes = 256;

api_failure bad_request(std::string code, std::string message) {
  return api_failure{400, std::move(code), std::move(message)};
}

parsed_messages failed(api_failure f) {
  parsed_messages out;
  out.error = std::move(f);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One form component: '+' is a space, %XX a byte. False on a truncated or non-hex escape.
bool form_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;  // truncated: "%", "%4"
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

//------------------------------------------------------------------------------
// JSON messages

// "user_id" for a single message, "messages[3].user_id" in a batch.
std::string field_name(std::optional<std::size_t> index, std::string_view field) {
  if (!index) return std::string(field);
  return "messages[" + std::to_string(*index) + "]." + std::string(field);
}

// Why `s` cannot be stored as text (see is_storable_text), naming the field.
std::optional<api_failure> text_problem(const std::string& name, std::string_view s) {
  if (!is_valid_utf8(s)) return bad_request("invalid_utf8", name + ": must be valid UTF-8");
  if (s.find('\0') != std::string_view::npos)
    return bad_request("invalid_field", name + ": must not contain NUL characters");
  return std::nullopt;
}

// A string field: present (unless optional), a JSON string, valid UTF-8, within its limits.
// Returns the failure, or nullopt with `out` set (left alone when an optional field is absent
// or null).
std::optional<api_failure> string_field(const boost::json::object& obj, std::string_view key,
                                        std::optional<std::size_t> index, bool required,
                                        std::size_t max_bytes, bool allow_empty, std::string& out) {
  const std::string name = field_name(index, key);
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || (v->is_null() && !required)) {
    if (required) return bad_request("missing_field", name + ": required");
    return std::nullopt;
  }
  const boost::json::string* s = v->if_string();
  if (s == nullptr) return bad_request("invalid_field", name + ": must be a string");
  std::string_view sv(s->data(), s->size());
  // Boost.JSON validates raw bytes, but a \u escape can still smuggle in a lone surrogate.
  if (auto e = text_problem(name, sv)) return e;
  if (sv.empty() && !allow_empty) return bad_request("invalid_field", name + ": must not be empty");
  if (sv.size() > max_bytes) {
    return bad_request("invalid_field",
                       name + ": must be at most " + std::to_string(max_bytes) + " bytes");
  }
  out.assign(sv.data(), sv.size());
  return std::nullopt;
}

std::optional<api_failure> message_from_json(const boost::json::value& v,
                                             std::optional<std::size_t> index, new_message& m) {
  const boost::json::object* obj = v.if_object();
  if (obj == nullptr) {
    if (!index) return bad_request("invalid_json", "request body must be a JSON object");
    return bad_request("invalid_field",
                       "messages[" + std::to_string(*index) + "]: must be an object");
  }
  constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();
  if (auto e = string_field(*obj, "user_id", index, true, kMaxUserIdBytes, false, m.user_id))
    return e;
  if (auto e = string_field(*obj, "role", index, true, unbounded, false, m.role)) return e;
  if (m.role != "user" && m.role != "assistant") {
    return bad_request("invalid_field",
                       field_name(index, "role") + ": must be \"user\" or \"assistant\"");
  }
  if (auto e = string_field(*obj, "content", index, true, unbounded, false, m.content)) return e;
  m.channel = "api";
  if (auto e = string_field(*obj, "channel", index, false, kMaxChannelBytes, false, m.channel))
    return e;
  if (auto e =
          string_field(*obj, "external_id", index, false, kMaxExternalIdBytes, true, m.external_id))
    return e;
  m.created_at = 0;
  if (const boost::json::value* c = obj->if_contains("created_at"); c && !c->is_null()) {
    const std::string name = field_name(index, "created_at");
    if (const std::int64_t* i = c->if_int64()) {
      if (*i < 0) return bad_request("invalid_field", name + ": must not be negative");
      m.created_at = *i;
    } else if (const std::uint64_t* u = c->if_uint64()) {
      // Only values above INT64_MAX are stored as uint64.
      (void)u;
      return bad_request("invalid_field", name + ": out of range");
    } else {
      return bad_request("invalid_field", name + ": must be an integer (milliseconds)");
    }
  }
  m.priority = message_priority::live;
  std::string priority;
  if (auto e = string_field(*obj, "priority", index, false, unbounded, false, priority)) return e;
  if (!priority.empty() && !parse_priority(priority, m.priority)) {
    return bad_request("invalid_field",
                       field_name(index, "priority") + ": must be \"live\" or \"backfill\"");
  }
  return std::nullopt;
}

}  // namespace

//------------------------------------------------------------------------------

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view part = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;  // "a=1&&b=2" and a trailing '&' are harmless
    std::size_t eq = part.find('=');
    std::string name, value;
    if (!form_decode(part.substr(0, eq), name)) return std::nullopt;
    if (eq != std::string_view::npos && !form_decode(part.substr(eq + 1), value))
      return std::nullopt;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

bool is_storable_text(std::string_view s) {
  return s.find('\0') == std::string_view::npos && is_valid_utf8(s);
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {  // 0xC0/0xC1 only start overlong encodings
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {  // 0xF5.. would exceed U+10FFFF
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // stray continuation byte or invalid lead byte
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    for (std::size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min) return false;                      // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // UTF-16 surrogates
    if (cp > 0x10FFFF) return false;
    p += len;
  }
  return true;
}

parsed_messages parse_twilio_form(std::string_view body) {
  auto form = parse_form(body);
  if (!form) return failed(bad_request("invalid_form", "malformed percent-encoding in form body"));
  // First occurrence wins; Twilio never repeats these fields.
  auto find = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : *form)
      if (k == key) return &v;
    return nullptr;
  };

  new_message m;
  m.role = "user";
  m.created_at = 0;

  const std::string* from = find("From");
  if (from == nullptr || from->empty())
    return failed(bad_request("missing_field", "From: required"));
  if (auto e = text_problem("From", *from)) return failed(*e);
  std::string_view user(*from);
  constexpr std::string_view whatsapp = "whatsapp:";
  if (starts_with_icase(user, whatsapp)) {
    m.channel = "whatsapp";
    user.remove_prefix(whatsapp.size());
  } else {
    m.channel = "sms";
  }
  // Twilio sends E.164 numbers with the '+' percent-encoded. A hand-made post (curl -d
  // From=+1555...) leaves it raw and form decoding turns it into a space: a space before
  // digits can only have been that '+'.
  std::string restored;
  if (user.size() > 1 && user.front() == ' ' &&
      user.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    restored = "+" + std::string(user.substr(1));
    user = restored;
  }
  while (!user.empty() && (user.front() == ' ' || user.front() == '\t')) user.remove_prefix(1);
  while (!user.empty() && (user.back() == ' ' || user.back() == '\t')) user.remove_suffix(1);
  if (user.empty()) return failed(bad_request("invalid_field", "From: no sender after the prefix"));
  if (user.size() > kMaxUserIdBytes) {
    return failed(bad_request(
        "invalid_field", "From: must be at most " + std::to_string(kMaxUserIdBytes) + " bytes"));
  }
  m.user_id.assign(user.data(), user.size());

  // A media-only message has an empty Body: it is still a message, and still stored.
  if (const std::string* b = find("Body")) {
    if (auto e = text_problem("Body", *b)) return failed(*e);
    m.content = *b;
  }

  if (const std::string* sid = find("MessageSid")) {
    if (auto e = text_problem("MessageSid", *sid)) return failed(*e);
    if (sid->size() > kMaxExternalIdBytes) {
      return failed(bad_request(
          "invalid_field",
          "MessageSid: must be at most " + std::to_string(kMaxExternalIdBytes) + " bytes"));
    }
    m.external_id = *sid;
  }

  parsed_messages out;
  out.messages.push_back(std::move(m));
  return out;
}

parsed_messages parse_messages_json(std::string_view body, std::size_t max_messages) {
  // Check the raw bytes first so that invalid UTF-8 gets its own code, not "invalid_json".
  if (!is_valid_utf8(body))
    return failed(bad_request("invalid_utf8", "request body must be valid UTF-8"));
  boost::json::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec) return failed(bad_request("invalid_json", "request body is not valid JSON"));
  const boost::json::object* obj = root.if_object();
  if (obj == nullptr)
    return failed(bad_request("invalid_json", "request body must be a JSON object"));

  parsed_messages out;
  if (const boost::json::value* batch = obj->if_contains("messages")) {
    const boost::json::array* arr = batch->if_array();
    if (arr == nullptr) return failed(bad_request("invalid_field", "messages: must be an array"));
    if (arr->empty() || arr->size() > max_messages) {
      return failed(bad_request("invalid_field", "messages: must hold 1 to " +
                                                     std::to_string(max_messages) + " messages"));
    }
    out.messages.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) {
      new_message m;
      if (auto e = message_from_json((*arr)[i], i, m)) return failed(std::move(*e));
      out.messages.push_back(std::move(m));
    }
    return out;
  }
  new_message m;
  if (auto e = message_from_json(root, std::nullopt, m)) return failed(std::move(*e));
  out.messages.push_back(std::move(m));
  return out;
}

namespace {

// The body as a JSON object, or the failure to answer.
std::optional<api_failure> parse_object(std::string_view body, boost::json::value& root) {
  if (!is_valid_utf8(body)) return bad_request("invalid_utf8", "request body must be valid UTF-8");
  boost::json::error_code ec;
  root = boost::json::parse(body, ec);
  if (ec) return bad_request("invalid_json", "request body is not valid JSON");
  if (!root.is_object()) return bad_request("invalid_json", "request body must be a JSON object");
  return std::nullopt;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

parsed_fact parse_add_fact_json(std::string_view body) {
  parsed_fact out;
  auto fail = [&](api_failure f) {
    out.error = std::move(f);
    return out;
  };
  boost::json::value root;
  if (auto e = parse_object(body, root)) return fail(std::move(*e));
  const auto& obj = root.get_object();
  if (auto e = string_field(obj, "text", std::nullopt, true, max_fact_text_bytes, false, out.text))
    return fail(std::move(*e));
  if (is_blank(out.text)) return fail(bad_request("invalid_field", "text: must not be blank"));
  out.category = "other";
  if (auto e = string_field(obj, "category", std::nullopt, false, 64, false, out.category))
    return fail(std::move(*e));
  bool known = false;
  for (const char* c : fact_category::all) known |= out.category == c;
  if (!known) {
    std::string list;
    for (const char* c : fact_category::all) list += (list.empty() ? "" : ", ") + std::string(c);
    return fail(bad_request("invalid_field", "category: must be one of " + list));
  }
  return out;
}

parsed_retry parse_retry_json(std::string_view body) {
  parsed_retry out;
  auto fail = [&](api_failure f) {
    out.error = std::move(f);
    return out;
  };
  if (is_blank(body)) return out;
  boost::json::value root;
  if (auto e = parse_object(body, root)) return fail(std::move(*e));
  const boost::json::value* ids = root.get_object().if_contains("ids");
  if (ids == nullptr || ids->is_null()) return out;
  const boost::json::array* arr = ids->if_array();
  if (arr == nullptr) return fail(bad_request("invalid_field", "ids: must be an array of strings"));
  // An empty list is refused rather than read as "all": a client that filtered its list down
  // to nothing must not retry everything.
  if (arr->empty() || arr->size() > max_retry_ids) {
    return fail(bad_request("invalid_field", "ids: must hold 1 to " +
                                                 std::to_string(max_retry_ids) +
                                                 " ids (omit it to retry every dead message)"));
  }
  out.ids.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string name = "ids[" + std::to_string(i) + "]";
    const boost::json::string* s = (*arr)[i].if_string();
    if (s == nullptr) return fail(bad_request("invalid_field", name + ": must be a string"));
    std::string_view sv(s->data(), s->size());
    if (auto e = text_problem(name, sv)) return fail(*e);
    if (sv.empty() || sv.size() > kMaxExternalIdBytes) {
      return fail(bad_request("invalid_field", name + ": must be 1 to " +
                                                   std::to_string(kMaxExternalIdBytes) + " bytes"));
    }
    out.ids.emplace_back(sv);
  }
  return out;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string redact_user_id(std::string_view user_id) {
  // Keep the last four code points, not bytes: the result stays valid UTF-8.
  std::size_t start = user_id.size();
  int kept = 0;
  while (start > 0 && kept < 4) {
    --start;
    while (start > 0 && (static_cast<unsigned char>(user_id[start]) & 0xC0) == 0x80) --start;
    ++kept;
  }
  if (kept < 4 || start == 0) return "***";
  return "***" + std::string(user_id.substr(start));
}

}  // namespace memoryd
