// One io thread runs everything: the acceptor and every session (plain or TLS), each in
// protocol order (do_x starts an operation, on_x is its completion).
#include "tests/support/fake_llm.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace memoryd::testing {
namespace {

namespace asio = boost::asio;  // not "net": caf::net exists
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kIdleTimeout{30};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

struct fake_llm::impl {
  bool tls = false;
  ssl::context ctx{ssl::context::tls_server};  // outlives the sessions (destroyed with ioc)
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::thread thread;

  mutable std::mutex m;
  std::deque<fake_response> script;
  std::vector<fake_request> requests;
  int connections = 0;

  fake_response next_response(fake_request req) {
    std::lock_guard lock(m);
    requests.push_back(std::move(req));
    if (script.empty()) {
      fake_response r;
      r.status = 500;
      r.body = R"({"error": {"message": "fake_llm: no scripted response"}})";
      return r;
    }
    auto r = std::move(script.front());
    script.pop_front();
    return r;
  }

  template <class Stream>
  struct session : std::enable_shared_from_this<session<Stream>> {
    static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;
    impl* owner;
    int id;
    Stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    asio::steady_timer timer;

    session(impl* o, int n, tcp::socket socket)
        : owner(o), id(n), stream(make_stream(o, std::move(socket))), timer(o->ioc) {}

    static Stream make_stream(impl* o, tcp::socket socket) {
      if constexpr (is_tls) {
        return Stream(std::move(socket), o->ctx);
      } else {
        return Stream(std::move(socket));
      }
    }

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }

    void start() {
      if constexpr (is_tls) {
        lowest().expires_after(kIdleTimeout);
        stream.async_handshake(ssl::stream_base::server,
                               [self = this->shared_from_this()](beast::error_code ec) {
                                 if (!ec) self->do_read();
                               });
      } else {
        do_read();
      }
    }

    void do_read() {
      req = {};
      lowest().expires_after(kIdleTimeout);
      http::async_read(stream, buffer, req,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_read(ec);
                       });
    }

    void on_read(beast::error_code ec) {
      if (ec) return close();
      fake_request rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& field : req) {
        rec.headers[lower(std::string(field.name_string()))] = std::string(field.value());
      }
      rec.body = req.body();
      rec.connection = id;
      fake_response r = owner->next_response(std::move(rec));
      if (r.reset) {
        beast::error_code ignored;
        lowest().socket().set_option(asio::socket_base::linger(true, 0), ignored);
        lowest().socket().close(ignored);
        return;
      }
      res = {};
      res.version(11);
      res.result(static_cast<unsigned>(r.status));
      res.set(http::field::server, "fake_llm");
      if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
      for (const auto& [name, value] : r.headers) res.set(name, value);
      res.body() = r.body;
      res.keep_alive(req.keep_alive() && !r.close);
      res.prepare_payload();
      if (r.delay.count() > 0) {
        timer.expires_after(r.delay);
        timer.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
          if (!wait_ec) self->do_write();
        });
      } else {
        do_write();
      }
    }

    void do_write() {
      lowest().expires_after(kIdleTimeout);
      http::async_write(stream, res,
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->res.keep_alive()) return self->close();
                          self->do_read();
                        });
    }

    void close() {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      lowest().socket().close(ignored);
    }
  };

  void do_accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        int id = 0;
        {
          std::lock_guard lock(m);
          id = ++connections;
        }
        if (tls) {
          std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(this, id,
                                                                          std::move(socket))
              ->start();
        } else {
          std::make_shared<session<beast::tcp_stream>>(this, id, std::move(socket))->start();
        }
      }
      do_accept();
    });
  }
};

fake_llm::fake_llm(fake_llm_options opts) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  if (!opts.cert_file.empty() || !opts.key_file.empty()) {
    d.tls = true;
    d.ctx.use_certificate_chain_file(opts.cert_file);
    d.ctx.use_private_key_file(opts.key_file, ssl::context::pem);
  }
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  d.acceptor.open(ep.protocol());
  d.acceptor.set_option(asio::socket_base::reuse_address(true));
  d.acceptor.bind(ep);
  d.acceptor.listen();
  d.port = d.acceptor.local_endpoint().port();
  d.do_accept();
  d.thread = std::thread([&d] { d.ioc.run(); });
}

fake_llm::~fake_llm() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t fake_llm::port() const { return impl_->port; }

std::string fake_llm::url(const std::string& host) const {
  return std::string(impl_->tls ? "https://" : "http://") + host + ":" +
         std::to_string(impl_->port);
}

void fake_llm::push(fake_response r) {
  std::lock_guard lock(impl_->m);
  impl_->script.push_back(std::move(r));
}

std::vector<fake_request> fake_llm::requests() const {
  std::lock_guard lock(impl_->m);
  return impl_->requests;
}

int fake_llm::connections() const {
  std::lock_guard lock(impl_->m);
  return impl_->connections;
}

fake_response anthropic_reply(const std::string& text, std::int64_t input_tokens,
                              std::int64_t output_tokens, const std::string& stop_reason) {
  json::object body{
      {"id", "msg_fake"},
      {"type", "message"},
      {"role", "assistant"},
      {"model", "claude-fake"},
      {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
      {"stop_reason", stop_reason},
      {"stop_sequence", nullptr},
      {"usage", json::object{{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}}};
  fake_response r;
  r.body = json::serialize(body);
  return r;
}

fake_response anthropic_tool_reply(const std::string& input_json, const std::string& tool,
                                   const std::string& stop_reason) {
  json::object body{{"id", "msg_fake"},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", "claude-fake"},
                    {"content", json::array{json::object{{"type", "tool_use"},
                                                         {"id", "toolu_fake"},
                                                         {"name", tool},
                                                         {"input", json::parse(input_json)}}}},
                    {"stop_reason", stop_reason},
                    {"stop_sequence", nullptr},
                    {"usage", json::object{{"input_tokens", 10}, {"output_tokens", 5}}}};
  fake_response r;
  r.body = json::serialize(body);
  return r;
}

fake_response openai_reply(const std::string& text, std::int64_t prompt_tokens,
                           std::int64_t completion_tokens, const std::string& finish_reason) {
  json::object message{{"role", "assistant"}, {"content", text}};
  json::object body{
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"created", 1700000000},
      {"model", "gpt-fake"},
      {"choices", json::array{json::object{
                      {"index", 0}, {"message", message}, {"finish_reason", finish_reason}}}},
      {"usage", json::object{{"prompt_tokens", prompt_tokens},
                             {"completion_tokens", completion_tokens},
                             {"total_tokens", prompt_tokens + completion_tokens}}}};
  fake_response r;
  r.body = json::serialize(body);
  return r;
}

fake_response error_reply(int status, const std::string& message,
                          std::vector<std::pair<std::string, std::string>> headers) {
  fake_response r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = json::serialize(json::object{
      {"type", "error"}, {"error", json::object{{"type", "api_error"}, {"message", message}}}});
  return r;
}

}  // namespace memoryd::testing
