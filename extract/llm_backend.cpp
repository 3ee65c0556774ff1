#include "extract/llm_backend.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "core/clock.hpp"
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
  client_ = std::make_unique<https_client>(http_client_options{opts_.timeout, opts_.ca_file});
}

llm_extractor::~llm_extractor() = default;

std::string llm_extractor::version() const {
  return opts_.provider + ":" + opts_.model + "/" + prompt_version;
}

std::int64_t llm_extractor::connections_opened() const { return client_->connections_opened(); }

extraction_output llm_extractor::extract(const extraction_input& in) {
  if (in.messages.empty()) return {};
  const bool anthropic = opts_.provider == "anthropic";
  const llm_prompt prompt = build_prompt(in);

  json::object body;
  std::vector<std::pair<std::string, std::string>> headers;
  body["model"] = opts_.model;
  body["max_tokens"] = opts_.max_tokens;
  if (anthropic) {
    body["system"] = prompt.system;
    body["messages"] = json::array{json::object{{"role", "user"}, {"content", prompt.user}}};
    if (!opts_.api_key.empty()) headers.emplace_back("x-api-key", opts_.api_key);
    headers.emplace_back("anthropic-version", kAnthropicVersion);
  } else {
    body["messages"] = json::array{json::object{{"role", "system"}, {"content", prompt.system}},
                                   json::object{{"role", "user"}, {"content", prompt.user}}};
    body["temperature"] = 0;
    body["response_format"] = json::object{{"type", "json_object"}};
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
  if (status < 200 || status > 299) {
    const std::string msg = redact(
        who + " answered HTTP " + std::to_string(status) + ": " + api_error_message(reply.body),
        opts_.api_key);
    if (status == 429)
      throw extraction_failure(failure_kind::rate_limited, msg, retry_after_of(reply));
    if (status == 408 || status == 409 || status >= 500) {
      throw extraction_failure(failure_kind::transient, msg, retry_after_of(reply));
    }
    throw extraction_failure(failure_kind::permanent, msg);
  }

  auto envelope = parse_json(reply.body);
  if (!envelope || !envelope->is_object())
    throw extraction_failure(failure_kind::unparseable,
                             who + ": the response body is not a JSON object");
  const json::value* root = &*envelope;
  std::string text;
  std::string stop;
  std::int64_t input_tokens = 0, output_tokens = 0;
  bool have_text = false;
  const auto* usage = at_key(root, "usage");
  if (anthropic) {
    input_tokens = as_int(at_key(usage, "input_tokens")) +
                   as_int(at_key(usage, "cache_creation_input_tokens")) +
                   as_int(at_key(usage, "cache_read_input_tokens"));
    output_tokens = as_int(at_key(usage, "output_tokens"));
    stop = as_string(at_key(root, "stop_reason"));
    if (const auto* content = at_key(root, "content"); content && content->is_array()) {
      for (const auto& block : content->get_array()) {
        if (as_string(at_key(&block, "type")) == "text") {
          text += as_string(at_key(&block, "text"));
          have_text = true;
        }
      }
    }
  } else {
    input_tokens = as_int(at_key(usage, "prompt_tokens"));
    output_tokens = as_int(at_key(usage, "completion_tokens"));
    const auto* choices = at_key(root, "choices");
    if (choices && choices->is_array() && !choices->get_array().empty()) {
      const json::value* choice = &choices->get_array()[0];
      stop = as_string(at_key(choice, "finish_reason"));
      const auto* content = at_key(at_key(choice, "message"), "content");
      if (content && content->is_string()) {
        text = as_string(content);
        have_text = true;
      }
    }
  }

  std::string error;
  llm_answer answer;
  if (!have_text) {
    error = who + ": the response has no text content" +
            (stop.empty() ? std::string() : " (stop reason " + stop + ")");
  } else {
    answer = parse_llm_answer(text, in);
    error = answer.parse_error;
    if (!error.empty() && (stop == "max_tokens" || stop == "length"))
      error = "answer truncated at max_tokens (" + std::to_string(opts_.max_tokens) + "): " + error;
  }
  if (!error.empty()) {
    extraction_failure failure(failure_kind::unparseable, error);
    failure.input_tokens = input_tokens;
    failure.output_tokens = output_tokens;
    throw failure;
  }
  extraction_output out;
  out.ops = std::move(answer.ops);
  out.dropped = std::move(answer.dropped);
  out.input_tokens = input_tokens;
  out.output_tokens = output_tokens;
  return out;
}

}  // namespace memoryd
