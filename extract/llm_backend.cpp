#include "extract/llm_backend.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "domain/fact.hpp"
#include "extract/https_client.hpp"
#include "extract/llm_answer.hpp"
#include "extract/prompt.hpp"

namespace memoryd {
namespace {

namespace json = boost::json;

constexpr const char* kAnthropicVersion = "2023-06-01";
// Longest API error message quoted in a failure.
constexpr std::size_t kMaxQuotedError = 300;
// A Retry-After beyond this is clamped (the actor has its own maximum backoff too).
constexpr millis kMaxRetryAfterMs = 24LL * 3600 * 1000;
// Names in the constrained requests (OpenAI: ^[a-zA-Z0-9_-]{1,64}$).
constexpr const char* kSchemaName = "memory_operations";
constexpr const char* kToolName = "record_memory_operations";

// What this process knows about a server's (base URL + model) handling of the schema.
// Shared by the extractors of the pool so that one rejection costs one extra request, not
// one per extractor; a mutex because the extractors run on their own threads.
enum class schema_support { unknown, accepted, rejected };
struct schema_registry {
  std::mutex mu;
  std::map<std::string, schema_support> by_server;
};
schema_registry& schema_support_registry() {
  static schema_registry r;
  return r;
}
schema_support support_of(const std::string& server) {
  auto& r = schema_support_registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_server.find(server);
  return it == r.by_server.end() ? schema_support::unknown : it->second;
}
// Returns true when this call changed the state (the first to see a rejection logs it).
bool set_support(const std::string& server, schema_support s) {
  auto& r = schema_support_registry();
  std::lock_guard lock(r.mu);
  auto& cur = r.by_server[server];
  if (cur == s) return false;
  cur = s;
  return true;
}

json::object nullable(json::object schema) {
  return json::object{{"anyOf", json::array{std::move(schema), json::object{{"type", "null"}}}}};
}

json::value make_operations_schema() {
  json::array categories;
  for (const char* c : fact_category::all) categories.emplace_back(c);
  json::object op{
      {"type", "object"},
      {"properties",
       json::object{
           {"op",
            json::object{{"type", "string"}, {"enum", json::array{"add", "update", "delete"}}}},
           {"id", nullable(json::object{
                      {"type", "string"},
                      {"description", "update / delete: the id of an existing fact; add: null"}})},
           {"text", nullable(json::object{
                        {"type", "string"},
                        {"description", "add / update: the fact, third person; delete: null"}})},
           {"category",
            nullable(json::object{{"type", "string"}, {"enum", std::move(categories)}})}}},
      {"required", json::array{"op", "id", "text", "category"}},
      {"additionalProperties", false}};
  return json::object{
      {"type", "object"},
      {"properties", json::object{{"operations", json::object{{"type", "array"}, {"items", op}}}}},
      {"required", json::array{"operations"}},
      {"additionalProperties", false}};
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::int64_t as_int(const json::value* v) {
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

const json::value* at_key(const json::value* v, const char* key) {
  if (!v) return nullptr;
  const auto* obj = v->if_object();
  return obj ? obj->if_contains(key) : nullptr;
}

std::string as_string(const json::value* v) {
  if (!v) return {};
  if (const auto* s = v->if_string()) return std::string(s->data(), s->size());
  return {};
}

std::optional<json::value> parse_json(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

// The API's own words for an error: error.message (Anthropic, OpenAI), error (string),
// message, else the start of the body. Printable ASCII only, bounded.
std::string api_error_message(const std::string& body) {
  std::string msg;
  if (auto v = parse_json(body)) {
    const auto* err = at_key(&*v, "error");
    msg = as_string(at_key(err, "message"));
    if (msg.empty()) msg = as_string(err);
    if (msg.empty()) msg = as_string(at_key(&*v, "message"));
    if (msg.empty()) msg = as_string(at_key(&*v, "detail"));
  }
  if (msg.empty()) msg = body;
  std::string out;
  for (char c : msg) {
    if (out.size() >= kMaxQuotedError) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : ' ');
  }
  return trim(out);
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;  // too short to find reliably; never quoted anyway
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "[redacted]");
  }
  return text;
}

millis retry_after_of(const http_reply& reply) {
  if (auto it = reply.headers.find("retry-after-ms"); it != reply.headers.end()) {
    char* end = nullptr;
    const std::string v = trim(it->second);
    const double ms = std::strtod(v.c_str(), &end);
    if (!v.empty() && end && *end == '\0' && std::isfinite(ms) && ms >= 0) {
      return std::min<millis>(static_cast<millis>(std::ceil(ms)), kMaxRetryAfterMs);
    }
  }
  if (auto it = reply.headers.find("retry-after"); it != reply.headers.end()) {
    return parse_retry_after(it->second, wall_clock_ms());
  }
  return 0;
}

}  // namespace

millis parse_retry_after(const std::string& value, millis now) {
  const std::string v = trim(value);
  if (v.empty()) return 0;
  if (std::isdigit(static_cast<unsigned char>(v[0]))) {
    char* end = nullptr;
    const double secs = std::strtod(v.c_str(), &end);
    if (!end || *end != '\0' || !std::isfinite(secs) || secs < 0) return 0;
    const double ms = std::ceil(secs * 1000.0);
    return ms >= static_cast<double>(kMaxRetryAfterMs) ? kMaxRetryAfterMs : static_cast<millis>(ms);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return 0;
  const millis at = static_cast<millis>(timegm(&tm)) * 1000;
  return std::clamp<millis>(at - now, 0, kMaxRetryAfterMs);
}

const json::value& operations_schema() {
  static const json::value schema = make_operations_schema();
  return schema;
}

void reset_structured_output_fallbacks() {
  auto& r = schema_support_registry();
  std::lock_guard lock(r.mu);
  r.by_server.clear();
}

std::string default_token_limit_field(const std::string& base_url) {
  std::string host = base_url;
  if (auto scheme = host.find("://"); scheme != std::string::npos) host.erase(0, scheme + 3);
  host = host.substr(0, host.find_first_of(":/?#"));
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host == "api.openai.com" ? "max_completion_tokens" : "max_tokens";
}

llm_extractor::llm_extractor(llm_options opts) : opts_(std::move(opts)) {
  if (opts_.provider != "anthropic" && opts_.provider != "openai") {
    throw std::invalid_argument("llm provider must be anthropic or openai, not '" + opts_.provider +
                                "'");
  }
  if (opts_.model.empty()) throw std::invalid_argument(opts_.provider + ": model is empty");
  if (opts_.max_tokens <= 0)
    throw std::invalid_argument(opts_.provider + ": max_tokens must be > 0");
  std::string base = trim(opts_.base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.empty()) throw std::invalid_argument(opts_.provider + ": base URL is empty");
  url_ = base + (opts_.provider == "anthropic" ? "/v1/messages" : "/chat/completions");
  token_field_ = opts_.token_limit_field;
  if (token_field_.empty() || token_field_ == "auto")
    token_field_ = default_token_limit_field(base);
  if (token_field_ != "max_tokens" && token_field_ != "max_completion_tokens") {
    throw std::invalid_argument(opts_.provider +
                                ": token limit field must be auto, max_tokens or "
                                "max_completion_tokens, not '" +
                                token_field_ + "'");
  }
  client_ = std::make_unique<https_client>(http_client_options{opts_.timeout, opts_.ca_file});
}

llm_extractor::~llm_extractor() = default;

std::string llm_extractor::version() const {
  return opts_.provider + ":" + opts_.model + "/" + prompt_version;
}

std::int64_t llm_extractor::connections_opened() const { return client_->connections_opened(); }

namespace {
std::string server_key(const llm_options& o, const std::string& url) {
  return o.provider + " " + url + " " + o.model;
}
}  // namespace

bool llm_extractor::uses_structured_output() const {
  return opts_.structured_output && support_of(server_key(opts_, url_)) != schema_support::rejected;
}

// One call's answer, understood as far as it goes. Transport errors, non-2xx statuses and
// 2xx bodies that are no API answer at all throw extraction_failure instead.
struct llm_extractor::call_result {
  extraction_output out;
  std::string error;       // the answer gave no operations: why
  std::string refusal;     // the model declined (OpenAI "refusal", Anthropic stop "refusal")
  bool truncated = false;  // stopped at the token budget before the JSON was complete
};

// A 400 or 422 to a constrained request: maybe the schema, maybe anything else in the
// request. Asking again without the schema tells which; only an answer to that one (any
// 2xx) proves the schema was the problem. Failures of the plain request are its own.
llm_extractor::call_result llm_extractor::call(const extraction_input& in, std::int64_t budget) {
  const std::string server = server_key(opts_, url_);
  const schema_support support = support_of(server);
  if (!opts_.structured_output || support == schema_support::rejected)
    return call_as(in, budget, false);
  try {
    call_result r = call_as(in, budget, true);
    set_support(server, schema_support::accepted);
    return r;
  } catch (const extraction_failure& schema_failure) {
    if (support == schema_support::accepted || schema_failure.kind() != failure_kind::permanent ||
        (schema_failure.http_status != 400 && schema_failure.http_status != 422))
      throw;
    const int rejected_status = schema_failure.http_status;
    call_result r = call_as(in, budget, false);
    if (set_support(server, schema_support::rejected)) {
      log::warn("structured_output_rejected",
                {{"provider", opts_.provider},
                 {"model", opts_.model},
                 {"status", static_cast<std::int64_t>(rejected_status)},
                 {"error", std::string(schema_failure.what())},
                 {"now", "plain JSON mode for this process"}});
    }
    return r;
  }
}

llm_extractor::call_result llm_extractor::call_as(const extraction_input& in, std::int64_t budget,
                                                  bool structured) {
  const bool anthropic = opts_.provider == "anthropic";
  const llm_prompt prompt = build_prompt(in);

  json::object body;
  std::vector<std::pair<std::string, std::string>> headers;
  body["model"] = opts_.model;
  body[anthropic ? std::string("max_tokens") : token_field_] = budget;
  if (anthropic) {
    body["system"] = prompt.system;
    body["messages"] = json::array{json::object{{"role", "user"}, {"content", prompt.user}}};
    if (structured) {
      body["tools"] = json::array{json::object{
          {"name", kToolName},
          {"description",
           "Records the operations that bring the user's facts up to date (an empty list "
           "when the messages hold no new facts)."},
          {"input_schema", operations_schema()}}};
      body["tool_choice"] = json::object{{"type", "tool"}, {"name", kToolName}};
    }
    if (!opts_.api_key.empty()) headers.emplace_back("x-api-key", opts_.api_key);
    headers.emplace_back("anthropic-version", kAnthropicVersion);
  } else {
    body["messages"] = json::array{json::object{{"role", "system"}, {"content", prompt.system}},
                                   json::object{{"role", "user"}, {"content", prompt.user}}};
    // Deterministic answers where the server allows it: OpenAI's reasoning models (which
    // take max_completion_tokens) refuse any temperature but the default.
    if (token_field_ == "max_tokens") body["temperature"] = 0;
    if (structured) {
      body["response_format"] = json::object{
          {"type", "json_schema"},
          {"json_schema",
           json::object{{"name", kSchemaName}, {"strict", true}, {"schema", operations_schema()}}}};
    } else {
      body["response_format"] = json::object{{"type", "json_object"}};
    }
    if (!opts_.api_key.empty()) headers.emplace_back("authorization", "Bearer " + opts_.api_key);
  }
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("accept", "application/json");

  const std::string who = opts_.provider + " " + url_;
  http_reply reply;
  try {
    reply = client_->post(url_, headers, json::serialize(body));
  } catch (const https_error& e) {
    // A TLS failure is a certificate or configuration problem that retrying cannot fix.
    const auto kind =
        e.kind() == https_error_kind::tls ? failure_kind::permanent : failure_kind::transient;
    throw extraction_failure(kind, redact(opts_.provider + ": " + e.what(), opts_.api_key));
  } catch (const std::invalid_argument& e) {
    throw extraction_failure(failure_kind::permanent, opts_.provider + ": " + e.what());
  }

  const int status = reply.status;
  // The official SDKs obey the server's x-should-retry over their own status rules.
  std::string should_retry;
  if (auto it = reply.headers.find("x-should-retry"); it != reply.headers.end())
    should_retry = trim(it->second);
  if (status < 200 || status > 299) {
    std::string msg = redact(
        who + " answered HTTP " + std::to_string(status) + ": " + api_error_message(reply.body),
        opts_.api_key);
    auto permanent = [&](const std::string& what) {
      extraction_failure f(failure_kind::permanent, what);
      f.http_status = status;
      return f;
    };
    if (should_retry == "false") throw permanent(msg + " (x-should-retry: false)");
    if (status == 429)
      throw extraction_failure(failure_kind::rate_limited, msg, retry_after_of(reply));
    if (should_retry == "true" || status == 408 || status == 409 || status >= 500) {
      throw extraction_failure(failure_kind::transient, msg, retry_after_of(reply));
    }
    throw permanent(msg);
  }

  // A 2xx that is not the API's JSON is not the model's answer but something in between (a
  // proxy's or captive portal's HTML page, an empty body): worth retrying, like a 5xx.
  auto envelope = parse_json(reply.body);
  if (!envelope || !envelope->is_object()) {
    std::string type = "no content type";
    if (auto it = reply.headers.find("content-type"); it != reply.headers.end())
      type = api_error_message(it->second);
    throw extraction_failure(failure_kind::transient,
                             who + " answered HTTP " + std::to_string(status) + " (" + type +
                                 ") with a body that is not a JSON object");
  }
  const json::value* root = &*envelope;
  // Some gateways report upstream errors as a 2xx {"error": ...} without an answer.
  if (at_key(root, "error") && !at_key(root, anthropic ? "content" : "choices")) {
    throw extraction_failure(failure_kind::transient,
                             redact(who + " answered HTTP " + std::to_string(status) +
                                        " with an error: " + api_error_message(reply.body),
                                    opts_.api_key));
  }
  call_result r;
  std::string text;
  std::string stop;
  bool have_text = false;
  bool from_tool = false;  // the answer is a tool_use block's input
  const auto* usage = at_key(root, "usage");
  if (anthropic) {
    r.out.input_tokens = as_int(at_key(usage, "input_tokens")) +
                         as_int(at_key(usage, "cache_creation_input_tokens")) +
                         as_int(at_key(usage, "cache_read_input_tokens"));
    r.out.output_tokens = as_int(at_key(usage, "output_tokens"));
    stop = as_string(at_key(root, "stop_reason"));
    if (const auto* content = at_key(root, "content"); content && content->is_array()) {
      // The forced tool's input is the answer; text blocks are read only without one (a
      // server or proxy that ignored the tools).
      bool& have_tool = from_tool;
      for (const auto& block : content->get_array()) {
        const std::string type = as_string(at_key(&block, "type"));
        if (type == "tool_use" && as_string(at_key(&block, "name")) == kToolName) {
          if (const auto* input = at_key(&block, "input")) {
            text = json::serialize(*input);
            have_text = have_tool = true;
          }
        } else if (type == "text" && !have_tool) {
          text += as_string(at_key(&block, "text"));
          have_text = true;
        }
      }
    }
    if (stop == "refusal") r.refusal = text.empty() ? "(no text)" : text;
  } else {
    r.out.input_tokens = as_int(at_key(usage, "prompt_tokens"));
    r.out.output_tokens = as_int(at_key(usage, "completion_tokens"));
    const auto* choices = at_key(root, "choices");
    if (choices && choices->is_array() && !choices->get_array().empty()) {
      const json::value* choice = &choices->get_array()[0];
      stop = as_string(at_key(choice, "finish_reason"));
      const auto* message = at_key(choice, "message");
      const auto* content = at_key(message, "content");
      if (content && content->is_string()) {
        text = as_string(content);
        have_text = true;
      }
      r.refusal = as_string(at_key(message, "refusal"));
      if (r.refusal.empty() && stop == "content_filter") r.refusal = "(content_filter)";
    }
  }
  if (!r.refusal.empty()) return r;
  const bool at_limit =
      stop == "max_tokens" || stop == "length" || stop == "model_context_window_exceeded";
  // A tool input cut off at the budget is still returned as an object, maybe with fewer
  // operations than the model meant: never trusted. (Cut-off text is incomplete JSON.)
  if (from_tool && at_limit) {
    r.truncated = true;
    r.error =
        "answer truncated at " + std::to_string(budget) + " tokens (stop reason " + stop + ")";
    return r;
  }
  if (!have_text) {
    r.error = who + ": the response has no text content" +
              (stop.empty() ? std::string() : " (stop reason " + stop + ")");
    r.truncated = at_limit;
    return r;
  }
  llm_answer answer = parse_llm_answer(text, in);
  if (!answer.parse_error.empty()) {
    r.error = answer.parse_error;
    r.truncated = at_limit;
    if (r.truncated)
      r.error = "answer truncated at " + std::to_string(budget) + " tokens: " + r.error;
    return r;
  }
  r.out.ops = std::move(answer.ops);
  r.out.dropped = std::move(answer.dropped);
  return r;
}

namespace {

void add_tokens(extraction_output& to, const extraction_output& from) {
  to.input_tokens += from.input_tokens;
  to.output_tokens += from.output_tokens;
}

[[noreturn]] void fail_with_tokens(failure_kind kind, const std::string& what,
                                   const extraction_output& spent) {
  extraction_failure failure(kind, what);
  failure.input_tokens = spent.input_tokens;
  failure.output_tokens = spent.output_tokens;
  throw failure;
}

}  // namespace

// A call that is understood ends the extraction; a refusal or an answer that is not JSON
// ends it as a failure. A truncated one says nothing about the model's ability to answer,
// only that the budget was too small for this batch: once more with twice the budget, then
// each half of the messages on its own (smaller input, smaller answer), and only when that
// is truncated too, give up as `truncated` (dead-lettered: kept for a retry by hand with a
// larger llm.max_tokens, never marked done without its facts).
extraction_output llm_extractor::extract(const extraction_input& in) {
  if (in.messages.empty()) return {};
  extraction_output spent;  // tokens of every call, whatever became of it
  auto settle = [&](call_result& r) -> bool {
    add_tokens(spent, r.out);
    if (!r.refusal.empty())
      fail_with_tokens(failure_kind::refused,
                       opts_.provider + ": the model refused: " + api_error_message(r.refusal),
                       spent);
    if (r.truncated) return false;
    if (!r.error.empty()) fail_with_tokens(failure_kind::unparseable, r.error, spent);
    return true;
  };
  call_result first = call(in, opts_.max_tokens);
  if (settle(first)) {
    first.out.input_tokens = spent.input_tokens;
    first.out.output_tokens = spent.output_tokens;
    return std::move(first.out);
  }
  const std::int64_t larger = opts_.max_tokens * 2;
  call_result second = call(in, larger);
  if (settle(second)) {
    second.out.input_tokens = spent.input_tokens;
    second.out.output_tokens = spent.output_tokens;
    return std::move(second.out);
  }
  if (in.messages.size() < 2) {
    fail_with_tokens(failure_kind::truncated,
                     second.error + " (also with " + std::to_string(larger) + "; one message)",
                     spent);
  }
  extraction_output merged;
  const std::size_t mid = in.messages.size() / 2;
  for (int part = 0; part < 2; ++part) {
    extraction_input half{in.user_id, in.facts, {}, in.context_before};
    half.messages.assign(part == 0 ? in.messages.begin() : in.messages.begin() + mid,
                         part == 0 ? in.messages.begin() + mid : in.messages.end());
    call_result r = call(half, larger);
    if (!settle(r)) {
      fail_with_tokens(failure_kind::truncated,
                       r.error + " (also with the batch split in halves of " + std::to_string(mid) +
                           " and " + std::to_string(in.messages.size() - mid) + " messages)",
                       spent);
    }
    for (auto& op : r.out.ops) merged.ops.push_back(std::move(op));
    for (auto& [reason, n] : r.out.dropped) merged.dropped[reason] += n;
  }
  merged.input_tokens = spent.input_tokens;
  merged.output_tokens = spent.output_tokens;
  return merged;
}

}  // namespace memoryd
