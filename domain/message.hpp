// Messages: what arrives (webhook, JSON API, import), what is stored, how history is read.
// Plain data: no CAF, SQLite or Boost; every layer may include it.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace memoryd {

// Memory status of a stored message.
namespace message_status {
inline constexpr const char* pending = "pending";  // waiting to be claimed
inline constexpr const char* leased = "leased";    // claimed, lease_until says until when
inline constexpr const char* done = "done";        // processed (maybe with a note in last_error)
inline constexpr const char* dead = "dead";        // dead-lettered after max attempts
inline constexpr const char* skipped = "skipped";  // not applicable: assistant messages
}  // namespace message_status

// Scheduling class of a message (DESIGN §5): live work (webhook, API default) is claimed
// before backfill (memoryd import's default), which still gets processor.backfill_share of
// every cycle while it waits. Stored as the number: 0 live, 1 backfill.
enum class message_priority : std::uint8_t { live = 0, backfill = 1 };

inline const char* to_string(message_priority p) {
  return p == message_priority::backfill ? "backfill" : "live";
}
// "live" or "backfill"; false for anything else.
inline bool parse_priority(const std::string& s, message_priority& out) {
  if (s == "live")
    out = message_priority::live;
  else if (s == "backfill")
    out = message_priority::backfill;
  else
    return false;
  return true;
}

// A message as it arrives (webhook, JSON API, import). Validated before it gets here.
struct new_message {
  std::string user_id;
  std::string role;  // "user" | "assistant"
  std::string content;
  std::string channel;      // "sms" | "whatsapp" | "api" | ...
  std::string external_id;  // e.g. Twilio MessageSid; empty when absent
  millis created_at = 0;    // 0: the store uses the commit time
  message_priority priority = message_priority::live;
};

// What the store did with one new_message.
struct ingest_outcome {
  std::string id;  // UUID of the stored row (the existing one for a duplicate)
  std::int64_t seq = 0;
  bool duplicate = false;  // external_id was already stored: nothing written
};

struct stored_message {
  std::int64_t seq = 0;
  std::string id;
  std::string user_id;
  std::string role;
  std::string content;
  std::string channel;
  std::string external_id;
  millis created_at = 0;
  std::string status;  // see message_status
  std::int32_t attempts = 0;
  millis next_attempt_at = 0;
  millis lease_until = 0;
  std::string last_error;
  millis processed_at = 0;  // memory_processed_at; 0 while unprocessed
  message_priority priority = message_priority::live;
};

// History read. Returns the latest `limit` matching messages, oldest first; with before_seq,
// the latest `limit` of those with seq < before_seq (a keyset page toward older messages:
// seq is unique and never changes, so pages neither skip nor repeat, whatever created_at).
struct history_query {
  std::string user_id;          // empty: all users
  std::int32_t limit = 50;      // 1..1001 (a page and one more, to know whether one follows)
  std::int64_t before_seq = 0;  // only seq < before_seq; 0: from the newest
  millis since = 0;             // created_at >= since (0: no bound)
  millis until = 0;             // created_at < until (0: no bound)
  std::string role;             // empty: any
  std::int32_t processed = -1;  // -1 any, 0 not yet processed, 1 processed (done/dead/skipped)
};

}  // namespace memoryd
