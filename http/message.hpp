// The request and response types of the HTTP layer. Only Beast's message headers, no Asio and
// no sockets: the socket-free parts (responses, routes, handlers) and their tests include this,
// and only http/session.cpp pays for the parser, the serializer and the streams.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace memoryd {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

}  // namespace memoryd
