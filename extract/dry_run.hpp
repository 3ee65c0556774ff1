// `memoryd extract`: runs an extractor over JSONL records offline and prints the facts.
#pragma once

#include <iosfwd>

#include "extract/extractor.hpp"

namespace memoryd {

// Reads records {"id", "user_id", "messages": [string | {"content", "created_at"?, "id"?,
// "role"?}]} (other fields ignored), one a line. A message whose "role" is not "user" (the
// assistant's turn) is never mined: it becomes the context of the user message after it
// (extraction_input::context_before). Writes one line per record, in input order:
// {"id": ..., "facts": [{"text": ..., "category": ...}]} -- the facts the record's messages
// give when the user has no facts yet. When the extraction fails (any failure_kind, an
// unparseable answer included), the line is {"id", "facts": [], "error": "<kind>: <why>"}
// and the error is also written to `err` with the line number. A line that cannot be read is
// reported on `err` with its line number and skipped. Blank lines are ignored. Returns 1 if
// any line was bad or any extraction failed, else 0.
int run_dry_run(std::istream& in, std::ostream& out, std::ostream& err, extractor_backend& backend);

}  // namespace memoryd
