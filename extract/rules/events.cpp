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

// "i just got a puppy", "i recently started a new job", "i adopted a cat": lasting changes.
rule_result life_event_rule(const tokens& t, std::size_t p, bool recent, const ctx& c) {
  static const word_set& always = lexicon::words("life_event_rule.always");
  static const word_set& when_recent = lexicon::words("life_event_rule.when_recent");
  const std::string& v = t[p].low;
  // "i started surfing five years ago": a new activity, however long ago
  const std::string g = p + 1 < t.size() ? t[p + 1].low : std::string();
  const bool new_activity = (v == "started" || v == "began") && is_gerund(g) && g != "thinking" &&
                            g != "feeling" && g != "wondering" && g != "getting";
  if (new_activity) {
    if (!activity_with_object(t, p + 1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 2) return {};
    return make(std::string(recent ? "recently " : "") + render(o, c), classify(o, "interests"));
  }
  if (!has(always, v) && !(recent && has(when_recent, v))) return {};
  const std::string w0 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w1 = p + 2 < t.size() ? t[p + 2].low : std::string();
  if (w0.empty()) {
    if (v == "retired" || v == "graduated") return make("recently " + v, "work");
    return {};
  }
  static const word_set& starts = lexicon::words("life_event_rule.starts");
  if (!has(starts, w0) && !all_digits(w0)) return {};
  if (w0 == "from" && v != "graduated") return {};
  if (w0 == "as" && v != "started" && v != "retired") return {};
  if ((w0 == "married" || w0 == "engaged" || w0 == "divorced") && v != "got") return {};
  static const word_set& vague = lexicon::words("life_event_rule.vague");
  if ((w0 == "a" || w0 == "an") && has(vague, w1) &&
      !(w1 == "new" && p + 3 < t.size() && is_word(t[p + 3]) && t[p + 3].low != "one") &&
      !(w1 == "job" || w1 == "second"))
    return {};
  span o = object_span(t, p);
  if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
  for (auto* x : o)
    if (x->low == "today" || x->low == "yesterday") return {};
  std::string cat = classify(o, "other");
  bool pet = false;
  for (auto* x : o) pet |= has(pet_words(), x->low);
  if (pet && cat == "interests") cat = "other";
  return make(std::string(recent ? "recently " : "") + render(o, c), cat);
}

// "i've been teaching my siblings coding", "i've been volunteering at the shelter": an
// activity that goes on. Verbs of feeling, waiting and trying are not activities.
rule_result been_doing_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  if (!has(activities_alone(), v) && !has(activities_with_object(), v)) return {};
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  static const word_set& not_activity = lexicon::words("been_doing_rule.not_activity");
  if (has(not_activity, w1) && (v == "doing" || v == "going" || v == "making" || v == "taking"))
    return {};
  if (v == "going" && w1 != "to") return {};
  if (v == "working" && w1 != "on") return {};
  if (v == "taking" && !takes_classes(t, p)) return {};
  if (v == "making" && w1 != "music" && w1 != "jewelry" && w1 != "pottery" && w1 != "art")
    return {};
  if (!w1.empty() && has(object_pronouns(), w1)) return {};
  if (!activity_with_object(t, p)) return {};
  span o = object_span(t, p);
  if (!object_ok(o) || word_count(o) < 2) return {};
  return make("has been " + render(o, c), classify(o, activity_category(v)));
}

// "i used to be a painter", "i used to live in Ohio": a past state, kept as such.
rule_result used_to_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  if (w1.empty() || has(object_pronouns(), w1) || w1 == "to") return {};
  std::string dflt;
  if (v == "be")
    dflt = "other";
  else if (v == "live")
    dflt = "location";
  else if (v == "work")
    dflt = "work";
  else if (v == "have" || v == "own")
    dflt = "other";
  else if (habit_verbs().count(v) && !has(mental_verbs(), v) && v != "go" && v != "do" &&
           v != "make" && v != "take")
    dflt = std::string(habit_verbs().at(v));
  else
    return {};
  span o = object_span(t, p);
  if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
  std::string cat = classify(o, dflt == "preferences" ? "other" : dflt);
  if (v == "be") {
    for (auto* x : o)
      if (has(occupation_words(), x->low)) cat = "work";
  }
  return make("used to " + render(o, c), cat);
}

}  // namespace memoryd::rules
