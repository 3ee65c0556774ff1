// bench_load: an HTTP/1.1 load client for the ingest benchmark (DESIGN.md §8).
//
// C keep-alive connections to 127.0.0.1, spread over T client threads (one io_context each),
// each sending one request at a time for a fixed duration (and at most --requests in total).
// Every request to memoryd is a new message: a unique MessageSid / external_id per request
// and a few hundred distinct senders, so nothing is answered as a duplicate.
//
//   bench_load --port N[,N...] --target twilio|api|raw [--connections C] [--threads T]
//              [--duration S] [--warmup S] [--requests N] [--senders K] [--run-id ID]
//              [--rate R] [--label key=value]...
//   bench_load --port N --target get --paths FILE ...   GETs of the request targets in FILE
//                                                       (one a line, taken in turn)
//
// Several ports (one server each, e.g. memoryd instances on one PostgreSQL database): the
// connections are dealt out in turn, connection c to port c % P, as a round-robin balancer
// in front of them would; the JSON line then has "ports":P.
//
// Closed loop by default: each connection sends its next request when the last is answered,
// so the rate is whatever the server sustains (a saturation test). --rate R makes it an open
// loop: R requests/s in all, connection c's k-th request due at start + (c + k*C) / R, and
// latency measured from that due time, not from the send: a request that had to wait for a
// slow answer before it could go counts the wait (no coordinated omission). Requests that
// fall behind go at once, one at a time per connection.
//
// Latency is send (or due time) -> whole response read, per request. Prints ONE JSON line:
// {"bench":"ingest","target":..,"connections":C,"seconds":S,"requests":N,"errors":E,
//  "req_per_s":R,"p50_ms":..,"p99_ms":..,"max_ms":..,<labels>}
// "requests" counts 2xx answers completed inside the measured window (after the warm-up);
// non-2xx answers and transport errors count as errors. Exit 0 when there were no errors.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

enum class target_kind { twilio, api, raw, get };

struct options {
  std::vector<std::uint16_t> ports;
  target_kind target = target_kind::raw;
  std::string target_name = "raw";
  int connections = 1;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 0;
  std::uint64_t max_requests = 0;  // 0: no limit besides the duration
  int senders = 300;
  std::string run_id;
  std::vector<std::pair<std::string, std::string>> labels;
  std::chrono::milliseconds request_timeout{10000};
  std::vector<std::string> paths;  // --target get
  double rate = 0;                 // requests/s in all (open loop); 0: closed loop
};

// Shared, read-only while the run is under way.
struct run_clock {
  clock_type::time_point start, measure_from, deadline;
};

struct conn_stats {
  std::vector<std::uint32_t> latency_us;  // 2xx answers in the measured window
  std::uint64_t ok = 0, errors = 0, sent = 0;
  std::uint64_t non_2xx = 0, transport_errors = 0;
};

// A few realistic message texts; the rules extractor finds facts in some of them.
constexpr const char* kTexts[] = {
    "I have a dog named Max and I am allergic to peanuts.",
    "Can you remind me what time the meeting is tomorrow?",
    "I live in Boston and I love hiking on weekends.",
    "ok thanks",
    "My sister is visiting next week, she is vegetarian.",
    "I work as a nurse at the city hospital.",
};
constexpr std::size_t kTextCount = sizeof(kTexts) / sizeof(kTexts[0]);

std::string form_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class connection : public std::enable_shared_from_this<connection> {
  const options& opt_;
  const run_clock& clk_;
  const int index_;
  std::atomic<std::uint64_t>& budget_;  // requests left when --requests is set
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  clock_type::time_point sent_at_;  // or, with --rate, when the request was due
  asio::steady_timer pace_;         // --rate: waits for the next due time
  std::uint64_t seq_ = 0;
  std::mt19937_64 rng_;  // MessageSids: seeded per connection and run, never repeated
  int reconnects_ = 0;

 public:
  conn_stats stats;

  connection(asio::io_context& ioc, const options& opt, const run_clock& clk, int index,
             std::atomic<std::uint64_t>& budget)
      : opt_(opt),
        clk_(clk),
        index_(index),
        budget_(budget),
        stream_(ioc),
        pace_(ioc),
        rng_(std::hash<std::string>{}(opt.run_id) ^ (0x9e3779b97f4a7c15ULL * (index + 1))) {}

  void start() { do_connect(); }

  void stop() {
    pace_.cancel();
    stream_.close();
  }

 private:
  void do_connect() {
    tcp::endpoint ep{asio::ip::make_address("127.0.0.1"),
                     opt_.ports[static_cast<std::size_t>(index_) % opt_.ports.size()]};
    stream_.expires_after(opt_.request_timeout);
    stream_.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        ++self->stats.errors;
        ++self->stats.transport_errors;
        return;  // this connection is done: a refused connect would fail again at once
      }
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->do_request();
    });
  }

  bool take_budget() {
    if (opt_.max_requests == 0) return true;
    auto left = budget_.load();
    while (left > 0)
      if (budget_.compare_exchange_weak(left, left - 1)) return true;
    return false;
  }

  void build_request() {
    const std::uint64_t n = seq_++;
    const std::uint64_t sender = (n * 131 + static_cast<std::uint64_t>(index_) * 7) %
                                 static_cast<std::uint64_t>(opt_.senders);
    const char* text = kTexts[(n + static_cast<std::uint64_t>(index_)) % kTextCount];
    std::string path, content_type, body;
    char id[160];
    std::snprintf(id, sizeof id, "%s-%d-%llu", opt_.run_id.c_str(), index_,
                  static_cast<unsigned long long>(n));
    switch (opt_.target) {
      case target_kind::twilio: {
        // Real MessageSids are "SM" + 32 random hex digits: each lands on a random page of the
        // external-id index, which is what a production database pays (ids counted up per
        // connection would be far kinder to the B-tree).
        static const char hex[] = "0123456789abcdef";
        std::string sid = "SM";
        for (int i = 0; i < 2; ++i) {
          const std::uint64_t r = rng_();
          for (int b = 0; b < 16; ++b) sid += hex[(r >> (4 * b)) & 15];
        }
        char from[48];
        std::snprintf(from, sizeof from, "%s+1555%07llu", (sender % 4 == 0) ? "whatsapp:" : "",
                      static_cast<unsigned long long>(sender));
        path = "/webhooks/twilio";
        content_type = "application/x-www-form-urlencoded";
        body = "ToCountry=US&SmsMessageSid=" + sid + "&NumMedia=0&From=" + form_escape(from) +
               "&To=%2B15559990000&Body=" + form_escape(text) + "&MessageSid=" + sid +
               "&AccountSid=ACbench&ApiVersion=2010-04-01";
        break;
      }
      case target_kind::api: {
        char user[48];
        std::snprintf(user, sizeof user, "bench-user-%llu",
                      static_cast<unsigned long long>(sender));
        path = "/v1/messages";
        content_type = "application/json";
        body = std::string("{\"user_id\":\"") + user + "\",\"role\":\"user\",\"content\":\"" +
               text + "\",\"external_id\":\"api-" + id + "\"}";
        break;
      }
      case target_kind::raw:
        path = "/webhooks/twilio";
        content_type = "application/x-www-form-urlencoded";
        body = "From=%2B15550000000&Body=hello&MessageSid=SM" + std::string(id);
        break;
      case target_kind::get: {
        // Connections start at different places in the list, so they do not ask in step.
        const auto& p = opt_.paths[(n * 7919 + static_cast<std::uint64_t>(index_) * 104729) %
                                   opt_.paths.size()];
        request_ = "GET " + p + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench_load\r\n\r\n";
        return;
      }
    }
    request_.clear();
    request_ +=
        "POST " + path +
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench_load\r\nContent-Type: " + content_type +
        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    request_ += body;
  }

  // This connection's next due time with --rate: every C/R seconds from start + c/R.
  clock_type::time_point next_due() const {
    const double at = (static_cast<double>(index_) +
                       static_cast<double>(seq_) * static_cast<double>(opt_.connections)) /
                      opt_.rate;
    return clk_.start +
           std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(at));
  }

  void do_request() {
    if (clock_type::now() >= clk_.deadline || !take_budget()) return stop();
    if (opt_.rate > 0) {
      const auto due = next_due();
      if (due >= clk_.deadline) return stop();
      if (due > clock_type::now()) {
        pace_.expires_at(due);
        pace_.async_wait([self = shared_from_this(), due](beast::error_code ec) {
          if (!ec) self->do_send(due);
        });
        return;
      }
      return do_send(due);
    }
    do_send(clock_type::now());
  }

  // Sends the next request; its latency counts from `latency_from` (now, or its due time).
  void do_send(clock_type::time_point latency_from) {
    build_request();
    parser_.emplace();
    parser_->body_limit(1024 * 1024);
    ++stats.sent;
    stream_.expires_after(opt_.request_timeout);
    sent_at_ = latency_from;
    asio::async_write(stream_, asio::buffer(request_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_transport_error();
                        self->do_read();
                      });
  }

  void do_read() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_transport_error();
                       self->on_response();
                     });
  }

  void on_response() {
    const auto done = clock_type::now();
    const auto& res = parser_->get();
    const unsigned status = res.result_int();
    const bool in_window = done >= clk_.measure_from && done <= clk_.deadline;
    if (in_window) {
      if (status >= 200 && status < 300) {
        ++stats.ok;
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(done - sent_at_).count();
        stats.latency_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
      } else {
        ++stats.errors;
        ++stats.non_2xx;
        if (stats.non_2xx <= 3)
          std::cerr << "bench_load: HTTP " << status << ": " << res.body().substr(0, 200) << "\n";
      }
    }
    if (!res.keep_alive()) return reconnect();
    do_request();
  }

  void on_transport_error() {
    if (clock_type::now() >= clk_.deadline) return stop();
    ++stats.errors;
    ++stats.transport_errors;
    reconnect();
  }

  void reconnect() {
    stop();
    if (++reconnects_ > 1000 || clock_type::now() >= clk_.deadline) return;
    buffer_.clear();
    do_connect();
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_load: " << why
            << "\nusage: bench_load --port N[,N...] --target twilio|api|raw [--connections C] "
               "[--threads T] [--duration S] [--warmup S] [--requests N] [--senders K] "
               "[--run-id ID] [--rate R] [--label key=value]...\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--port") {
        o.ports.clear();
        std::stringstream list(value());
        for (std::string item; std::getline(list, item, ',');) {
          int p = std::stoi(item);
          if (p <= 0 || p > 65535) usage("bad port");
          o.ports.push_back(static_cast<std::uint16_t>(p));
        }
      } else if (a == "--target") {
        o.target_name = value();
        if (o.target_name == "twilio")
          o.target = target_kind::twilio;
        else if (o.target_name == "api")
          o.target = target_kind::api;
        else if (o.target_name == "raw")
          o.target = target_kind::raw;
        else if (o.target_name == "get")
          o.target = target_kind::get;
        else
          usage("unknown target " + o.target_name);
      } else if (a == "--paths") {
        std::ifstream in(value());
        for (std::string line; std::getline(in, line);)
          if (!line.empty()) o.paths.push_back(line);
      } else if (a == "--connections") {
        o.connections = std::stoi(value());
      } else if (a == "--threads") {
        o.threads = std::stoi(value());
      } else if (a == "--duration") {
        o.duration_s = std::stod(value());
      } else if (a == "--warmup") {
        o.warmup_s = std::stod(value());
      } else if (a == "--requests") {
        o.max_requests = std::stoull(value());
      } else if (a == "--senders") {
        o.senders = std::stoi(value());
      } else if (a == "--run-id") {
        o.run_id = value();
      } else if (a == "--timeout-ms") {
        o.request_timeout = std::chrono::milliseconds(std::stoi(value()));
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--label") {
        auto kv = value();
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) usage("--label wants key=value");
        o.labels.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      } else {
        usage("unknown argument " + a);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + a);
    }
  }
  if (o.ports.empty()) usage("--port is required");
  if (o.ports.size() > 64) usage("at most 64 ports");
  if (o.target == target_kind::get && o.paths.empty()) usage("--target get needs --paths FILE");
  if (o.connections < 1 || o.connections > 4096) usage("--connections must be 1..4096");
  if (o.threads < 1 || o.threads > 16) usage("--threads must be 1..16");
  if (!(o.duration_s > 0 && o.duration_s <= 3600)) usage("--duration must be in (0, 3600]");
  if (!(o.warmup_s >= 0 && o.warmup_s < o.duration_s)) usage("--warmup must be < --duration");
  if (o.senders < 1) usage("--senders must be >= 1");
  if (o.run_id.size() > 64) usage("--run-id must be at most 64 bytes");
  if (o.request_timeout.count() < 1) usage("--timeout-ms must be >= 1");
  if (!(o.rate >= 0 && o.rate <= 1e6)) usage("--rate must be in [0, 1e6] (0: closed loop)");
  if (o.run_id.empty()) {
    o.run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
               std::to_string(::getpid());
  }
  return o;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// A label value that is a plain number is printed as a number, anything else as a string.
bool is_number(const std::string& s) {
  // JSON numbers only: -?(0|[1-9][0-9]*)(\.[0-9]+)?
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  auto digit = [&](std::size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (!digit(i)) return false;
  if (s[i] == '0' && digit(i + 1)) return false;
  while (digit(i)) ++i;
  if (i < s.size() && s[i] == '.') {
    if (!digit(++i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size() && s.size() <= 30;
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse_args(argc, argv);
  const int threads = std::min(opt.threads, opt.connections);

  std::vector<std::unique_ptr<asio::io_context>> iocs;
  for (int t = 0; t < threads; ++t) iocs.push_back(std::make_unique<asio::io_context>(1));

  run_clock clk;
  clk.start = clock_type::now();
  clk.measure_from = clk.start + std::chrono::duration_cast<clock_type::duration>(
                                     std::chrono::duration<double>(opt.warmup_s));
  clk.deadline = clk.start + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(opt.duration_s));
  std::atomic<std::uint64_t> budget{opt.max_requests};

  std::vector<std::shared_ptr<connection>> conns;
  for (int c = 0; c < opt.connections; ++c) {
    conns.push_back(std::make_shared<connection>(*iocs[c % threads], opt, clk, c, budget));
    conns.back()->stats.latency_us.reserve(1 << 16);
    conns.back()->start();
  }
  // Hard bound: whatever is still waiting a request timeout past the deadline is cut off.
  std::vector<std::unique_ptr<asio::steady_timer>> guards;
  for (auto& ioc : iocs) {
    guards.push_back(std::make_unique<asio::steady_timer>(*ioc));
    guards.back()->expires_at(clk.deadline + opt.request_timeout + std::chrono::seconds(1));
    guards.back()->async_wait([ioc = ioc.get()](beast::error_code ec) {
      if (!ec) ioc->stop();
    });
  }
  // Once every connection is done, the guard timers are all that is left: cancel them from a
  // watcher so run() returns as soon as the work is finished.
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& ioc = *iocs[t];
      asio::steady_timer watch(ioc);
      std::function<void(beast::error_code)> check = [&](beast::error_code ec) {
        if (ec) return;
        bool any_left = false;
        for (int c = t; c < opt.connections; c += threads)
          if (conns[c].use_count() > 1) any_left = true;
        if (!any_left) {
          guards[t]->cancel();
          return;
        }
        watch.expires_after(std::chrono::milliseconds(20));
        watch.async_wait(check);
      };
      watch.expires_at(clk.deadline);
      watch.async_wait(check);
      ioc.run();
    });
  }
  for (auto& th : pool) th.join();

  conn_stats total;
  for (auto& c : conns) {
    total.ok += c->stats.ok;
    total.errors += c->stats.errors;
    total.non_2xx += c->stats.non_2xx;
    total.transport_errors += c->stats.transport_errors;
    total.latency_us.insert(total.latency_us.end(), c->stats.latency_us.begin(),
                            c->stats.latency_us.end());
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  const double seconds = opt.duration_s - opt.warmup_s;

  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(3);
  out << "{\"bench\":\"" << (opt.target == target_kind::get ? "http_get" : "ingest")
      << "\",\"target\":\"" << opt.target_name << "\",\"connections\":" << opt.connections
      << ",\"ports\":" << opt.ports.size() << ",\"client_threads\":" << threads
      << ",\"seconds\":" << seconds << ",\"requests\":" << total.ok
      << ",\"errors\":" << total.errors << ",\"non_2xx\":" << total.non_2xx
      << ",\"transport_errors\":" << total.transport_errors;
  out.precision(1);
  if (opt.rate > 0) out << ",\"offered_per_s\":" << opt.rate;
  out << ",\"req_per_s\":" << (seconds > 0 ? total.ok / seconds : 0.0);
  out.precision(3);
  out << ",\"p50_ms\":" << percentile_ms(total.latency_us, 0.50)
      << ",\"p90_ms\":" << percentile_ms(total.latency_us, 0.90)
      << ",\"p99_ms\":" << percentile_ms(total.latency_us, 0.99)
      << ",\"p999_ms\":" << percentile_ms(total.latency_us, 0.999)
      << ",\"max_ms\":" << (total.latency_us.empty() ? 0.0 : total.latency_us.back() / 1000.0);
  for (const auto& [k, v] : opt.labels) {
    out << ",\"" << json_escape(k) << "\":";
    if (is_number(v))
      out << v;
    else
      out << "\"" << json_escape(v) << "\"";
  }
  out << "}";
  std::cout << out.str() << std::endl;
  return total.errors == 0 ? 0 : 1;
}
