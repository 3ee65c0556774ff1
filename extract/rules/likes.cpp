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

// "i like/love/enjoy/prefer/hate ..." (neg: "i don't like").
rule_result pref_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                      const std::string& adv, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  // "love and acceptance should be ...": the noun "love", not the verb
  if (w0 == "and" || w0 == "or" || w0 == "but" || w0 == "than") return {};
  if (has(object_pronouns(), w0) || w0 == "ur" || w0 == "hearing" || w0 == "talking" ||
      w0 == "chatting" || w0 == "meeting" || (w0 == "reading" && w1 == "about") || w0 == "when" ||
      w0 == "how" ||
      (w0 == "the" &&
       (w1 == "idea" || w1 == "sound" || w1 == "name" || w1 == "way" || w1 == "fact")))
    return {};
  if (w0 == "to") {
    static const word_set& bad = lexicon::words("pref_rule.bad");
    if (bad.count(w1) && (p + 2 >= t.size() || !is_word(t[p + 2]) ||
                          has(object_pronouns(), t[p + 2].low) || t[p + 2].low == "about"))
      return {};
  }
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (word_count(o) == 1 && (o[0]->low == "to" || o[0]->low == "a" || o[0]->low == "the"))
    return {};
  std::string head;
  if (neg) {
    head = "does not " + std::string(verb) + " ";
  } else {
    std::string v = conjugate(verb);
    head = adv.empty() ? v + " " : adv + " " + v + " ";
  }
  std::string dflt = "preferences";
  const bool positive = !neg && verb != "hate" && verb != "dislike" && verb != "detest";
  if (positive && (w0 == "to" || (w0.size() > 4 && w0.substr(w0.size() - 3) == "ing")))
    dflt = "interests";
  std::string cat = classify(o, dflt);
  if (!positive && cat == "interests") cat = "preferences";
  return make(head + render(o, c), cat);
}

}  // namespace memoryd::rules
