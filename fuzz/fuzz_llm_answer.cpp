// libFuzzer: an LLM's answer text to validated fact operations.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domain/fact.hpp"
#include "extract/llm_answer.hpp"

namespace {

const memoryd::extraction_input& input() {
  static const memoryd::extraction_input in = [] {
    memoryd::extraction_input i;
    i.user_id = "u1";
    memoryd::fact f;
    f.id = "f1";
    f.user_id = "u1";
    f.text = "Has a dog named Max";
    f.category = "pets";
    f.status = "active";
    i.facts.push_back(f);
    f.id = "f2";
    f.text = "Lives in Boston";
    f.category = "location";
    i.facts.push_back(f);
    i.messages.push_back({"m1", "I have a dog named Max", 1000});
    i.messages.push_back({"m2", "I moved to Denver", 2000});
    return i;
  }();
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto out = memoryd::parse_llm_answer(text, input());  // documented: never throws
  if (!out.parse_error.empty() && !out.ops.empty()) std::abort();
  if (out.ops.size() > memoryd::max_ops_per_answer) std::abort();
  return 0;
}
