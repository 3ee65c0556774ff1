#include "extract/rules/internal.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace memoryd::rules {

rule_result work_rule(const tokens& t, std::size_t p, bool neg, const ctx& c) {
  if (p >= t.size()) {
    if (neg) return make("does not work", "work");
    return {};
  }
  const std::string& w0 = t[p].low;
  if (w0 == "out") {
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    return make(std::string(neg ? "does not work " : "works ") + render(o, c), "interests");
  }
  static const word_set& bad = lexicon::words("work_rule.bad");
  if (has(object_pronouns(), w0) && w0 != "two") return {};
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  if ((w0 == "with" || w0 == "on" || w0 == "for" || w0 == "at" || w0 == "as") &&
      (w1.empty() || has(object_pronouns(), w1)))
    return {};
  if ((w0 == "there" || w0 == "here" || w0 == "too" || w0 == "so" || w0 == "tomorrow")) return {};
  (void)bad;
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  std::vector<bool> cap;
  const std::vector<bool>* capp = nullptr;
  if (w0 == "at" || w0 == "for") {
    cap = guess_place(o, 1);
    capp = &cap;
  }
  return make(std::string(neg ? "does not work " : "works ") + render(o, c, capp), "work");
}

rule_result live_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  static const word_set& where = lexicon::words("live_rule.where");
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (w0 == "with") {
    if (word_count(o) < 2 || has(object_pronouns(), o[1]->low)) return {};
    return make("lives " + render(o, c), "relationships");
  }
  if (w0 == "alone" || (w0 == "by" && p + 1 < t.size() && t[p + 1].low == "myself"))
    return make("lives alone", "other");
  if (!has(where, w0) || word_count(o) < 2) return {};
  if (has(object_pronouns(), o[1]->low)) return {};
  for (std::size_t i = 2; i < o.size(); ++i)
    if (o[i]->low == "with") {  // "in Seattle with my husband": the place is the value
      o.resize(i);
      break;
    }
  std::size_t from = 1;
  while (from < o.size() && (o[from]->low == "in" || o[from]->low == "to" ||
                             o[from]->low == "outside" || o[from]->low == "of"))
    ++from;
  auto cap = guess_place(o, from);
  return make("lives " + render(o, c, &cap), "location");
}

// "moved to X" -> "Lives in X".
rule_result moved_rule(const tokens& t, std::size_t p, const ctx& c) {
  while (p < t.size() &&
         (t[p].low == "here" || t[p].low == "back" || t[p].low == "over" || t[p].low == "out" ||
          t[p].low == "away" || t[p].low == "down" || t[p].low == "up" || t[p].low == "recently"))
    ++p;
  if (p >= t.size() || t[p].low != "to") return {};
  ++p;
  if (p >= t.size() || has(object_pronouns(), t[p].low)) return {};
  span o = object_span(t, p);
  static const word_set& when = lexicon::words("moved_rule.when");
  for (std::size_t i = 1; i < o.size(); ++i)
    if (has(when, o[i]->low) || all_digits(o[i]->low)) {  // "to Denver last year"
      o.resize(i);
      break;
    }
  if (!object_ok(o, 8)) return {};
  auto cap = guess_place(o, 0);
  return make("lives in " + render(o, c, &cap), "location");
}

}  // namespace memoryd::rules
