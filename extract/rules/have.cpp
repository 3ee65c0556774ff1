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

// After "i have": "Has two dogs", "Does not have kids".
rule_result have_rule(const tokens& t, std::size_t p, bool neg, const ctx& c) {
  if (p < t.size() && t[p].low == "got") ++p;
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w2 = p + 2 < t.size() ? t[p + 2].low : std::string();
  if (w0 == "to" || w0 == "not") return {};
  // "the support i've got from friends", "the connection i have with my siblings": a
  // relative clause whose object came before "i"
  static const word_set& preps = lexicon::words("have_rule.preps");
  if (has(preps, w0)) return {};
  if (w0 == "been" && !neg) {
    if (w1 == "a" || w1 == "an" || w1 == "to" || has(relationship_status_words(), w1) ||
        has(diet_words(), w1)) {
      span o = object_span(t, p);
      if (!object_ok(o, max_object_words + 1)) return {};
      std::string cat = classify(o, w1 == "to" ? "interests" : "other");
      if (has(relationship_status_words(), w1)) cat = "relationships";
      if (has(diet_words(), w1)) cat = "health";
      return make("has " + render(o, c), cat);
    }
    return {};
  }
  if (w0 == "never") return {};  // "has never been to X": rarely worth remembering
  if (w0 == "never" && !neg) {
    if (!is_participle(w1) || w1 == "never" || w1 == "ever") return {};
    span o = object_span(t, p);
    if (!object_ok(o, max_object_words + 1) || word_count(o) < 3) return {};
    return make("has " + render(o, c), classify(o, "other"));
  }
  // "i have actually met taylor swift", "i've won two medals": experiences worth keeping
  static const word_set& experienced = lexicon::words("have_rule.experienced");
  {
    std::size_t q = p;
    while (q < t.size() && (t[q].low == "actually" || t[q].low == "already" || t[q].low == "also" ||
                            t[q].low == "even" || t[q].low == "once"))
      ++q;
    if (q < t.size() && has(experienced, t[q].low) && !neg) {
      if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return {};
      span o = object_span(t, q);
      if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
      return make("has " + render(o, c), classify(o, "other"));
    }
  }
  if (is_participle(w0)) return {};
  // "one dog" is a count; "one" alone refers back ("i have one")
  const bool one_of = w0 == "one" && p + 1 < t.size() && is_word(t[p + 1]) &&
                      !has(object_pronouns(), w1) && w1 != "of";
  if (has(object_pronouns(), w0) && !one_of) return {};
  static const word_set& bad_first = lexicon::words("have_rule.bad_first");
  if (bad_first.count(w0) && !neg) return {};
  static const word_set& bad_second = lexicon::words("have_rule.bad_second");
  if ((w0 == "a" || w0 == "an" || w0 == "no" || w0 == "the") && bad_second.count(w1)) {
    // "a lot of friends" is fine, "a lot of fun" / "a lot of work" is not
    if (!((w1 == "lot" || w1 == "bunch" || w1 == "couple" || w1 == "ton") && w2 == "of" &&
          p + 3 < t.size() &&
          (has(family_words(), t[p + 3].low) || has(pet_words(), t[p + 3].low))))
      return {};
  }
  // "great news", "a funny story", "some exciting news": something to tell, not to keep
  static const word_set& told = lexicon::words("have_rule.told");
  if (has(told, w0) || has(told, w1) ||
      (has(told, w2) && (w0 == "a" || w0 == "an" || w0 == "some")))
    return {};
  if ((w0 == "a" || w0 == "an") &&
      (w1 == "good" || w1 == "great" || w1 == "nice" || w1 == "wonderful" || w1 == "lovely" ||
       w1 == "fun" || w1 == "bad") &&
      (w2 == "day" || w2 == "time" || w2 == "night" || w2 == "weekend" || w2 == "week" ||
       w2 == "one" || w2 == "point" || w2 == "idea" || w2 == "question" || w2 == "feeling"))
    return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (word_count(o) == 1 && (o[0]->low == "one" || o[0]->low == "some" || o[0]->low == "any" ||
                             o[0]->low == "no" || o[0]->low == "a" || o[0]->low == "two" ||
                             o[0]->low == "three" || o[0]->low == "many" || all_digits(o[0]->low)))
    return {};
  bool pet = false;
  for (auto* x : o) pet |= has(pet_words(), x->low);
  std::string cat = classify(o, "other");
  if (pet && cat != "health") cat = "relationships";  // "a dog named X" is family
  return make(std::string(neg ? "does not have " : "has ") + render(o, c), cat);
}

}  // namespace memoryd::rules
