// A deterministic CAF actor system for Catch2: CAF's test coordinator drives every actor
// on this thread, and time moves only when the test says so (advance_time).
#pragma once

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "actors/protocol.hpp"

namespace memoryd::testing {

struct sim_config : caf::actor_system_config {
  sim_config() {
    add_message_types<caf::id_block::memoryd>();
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-name", "");
  }
};

struct sim_fixture {
  sim_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  std::vector<caf::actor> spawned;

  sim_fixture()
      : sys(cfg),
        self(sys, true),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  // Every actor must be gone before ~actor_system, or it waits forever.
  ~sim_fixture() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Any actor handle, typed or not: sent an exit at teardown.
  template <class Handle>
  Handle keep(Handle a) {
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  // Moves simulated time forward in steps, running everything that becomes due.
  void advance(std::chrono::milliseconds d,
               std::chrono::milliseconds step = std::chrono::milliseconds(100)) {
    sched.run();
    while (d.count() > 0) {
      auto s = std::min(d, step);
      sched.advance_time(s);
      sched.run();
      d -= s;
    }
  }

  // Sends a request-like message, runs the scheduler, returns the reply or FAILs.
  template <class T, class Handle, class... Ts>
  T ask(const Handle& dst, Ts&&... xs) {
    self->send(dst, std::forward<Ts>(xs)...);
    sched.run();
    T res{};
    self->receive([&](T& x) { res = std::move(x); }, [&](caf::error& e) { FAIL(sys.render(e)); },
                  caf::after(std::chrono::seconds(0)) >> [] { FAIL("no reply"); });
    return res;
  }

  // Like ask, for a request that must fail: the error it answered, or FAIL (a value reply
  // does not match and counts as no error reply).
  template <class Handle, class... Ts>
  caf::error ask_error(const Handle& dst, Ts&&... xs) {
    self->send(dst, std::forward<Ts>(xs)...);
    sched.run();
    caf::error res;
    self->receive([&](caf::error& e) { res = std::move(e); },
                  caf::after(std::chrono::seconds(0)) >> [] { FAIL("no error reply"); });
    return res;
  }
};

}  // namespace memoryd::testing
