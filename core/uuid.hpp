// UUID version 7 (RFC 9562): time-ordered ids for messages and facts, made on the client so
// that a group insert knows its ids before the database answers (every storage backend).
#pragma once

#include <string>

namespace memoryd {

// Lower-case with dashes; increasing within a thread.
std::string new_uuid();

}  // namespace memoryd
