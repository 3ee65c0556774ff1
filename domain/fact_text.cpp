#include "domain/fact_text.hpp"

#include "domain/fact.hpp"

namespace memoryd {

std::string normalize_fact_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (unsigned char c : text) {
    const bool keep =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
    if (!keep) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
  }
  return out;
}

bool is_valid_category(const std::string& category) {
  for (const char* c : fact_category::all)
    if (category == c) return true;
  return false;
}

}  // namespace memoryd
