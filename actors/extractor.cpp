// extractor: facts from the fact writer -> backend -> fact batch -> fact writer.
// Every way this can fail ends in an extract_outcome the batcher can act on; a CAF error
// only reaches the batcher if this actor itself is gone.
#include "actors/extractor.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <optional>

#include "extract/extractor.hpp"

namespace memoryd {
namespace {

struct extractor_state {
  fact_writer_actor fact_writer;
  std::shared_ptr<extractor_backend> backend;
  extractor_options opts;
};

using self_pointer = extractor_actor::stateful_pointer<extractor_state>;

std::int64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Stable key for "these messages of this user": a replay of the same claim is a no-op.
std::string batch_key(const user_batch& b) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  mix(b.user_id);
  for (auto& m : b.messages) mix(m.id);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf) + "-" + std::to_string(b.messages.size());
}

extract_outcome failed(failure_kind kind, std::string error, millis retry_after_ms = 0) {
  extract_outcome out;
  out.failure = kind;
  out.error = std::move(error);
  out.retry_after_ms = retry_after_ms;
  return out;
}

// Runs the backend; fills `out` and returns the batch to apply, or nothing on failure.
std::optional<fact_batch> run_backend(extractor_state& st, const user_batch& b,
                                      std::vector<fact> facts, extract_outcome& out) {
  extraction_input in{b.user_id, std::move(facts), {}, {}};
  for (auto& m : b.messages) {
    in.messages.push_back({m.id, m.content, m.created_at});
    if (!m.context_before.empty()) in.context_before[m.id] = m.context_before;
  }
  auto t0 = std::chrono::steady_clock::now();
  extraction_output res;
  try {
    res = st.backend->extract(in);
  } catch (const extraction_failure& e) {
    const bool unparseable = e.kind() == failure_kind::unparseable;
    out = failed(e.kind(), (unparseable ? "parse: " : "") + std::string(e.what()),
                 e.retry_after_ms());
    out.extract_us = micros_since(t0);
    out.input_tokens = e.input_tokens;
    out.output_tokens = e.output_tokens;
    return std::nullopt;
  } catch (const std::exception& e) {
    out = failed(failure_kind::transient, std::string("extractor: ") + e.what());
    out.extract_us = micros_since(t0);
    return std::nullopt;
  }
  out.extract_us = micros_since(t0);
  out.input_tokens = res.input_tokens;
  out.output_tokens = res.output_tokens;
  fact_batch batch;
  batch.user_id = b.user_id;
  batch.batch_key = batch_key(b);
  batch.cause = "extractor";
  batch.extractor = st.backend->version();
  batch.ops = std::move(res.ops);
  batch.now = wall_clock_ms();
  batch.sources_must_exist = true;
  // Backends that do not attribute ops to messages get the whole batch as the source.
  for (auto& op : batch.ops) {
    if (op.observed_at == 0 && !b.messages.empty()) op.observed_at = b.messages.back().created_at;
    if (op.source_ids.empty())
      for (auto& m : b.messages) op.source_ids.push_back(m.id);
  }
  return batch;
}

caf::result<extract_outcome> on_extract(self_pointer self, extract_job& job) {
  auto rp = self->make_response_promise<extract_outcome>();
  auto timeout = self->state.opts.writer_timeout;
  auto fw = self->state.fact_writer;
  auto batch = std::make_shared<user_batch>(std::move(job.batch));
  self->request(fw, timeout, facts_atom_v, batch->user_id)
      .then(
          [=](std::vector<fact>& facts) mutable {
            extract_outcome out;
            auto to_apply = run_backend(self->state, *batch, std::move(facts), out);
            if (!to_apply) {
              rp.deliver(std::move(out));
              return;
            }
            auto t1 = std::chrono::steady_clock::now();
            self->request(fw, timeout, apply_atom_v, std::move(*to_apply))
                .then(
                    [=](apply_result& applied) mutable {
                      auto done = out;
                      done.applied = std::move(applied);
                      done.write_us = micros_since(t1);
                      rp.deliver(std::move(done));
                    },
                    [=](caf::error& e) mutable {
                      rp.deliver(failed(failure_kind::transient,
                                        "fact writer: " + self->system().render(e)));
                    });
          },
          [=](caf::error& e) mutable {
            rp.deliver(failed(failure_kind::transient, "fact writer: " + self->system().render(e)));
          });
  return rp;
}

extractor_actor::behavior_type extractor(self_pointer self, fact_writer_actor fact_writer,
                                         std::shared_ptr<extractor_backend> backend,
                                         extractor_options opts) {
  self->state.fact_writer = std::move(fact_writer);
  self->state.backend = std::move(backend);
  self->state.opts = opts;
  return {
      [=](extract_atom, extract_job& job) { return on_extract(self, job); },
  };
}

}  // namespace

extractor_actor spawn_extractor(caf::actor_system& sys, fact_writer_actor fact_writer,
                                std::shared_ptr<extractor_backend> backend, extractor_options opts,
                                spawn_mode mode) {
  if (mode == spawn_mode::detached)
    return sys.spawn<caf::detached>(extractor, std::move(fact_writer), std::move(backend), opts);
  return sys.spawn(extractor, std::move(fact_writer), std::move(backend), opts);
}

}  // namespace memoryd
