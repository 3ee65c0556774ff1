// The PostgreSQL schema: both of memoryd's databases (conversations and their queue, facts
// and their history) in one PostgreSQL database, through numbered migrations.
#pragma once

#include <string_view>
#include <vector>

namespace memoryd::pg {

class connection;

// Index i is migration i + 1. Never edit an entry that has shipped; append a new one.
const std::vector<std::string_view>& migrations();

// Applies the migrations the database has not seen, each in its own transaction and
// recorded in memoryd_migrations, under a session advisory lock: instances that start
// together wait for each other instead of racing (the second finds nothing to do). Returns
// how many it applied. Throws pg::error; a failed migration leaves the ones before it.
int migrate(connection& c);

// The newest migration the database has (0: none).
int schema_version(connection& c);

}  // namespace memoryd::pg
