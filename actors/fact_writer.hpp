// fact_writer: the only writer of memory.db (interface in actors/protocol.hpp).
#pragma once

#include <caf/fwd.hpp>

#include <memory>

#include "actors/protocol.hpp"
#include "core/clock.hpp"

namespace memoryd {

class memory_store;

struct fact_writer_options {
  // How long an erasure is remembered: extraction work for the user that was in flight
  // when they were erased is rejected during this time. Nothing of the user is written to
  // disk for it; work in flight cannot outlive its lease, so twice the lease is enough.
  millis remember_erasures_ms = 2 * 600000;
};

fact_writer_actor spawn_fact_writer(caf::actor_system& sys, std::shared_ptr<memory_store> store,
                                    fact_writer_options opts, spawn_mode mode);

}  // namespace memoryd
