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

rule_result habit_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                       const std::string& adv, const ctx& c) {
  auto it = habit_verbs().find(verb);
  if (it == habit_verbs().end()) return {};
  const std::string w0 = p < t.size() && is_word(t[p]) ? t[p].low : std::string();
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  std::string v = neg ? "does not " + std::string(verb) : conjugate(verb);
  if (!adv.empty() && !neg) v = adv + " " + v;
  if (w0.empty()) {
    if (!has(intransitive_habits(), verb)) return {};
    return make(v, it->second == "preferences" ? std::string("other") : std::string(it->second));
  }
  if (has(object_pronouns(), w0) && !(w0 == "a" || w0 == "one")) return {};
  if (verb == "go" && (w0 == "home" || w0 == "back" || w0 == "out" || w0 == "there" ||
                       w0 == "with" || w0 == "now" || w0 == "for" ||
                       (w0 == "to" && (w1 == "bed" || w1 == "sleep" ||
                                       (w1 == "the" && p + 2 < t.size() &&
                                        (t[p + 2].low == "store" || t[p + 2].low == "bathroom" ||
                                         t[p + 2].low == "mall")) ||
                                       has(object_pronouns(), w1) || w1 == "see"))))
    return {};
  if (verb == "do" &&
      (w0 == "not" || w0 == "too" || w0 == "like" || w0 == "love" || w0 == "have" ||
       w0 == "enjoy" || w0 == "know" || w0 == "think" || w0 == "agree" || w0 == "the" ||
       w0 == "my" || w0 == "a" || w0 == "so" || w0 == "well" || w0 == "okay" || w0 == "ok" ||
       w0 == "alright" || w0 == "good" || w0 == "fine" || w0 == "great" || w0 == "nothing" ||
       w0 == "for" || w0 == "to" || w0 == "as" || has(mental_verbs(), w0) || w0 == "it" ||
       w0 == "that" || w0 == "this" || w0 == "that" || w0 == "what"))
    return {};
  // "i go to church", "i go hiking"; not "i go wild", "i go twice a day"
  if (verb == "go" && w0 != "to" && !is_gerund(w0)) return {};
  if (verb == "make" && (w0 == "sure" || w0 == "a" || w0 == "the" || w0 == "time")) return {};
  if (verb == "take" && !(w0 == "care" || w0 == "classes" || w0 == "lessons")) return {};
  if (verb == "care" && !(w0 == "for")) return {};
  if (verb == "help" && w0 != "out" && w0 != "my" && w0 != "people" && w0 != "kids" && w0 != "at" &&
      w0 != "with")
    return {};
  if (verb == "believe" && w0 != "in") return {};
  if (verb == "keep" && w0 != "bees" && w0 != "chickens" && w0 != "a" && w0 != "fish") return {};
  if (verb == "use" && w0 != "a") return {};
  if (verb == "miss" || verb == "wake" || verb == "sleep" || verb == "love" || verb == "hate")
    return {};
  if (verb == "listen" && w0 != "to") return {};
  if (verb == "spend" && !(w0 == "a" || w0 == "my" || w0 == "most" || w0 == "lots" || w0 == "all" ||
                           w0 == "time" || w0 == "weekends"))
    return {};
  if (verb == "read" &&
      (w0 == "about" || w0 == "that" || w0 == "somewhere" || w0 == "an" || w0 == "the"))
    return {};
  if (verb == "play" && (w0 == "with" && has(object_pronouns(), w1))) return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  std::string dflt(it->second);
  if (verb == "eat" || verb == "drink") {
    bool health = neg;
    for (auto* x : o)
      health |= x->low == "meat" || x->low == "gluten" || x->low == "dairy" || x->low == "pork" ||
                x->low == "beef" || x->low == "sugar" || x->low == "alcohol" ||
                x->low == "kosher" || x->low == "halal" || x->low == "healthy" ||
                x->low == "organic";
    dflt = health ? "health" : "preferences";
  }
  std::string cat = classify(o, dflt);
  if (verb == "go" && cat == "other") cat = classify(o, "interests");
  if (dflt == "health") cat = "health";
  return make(v + " " + render(o, c), cat);
}

const word_set& verb_fillers() {
  static const word_set& s = lexicon::words("verb_fillers");
  return s;
}

const word_set& freq_adverbs() {
  static const word_set& s = lexicon::words("freq_adverbs");
  return s;
}

}  // namespace memoryd::rules
