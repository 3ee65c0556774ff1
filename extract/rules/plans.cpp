// Wishes, plans and experiences: what the user wants or means to do ("i want to visit japan",
// "i'm planning to move to texas") and what they have or have
// never done ("i have never been out of the state", "i was a teacher"). The turn-level gold
// keeps these as facts about the person; the rendering keeps the mood ("Wants to ...",
// "Would love to ...", "Has never ..."), so nothing reads as done that was only wished.
#include <cstddef>
#include <string>

#include "extract/rules/internal.hpp"

namespace memoryd::rules {
namespace {

// The verb phrase at t[q] ("visit japan", "be a doctor"): not a reaction or small talk
// ("see you soon", "know more", "thank you"), and an object that stands alone.
bool plan_object(const tokens& t, std::size_t q, span& o) {
  static const word_set& not_plans = lexicon::words("plan_not_verbs");
  if (q >= t.size() || !is_word(t[q]) || has(not_plans, t[q].low)) return false;
  // "want to be a doctor", "be in a movie"; not "going to be honest"
  static const word_set& roles = lexicon::words("plan_be_starts");
  if (t[q].low == "be" && (q + 1 >= t.size() || !has(roles, t[q + 1].low))) return false;
  if (q + 1 < t.size() && is_word(t[q + 1]) && has(object_pronouns(), t[q + 1].low) &&
      t[q + 1].low != "my")
    return false;
  o = object_span(t, q);
  if (!object_ok(o, 10) || word_count(o) < 2) return false;
  // "want to go there", "would like to do that": the object lost its referent
  const std::string& last = o.back()->low;
  if (has(object_pronouns(), last) && last != "one") return false;
  return true;
}

}  // namespace

rule_result plan_rule(const tokens& t, std::size_t q, const std::string& head, const ctx& c) {
  span o;
  if (!plan_object(t, q, o)) return {};
  return make(head + " " + render(o, c), classify(o, "other"));
}

rule_result wish_rule(const tokens& t, std::size_t p, const ctx& c) {
  // t[p] is the verb after "i": want / plan / intend / am or was (planning, thinking, going)
  const std::string& v = t[p].low;
  const std::string v1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string v2 = p + 2 < t.size() ? t[p + 2].low : std::string();
  if ((v == "want" || v == "plan" || v == "intend") && v1 == "to")
    return plan_rule(t, p + 2, conjugate(v) + " to", c);
  if (v == "plan" && v1 == "on" && is_gerund(v2)) return plan_rule(t, p + 2, "plans on", c);
  if (v == "am" || v == "was") {
    std::size_t q = p + 1;
    while (q < t.size() && (t[q].low == "really" || t[q].low == "also" || t[q].low == "still" ||
                            t[q].low == "actually" || t[q].low == "seriously"))
      ++q;
    const std::string a = q < t.size() ? t[q].low : std::string();
    const std::string b = q + 1 < t.size() ? t[q + 1].low : std::string();
    if (a == "planning" && b == "to") return plan_rule(t, q + 2, "is planning to", c);
    if ((a == "planning" && b == "on") || ((a == "thinking") && (b == "about" || b == "of"))) {
      if (q + 2 < t.size() && is_gerund(t[q + 2].low))
        return plan_rule(t, q + 2, "is " + a + " " + b, c);
      return {};
    }
    if (a == "going" && b == "to") return plan_rule(t, q + 2, "is going to", c);
  }
  return {};
}

// "i have never been to europe", "i've never had a cat": an experience the user lacks.
rule_result never_done_rule(const tokens& t, std::size_t p, const ctx& c) {
  static const word_set& not_experiences = lexicon::words("never_not_experiences");
  if (p >= t.size() || !is_participle(t[p].low) || has(not_experiences, t[p].low)) return {};
  span o;
  if (!plan_object(t, p, o)) return {};
  return make("has never " + render(o, c), classify(o, "other"));
}

// "i was a teacher for twenty years": what the user was.
rule_result was_a_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size() || (t[p].low != "a" && t[p].low != "an")) return {};
  static const word_set& not_roles = lexicon::words("was_a_not_roles");
  if (p + 1 >= t.size() || has(not_roles, t[p + 1].low)) return {};
  span o = object_span(t, p);
  if (!object_ok(o, 8) || word_count(o) < 2) return {};
  return make("was " + render(o, c), classify(o, "work"));
}

}  // namespace memoryd::rules
