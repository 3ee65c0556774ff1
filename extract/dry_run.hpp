// `memoryd extract`: runs an extractor over JSONL records offline and prints the facts.
#pragma once

#include <iosfwd>

#include "extract/extractor.hpp"

namespace memoryd {

// Reads records {"id", "user_id", "messages": [string | {"content", "created_at"?, "id"?}]}
// (other fields ignored), one a line, and writes one line per record in input order:
// {"id": ..., "facts": [{"text": ..., "category": ...}]} -- the facts the record's messages
// give when the user has no facts yet. A line that cannot be read is reported on `err` with
// its line number and skipped. Blank lines are ignored. Returns 1 if any line was bad, else 0.
int run_dry_run(std::istream& in, std::ostream& out, std::ostream& err, extractor_backend& backend);

}  // namespace memoryd
