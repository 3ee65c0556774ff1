// persistence: the only writer of conversation.db.
//
// Group commit: an ingest request is queued and, if it is the first of a group, a commit
// message is sent to ourselves. That message lands behind every ingest already in the
// mailbox, so one transaction (one fsync) covers all of them; each requester is answered
// only after COMMIT returned. Requests from the HTTP io threads come through the ingest
// handoff instead of the mailbox (see ingest_handoff.hpp) and join the same transaction.
#include "actors/persistence.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

#include "actors/ingest_handoff.hpp"
#include "actors/protocol.hpp"
#include "core/log.hpp"
#include "store/conversation_store.hpp"

namespace memoryd {
namespace {

struct queued_ingest {
  std::vector<new_message> messages;
  caf::response_promise promise;
};

struct persistence_state {
  std::shared_ptr<conversation_store> store;
  std::shared_ptr<ingest_handoff> handoff;  // may be null (actor-level tests)
  persistence_options opts;
  std::vector<queued_ingest> queue;
  std::size_t queued_messages = 0;
  bool commit_scheduled = false;
};

using persistence_actor = caf::stateful_actor<persistence_state>;

millis wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error storage_error(const std::exception& e) {
  return caf::make_error(caf::sec::runtime_error, std::string("storage: ") + e.what());
}

api_failure storage_failure(const std::string& what) {
  return {503, "unavailable", "the service could not store the message: storage: " + what};
}

// One transaction for every queued ingest: requests from the mailbox and, when
// `from_handoff`, requests from the handoff (up to group_commit_max messages in all).
void commit_queue(persistence_actor* self, bool from_handoff) {
  auto& st = self->state;
  st.commit_scheduled = false;
  auto batch = std::move(st.queue);
  st.queue.clear();
  st.queued_messages = 0;
  std::vector<ingest_handoff::request> handed;
  if (from_handoff && st.handoff) {
    bool more = false;
    handed = st.handoff->take(st.opts.group_commit_max, more);
    if (more) self->send(self, handoff_atom_v);  // the rest goes into the next transaction
    // A request that waited past its deadline is refused, not stored: its client has been
    // told nothing yet and may retry elsewhere; storing it now could only duplicate it.
    const auto now = ingest_handoff::clock::now();
    auto late = std::stable_partition(handed.begin(), handed.end(),
                                      [&](const auto& r) { return r.deadline >= now; });
    for (auto it = late; it != handed.end(); ++it)
      it->done(outcome<std::vector<ingest_outcome>>::fail(
          {503, "unavailable", "storage did not answer in time: the message was not stored"}));
    handed.erase(late, handed.end());
  }
  if (batch.empty() && handed.empty()) return;
  std::vector<std::vector<ingest_outcome>> results;
  results.reserve(batch.size() + handed.size());
  try {
    auto now = wall_ms();
    std::vector<std::vector<new_message>> requests;
    requests.reserve(batch.size() + handed.size());
    for (auto& q : batch) requests.push_back(std::move(q.messages));
    for (auto& r : handed) requests.push_back(std::move(r.messages));
    results = st.store->ingest_group(requests, now);
  } catch (const std::exception& e) {
    log::error("ingest_commit_failed",
               {{"requests", batch.size() + handed.size()}, {"error", e.what()}});
    for (auto& q : batch) q.promise.deliver(storage_error(e));
    for (auto& r : handed)
      r.done(outcome<std::vector<ingest_outcome>>::fail(storage_failure(e.what())));
    return;
  }
  std::size_t i = 0;
  for (auto& q : batch) q.promise.deliver(std::move(results[i++]));
  for (auto& r : handed)
    r.done(outcome<std::vector<ingest_outcome>>::success(std::move(results[i++])));
}

caf::result<std::vector<ingest_outcome>> enqueue_ingest(persistence_actor* self,
                                                        std::vector<new_message>& msgs) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  st.queued_messages += msgs.size();
  st.queue.push_back({std::move(msgs), rp});
  if (st.queued_messages >= st.opts.group_commit_max) {
    commit_queue(self, false);
  } else if (!st.commit_scheduled) {
    st.commit_scheduled = true;
    self->send(self, commit_atom_v);
  }
  return rp;
}

// Runs a store call, turning exceptions into an error reply.
template <class F>
auto guarded(F&& f) -> caf::result<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    log::error("storage_error", {{"error", e.what()}});
    return storage_error(e);
  }
}

caf::behavior persistence(persistence_actor* self, std::shared_ptr<conversation_store> store,
                          persistence_options opts, std::shared_ptr<ingest_handoff> handoff) {
  self->state.store = std::move(store);
  self->state.handoff = handoff;
  self->state.opts = opts;
  // On shutdown, commit what is queued (and answer it) before the database closes. The
  // store itself closes when the state goes away.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    commit_queue(self, true);
    self->quit(msg.reason);
  });
  // However the actor ends, later handoff requests are refused at once instead of waiting
  // for a consumer that is gone (the functor runs after the state is destroyed).
  if (handoff) self->attach_functor([handoff] { handoff->close(); });
  using ids = std::vector<std::string>;
  auto& st = self->state;
  return {
      [=](ingest_atom, std::vector<new_message>& m) { return enqueue_ingest(self, m); },
      [=](commit_atom) { commit_queue(self, false); },
      [=](handoff_atom) { commit_queue(self, true); },
      [=, &st](history_atom, const history_query& q) {
        return guarded([&] { return st.store->history(q); });
      },
      [=, &st](claim_atom, const claim_request& r) {
        return guarded([&] { return st.store->claim(r); });
      },
      [=, &st](done_atom, const std::string& user, const ids& m, millis now,
               const std::string& note) {
        return guarded([&] {
          st.store->mark_done(user, m, now, note);
          return true;
        });
      },
      [=, &st](retry_atom, const std::string& user, const ids& m, const std::string& err,
               millis at) {
        return guarded([&] {
          st.store->schedule_retry(user, m, err, at);
          return true;
        });
      },
      [=, &st](dead_atom, const std::string& user, const ids& m, const std::string& err,
               millis now) {
        return guarded([&] {
          st.store->dead_letter(user, m, err, now);
          return true;
        });
      },
      [=, &st](release_atom, const std::string& user, const ids& m) {
        return guarded([&] {
          st.store->release(user, m);
          return true;
        });
      },
      [=, &st](dead_atom, retry_atom, const ids& m) {
        return guarded([&] { return st.store->retry_dead(m, wall_ms()); });
      },
      [=, &st](erase_atom, const std::string& user) {
        return guarded([&] { return st.store->erase_user(user); });
      },
      [=, &st](stats_atom, millis now) { return guarded([&] { return st.store->stats(now); }); },
      [=, &st](health_atom) {
        return guarded([&] {
          st.store->ping();
          return true;
        });
      },
  };
}

}  // namespace

caf::actor spawn_persistence(caf::actor_system& sys, std::shared_ptr<conversation_store> store,
                             persistence_options opts, bool detach,
                             std::shared_ptr<ingest_handoff> handoff) {
  return detach ? sys.spawn<caf::detached>(persistence, std::move(store), opts, std::move(handoff))
                : sys.spawn(persistence, std::move(store), opts, std::move(handoff));
}

}  // namespace memoryd
