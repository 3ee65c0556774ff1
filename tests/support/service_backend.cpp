#include "tests/support/service_backend.hpp"

#include <stdexcept>

#include "tests/support/pg_server.hpp"

namespace memoryd::testing {

service_backend::service_backend(std::string name) : name_(std::move(name)) {
  if (name_ == "postgres")
    url_ = fresh_pg_database();
  else if (name_ != "sqlite")
    throw std::invalid_argument("no storage backend " + name_);
}

service_backend::~service_backend() {
  if (postgres()) drop_pg_database(url_);
}

std::map<std::string, std::string> service_backend::storage_env(const temp_dir& dir) const {
  std::map<std::string, std::string> env{{"CONVERSATION_DB_PATH", dir.file("conversation.db")},
                                         {"MEMORY_DB_PATH", dir.file("memory.db")},
                                         {"MEMORYD_STORAGE", name_}};
  if (postgres()) env["DATABASE_URL"] = url_;
  return env;
}

}  // namespace memoryd::testing
