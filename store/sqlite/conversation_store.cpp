#include "store/sqlite/conversation_store_impl.hpp"

namespace memoryd::sqlite {

conversation_store::conversation_store(const store_options& opts)
    : impl_(std::make_unique<impl>(opts)) {}

conversation_store::~conversation_store() = default;

database& conversation_store::db() { return impl_->db; }

std::int64_t conversation_store::background_checkpoints() const {
  return impl_->checkpointer ? impl_->checkpointer->checkpoints() : 0;
}

std::vector<std::vector<ingest_outcome>> conversation_store::ingest_group(
    const std::vector<std::vector<new_message>>& requests, millis now) {
  transaction tx(impl_->db);
  std::vector<std::vector<ingest_outcome>> out;
  out.reserve(requests.size());
  for (const auto& msgs : requests) out.push_back(impl_->ingest(msgs, now));
  tx.commit();
  return out;
}

std::vector<ingest_outcome> conversation_store::ingest(const std::vector<new_message>& msgs,
                                                       millis now) {
  transaction tx(impl_->db);
  auto out = impl_->ingest(msgs, now);
  tx.commit();
  return out;
}

std::vector<stored_message> conversation_store::history(const history_query& q) {
  std::string sql = std::string("SELECT ") + k_msg_columns + " FROM messages";
  std::vector<std::string> where;
  int n = 0;
  if (!q.user_id.empty()) where.push_back("user_id = ?" + std::to_string(++n));
  if (q.before_seq > 0) where.push_back("seq < ?" + std::to_string(++n));
  if (q.since != 0) where.push_back("created_at >= ?" + std::to_string(++n));
  if (q.until != 0) where.push_back("created_at < ?" + std::to_string(++n));
  if (!q.role.empty()) where.push_back("role = ?" + std::to_string(++n));
  if (q.processed == 1) where.push_back("status IN ('done','dead','skipped')");
  if (q.processed == 0) where.push_back("status IN ('pending','leased')");
  for (std::size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
  sql += " ORDER BY seq DESC LIMIT ?" + std::to_string(++n);

  const std::int32_t limit = std::clamp<std::int32_t>(q.limit, 1, 1001);
  use s(impl_->stmt(sql));
  int i = 0;
  if (!q.user_id.empty()) s->bind(++i, q.user_id);
  if (q.before_seq > 0) s->bind(++i, q.before_seq);
  if (q.since != 0) s->bind(++i, static_cast<std::int64_t>(q.since));
  if (q.until != 0) s->bind(++i, static_cast<std::int64_t>(q.until));
  if (!q.role.empty()) s->bind(++i, q.role);
  s->bind(++i, limit);
  std::vector<stored_message> out;
  while (s->step()) out.push_back(impl::read_message(*s));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> conversation_store::users() {
  use s(impl_->stmt("SELECT DISTINCT user_id FROM messages ORDER BY user_id"));
  std::vector<std::string> out;
  while (s->step()) out.push_back(s->col_text(0));
  return out;
}

std::int64_t conversation_store::count_messages() {
  use s(impl_->stmt("SELECT count(*) FROM messages"));
  return s->step() ? s->col_int(0) : 0;
}

std::int64_t conversation_store::erase_user(const std::string& user_id) {
  auto& d = *impl_;
  transaction tx(d.db);
  std::int64_t n = 0;
  {
    use q(d.stmt("DELETE FROM messages WHERE user_id = ?1"));
    q->bind(1, user_id);
    q->exec();
    n = d.db.changes();
  }
  {
    use q(d.stmt("DELETE FROM user_queue WHERE user_id = ?1"));
    q->bind(1, user_id);
    q->exec();
  }
  tx.commit();
  // secure_delete zeroed the rows in the pages just written; the older page versions, with
  // the text, are still WAL frames until the WAL is copied back and truncated.
  d.db.truncate_wal(d.busy_budget);
  return n;
}

void conversation_store::ping() {
  use q(impl_->stmt("SELECT 1"));
  q->step();
}

}  // namespace memoryd::sqlite
