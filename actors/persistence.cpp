// persistence: the only writer of conversation.db.
//
// Group commit: an ingest that arrives as a message is queued and, if it is the first of a
// group, a commit message is sent to ourselves. That message lands behind every ingest already
// in the mailbox, so one transaction (one fsync) covers all of them; each requester is
// answered only after COMMIT returned. Ingests from the HTTP io threads come through the
// ingress queue and join the same transaction (docs/ARCHITECTURE.md, "Ingest path").
#include "actors/persistence.hpp"

#include <caf/all.hpp>

#include <algorithm>

#include "actors/ingress_queue.hpp"
#include "actors/store_call.hpp"
#include "core/log.hpp"
#include "store/conversation_store.hpp"

namespace memoryd {
namespace {

using ingest_promise = caf::typed_response_promise<std::vector<ingest_outcome>>;

struct queued_ingest {
  std::vector<new_message> messages;
  ingest_promise promise;
};

struct persistence_state {
  std::shared_ptr<conversation_store> store;
  std::shared_ptr<ingress_queue> queue;  // may be null (actor-level tests)
  persistence_options opts;
  std::vector<queued_ingest> mailbox_ingests;  // waiting for the commit message
  std::size_t queued_messages = 0;
  bool commit_scheduled = false;
};

using self_pointer = persistence_actor::stateful_pointer<persistence_state>;

api_failure storage_failure(const std::string& what) {
  return {503, "unavailable", "the service could not store the message: storage: " + what};
}

// Requests from the ingress queue, up to group_commit_max messages; the rest go into the
// next transaction. A request that waited past its deadline is refused, not stored: its
// client has been told nothing yet and may retry elsewhere; storing it now could only
// duplicate it.
std::vector<ingress_queue::request> take_from_queue(self_pointer self) {
  auto& st = self->state;
  if (!st.queue) return {};
  bool more = false;
  auto taken = st.queue->take(st.opts.group_commit_max, more);
  if (more) self->send(self, ingests_queued_atom_v);
  const auto now = ingress_queue::clock::now();
  auto late = std::stable_partition(taken.begin(), taken.end(),
                                    [&](const auto& r) { return r.deadline >= now; });
  for (auto it = late; it != taken.end(); ++it)
    it->done(outcome<std::vector<ingest_outcome>>::fail(
        {503, "unavailable", "storage did not answer in time: the message was not stored"}));
  taken.erase(late, taken.end());
  return taken;
}

// One transaction for every queued ingest: those from the mailbox and, when `with_queue`,
// those from the ingress queue.
void commit_ingests(self_pointer self, bool with_queue) {
  auto& st = self->state;
  st.commit_scheduled = false;
  auto from_mailbox = std::move(st.mailbox_ingests);
  st.mailbox_ingests.clear();
  st.queued_messages = 0;
  auto from_queue = with_queue ? take_from_queue(self) : std::vector<ingress_queue::request>{};
  if (from_mailbox.empty() && from_queue.empty()) return;
  std::vector<std::vector<new_message>> requests;
  requests.reserve(from_mailbox.size() + from_queue.size());
  for (auto& q : from_mailbox) requests.push_back(std::move(q.messages));
  for (auto& r : from_queue) requests.push_back(std::move(r.messages));
  std::vector<std::vector<ingest_outcome>> results;
  try {
    results = st.store->ingest_group(requests, wall_clock_ms());
  } catch (const std::exception& e) {
    log::error("ingest_commit_failed", {{"requests", requests.size()}, {"error", e.what()}});
    for (auto& q : from_mailbox) q.promise.deliver(storage_error(e));
    for (auto& r : from_queue)
      r.done(outcome<std::vector<ingest_outcome>>::fail(storage_failure(e.what())));
    return;
  }
  std::size_t i = 0;
  for (auto& q : from_mailbox) q.promise.deliver(std::move(results[i++]));
  for (auto& r : from_queue)
    r.done(outcome<std::vector<ingest_outcome>>::success(std::move(results[i++])));
}

caf::result<std::vector<ingest_outcome>> enqueue_ingest(self_pointer self,
                                                        std::vector<new_message>& msgs) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::vector<ingest_outcome>>();
  st.queued_messages += msgs.size();
  st.mailbox_ingests.push_back({std::move(msgs), rp});
  if (st.queued_messages >= st.opts.group_commit_max) {
    commit_ingests(self, false);
  } else if (!st.commit_scheduled) {
    st.commit_scheduled = true;
    self->send(self, commit_atom_v);
  }
  return rp;
}

persistence_actor::behavior_type persistence(self_pointer self,
                                             std::shared_ptr<conversation_store> store,
                                             std::shared_ptr<ingress_queue> queue,
                                             persistence_options opts) {
  auto& st = self->state;
  st.store = std::move(store);
  st.queue = queue;
  st.opts = opts;
  // On shutdown, commit what is queued (and answer it) before the database closes. The
  // store itself closes when the state goes away.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    commit_ingests(self, true);
    self->quit(msg.reason);
  });
  // However the actor ends, later queued requests are refused at once instead of waiting
  // for a consumer that is gone (the functor runs after the state is destroyed).
  if (queue) self->attach_functor([queue] { queue->close(); });
  auto db = [](auto f) { return store_call("conversation", f); };
  // clang-format off
  return {
      [=](ingest_atom, std::vector<new_message>& m) { return enqueue_ingest(self, m); },
      [=](ingests_queued_atom) { commit_ingests(self, true); },
      [=](commit_atom) { commit_ingests(self, false); },
      [=, &st](history_atom, const history_query& q) { return db([&] { return st.store->history(q); }); },
      [=, &st](claim_atom, const claim_request& r) { return db([&] { return st.store->claim(r); }); },
      [=, &st](mark_done_atom, const std::string& user, const ids& m, millis now, const std::string& note, millis lease) { return db([&] { st.store->mark_done(user, m, now, note, lease); }); },
      [=, &st](schedule_retry_atom, const std::string& user, const ids& m, const std::string& err, millis at, millis lease) { return db([&] { st.store->schedule_retry(user, m, err, at, lease); }); },
      [=, &st](dead_letter_atom, const std::string& user, const ids& m, const std::string& err, millis now, millis lease) { return db([&] { st.store->dead_letter(user, m, err, now, lease); }); },
      [=, &st](release_atom, const std::string& user, const ids& m, millis lease) { return db([&] { st.store->release(user, m, lease); }); },
      [=, &st](retry_dead_atom, const ids& m) { return db([&] { return st.store->retry_dead(m, wall_clock_ms()); }); },
      [=, &st](erase_atom, const std::string& user) { return db([&] { return st.store->erase_user(user); }); },
      [=, &st](stats_atom, millis now) { return db([&] { return st.store->stats(now); }); },
      [=, &st](health_atom) { return db([&] { st.store->ping(); }); },
      [=, &st](dead_list_atom, const dead_letter_query& q) { return db([&] { return st.store->dead_letters(q); }); },
  };
  // clang-format on
}

}  // namespace

persistence_actor spawn_persistence(caf::actor_system& sys,
                                    std::shared_ptr<conversation_store> store,
                                    std::shared_ptr<ingress_queue> queue, persistence_options opts,
                                    spawn_mode mode) {
  if (mode == spawn_mode::detached)
    return sys.spawn<caf::detached>(persistence, std::move(store), std::move(queue), opts);
  return sys.spawn(persistence, std::move(store), std::move(queue), opts);
}

}  // namespace memoryd
