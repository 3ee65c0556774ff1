// Opaque page cursors for keyset pagination (DESIGN §5: history and dead-letter lists page
// with `cursor`, `next_cursor` null on the last page; so do a user's facts and fact events).
//
// A list is read in a fixed order of a unique, immutable key (a message's seq); a page is "the
// next `limit` rows after the key the previous page ended on", never an offset. So a row that
// is in the list for the whole time a client pages is returned exactly once, whatever is
// inserted or removed meanwhile (rows added behind the cursor are simply not part of this
// pass), and no timestamp is involved. The handler asks the store for limit + 1 rows: the extra
// one only says whether another page follows, so next_cursor is null exactly on the last page.
//
// The cursor carries the key, the list it belongs to (`kind`) and a digest of the query's
// filters (`scope`), base64url-encoded: clients must treat it as opaque, and a cursor used
// with another list or other filters is refused (400) instead of silently skipping rows.
// GET /v1/processor/dead uses kind "dead"; GET /v1/users/{id}/messages kind "messages" with
// the user id and filters as scope. Both read from the newest row toward older ones (the key
// is the last, i.e. oldest, row a page showed), so rows that arrive while a client pages are
// newer than the pass and never shift it. GET /v1/users/{id}/facts (kind "facts") reads in
// the facts' written order, oldest first, and its key is a pair: (created_at, seq), the order
// the stores keep an index for; facts written behind the pass come after it, in a later page.
// GET /v1/users/{id}/facts/events (kind "events") reads newest first by seq, like history.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace memoryd::page_cursor {

std::string encode(std::string_view kind, std::string_view scope, std::int64_t key);

// The key, or nullopt when `cursor` is malformed or was made for another kind or scope.
std::optional<std::int64_t> decode(std::string_view cursor, std::string_view kind,
                                   std::string_view scope);

// The same with a key of two parts (a fact's created_at and seq).
using key_pair = std::pair<std::int64_t, std::int64_t>;
std::string encode(std::string_view kind, std::string_view scope, key_pair key);
std::optional<key_pair> decode_pair(std::string_view cursor, std::string_view kind,
                                    std::string_view scope);

}  // namespace memoryd::page_cursor
