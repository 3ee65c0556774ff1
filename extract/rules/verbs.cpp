// Clauses with "i" as subject: adverbs and negation are read, then the verb picks the rule
// family from a table. Three tables, tried in order around the two fallbacks:
//   lasting_verbs  - states and preferences (am, have, like, work, live...), negated or not;
//   then a negated or "never" clause is a habit ("i don't eat meat", "i never smoke");
//   change_verbs   - a new state (got married, turned 18, won a prize);
//   then a recent life event ("i just adopted a cat", life_event_rule);
//   past_verbs     - the past that still holds (used to, grew up, was born, graduated);
//   then a present habit ("i play guitar", habit_rule).
// A handler returns nothing to let the clause go on to the next step.
#include "extract/rules/internal.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace memoryd::rules {
namespace {

struct verb_call {
  const tokens& t;
  std::size_t p;  // at the verb
  bool neg;
  bool never;
  bool recent;
  const std::string& adv;
  ctx& c;
  const std::string& v1;  // the two words after the verb
  const std::string& v2;
};
using verb_handler = std::optional<rule_result> (*)(const verb_call&);
using verb_table = std::unordered_map<std::string_view, verb_handler>;

std::optional<rule_result> am_verb(const verb_call& k) {
  if (k.neg) return std::nullopt;
  if (rule_result r = wish_rule(k.t, k.p, k.c); r.ok) return r;
  return am_rule(k.t, k.p + 1, k.c);
}

std::optional<rule_result> have_verb(const verb_call& k) {
  const tokens& t = k.t;
  const std::size_t p = k.p;
  if (k.v1 == "not") return have_rule(t, p + 2, true, k.c);
  if (k.never) return never_done_rule(t, p + 1, k.c);
  if (k.v1 == "never" && !k.neg) return never_done_rule(t, p + 2, k.c);
  if (k.v1 == "been" && k.v2 == "living") return live_rule(t, p + 3, k.c);
  if (k.v1 == "been" && k.v2 == "working" && p + 3 < t.size() && t[p + 3].low != "on")
    return work_rule(t, p + 3, false, k.c);
  if (k.v1 == "been" && !k.neg && is_gerund(k.v2)) return been_doing_rule(t, p + 2, k.c);
  return have_rule(t, p + 1, k.neg, k.c);
}

std::optional<rule_result> own_verb(const verb_call& k) {
  if (k.never) return std::nullopt;
  rule_result r = have_rule(k.t, k.p + 1, k.neg, k.c);
  if (!r.ok) return r;
  const std::string& s = r.f.text;  // "Has X" -> "Owns X"
  r.f.text = k.neg ? "Does not own" + s.substr(std::string("Does not have").size())
                   : "Owns" + s.substr(3);
  return r;
}

std::optional<rule_result> preference_verb(const verb_call& k) {
  std::string verb = k.t[k.p].low;
  if (verb == "likes" || verb == "loves" || verb == "enjoys") verb.pop_back();
  if (verb == "looove" || verb == "loove") verb = "love";
  if (verb == "mind" && !k.neg) return rule_result{};
  return pref_rule(k.t, k.p + 1, verb, k.neg || k.never, k.adv, k.c);
}

// "i can play the piano", "i can't stand crowds"
std::optional<rule_result> can_verb(const verb_call& k) {
  if (k.never) return std::nullopt;
  const tokens& t = k.t;
  std::size_t q = k.p + 1;
  bool cneg = k.neg;
  if (q < t.size() && t[q].low == "not") {
    cneg = true;
    ++q;
  }
  if (q >= t.size()) return rule_result{};
  const std::string cv = t[q].low;
  if (cneg && has(lexicon::words("cannot_stand_verbs"), cv)) {
    if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return rule_result{};
    span o = object_span(t, q + 1);
    if (!object_ok(o)) return rule_result{};
    return make("cannot " + cv + " " + render(o, k.c), classify(o, "preferences"));
  }
  static const word_set& not_skills = lexicon::words("can_not_skills");
  auto it = habit_verbs().find(cv);
  if (it == habit_verbs().end() || has(not_skills, cv)) return rule_result{};
  if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return rule_result{};
  span o = object_span(t, q + 1);
  if (!object_ok(o)) return rule_result{};
  return make((cneg ? "cannot " : "can ") + cv + " " + render(o, k.c),
              classify(o, it->second == "preferences" ? "health" : it->second));
}

std::optional<rule_result> work_verb(const verb_call& k) {
  if (k.never) return rule_result{};
  return work_rule(k.t, k.p + 1, k.neg, k.c);
}

std::optional<rule_result> live_verb(const verb_call& k) {
  if (k.neg || k.never) return rule_result{};
  return live_rule(k.t, k.p + 1, k.c);
}

// "i want to visit japan", "i plan to retire early". Not "i would love to ..." nor "i hope to
// ...": on the dev half of msc_valid_turns they were right 0.33 and 0.09 of the time (a
// politeness, a wish for the partner), against 0.47 for "i want to".
std::optional<rule_result> wish_verb(const verb_call& k) {
  if (k.neg || k.never) return rule_result{};
  return wish_rule(k.t, k.p, k.c);
}

std::optional<rule_result> moved_verb(const verb_call& k) {
  if (k.neg || k.never) return std::nullopt;
  return moved_rule(k.t, k.p + 1, k.c);
}

const verb_table& lasting_verbs() {
  static const verb_table m = [] {
    verb_table m = {{"am", am_verb},       {"have", have_verb},   {"own", own_verb},
                    {"can", can_verb},     {"work", work_verb},   {"works", work_verb},
                    {"live", live_verb},   {"moved", moved_verb}, {"relocated", moved_verb},
                    {"want", wish_verb},   {"plan", wish_verb},   {"intend", wish_verb}};
    for (std::string_view w : lexicon::words("preference_verbs")) m.emplace(w, preference_verb);
    return m;
  }();
  return m;
}

// "i got married"
std::optional<rule_result> got_status_verb(const verb_call& k) {
  if (!relationship_status_words().count(k.v1)) return std::nullopt;
  return make("is " + k.v1, "relationships");
}

// "i just turned 18", "i turned forty years old": the age now
std::optional<rule_result> turned_verb(const verb_call& k) {
  if (!all_digits(k.v1) && !has(number_words(), k.v1)) return std::nullopt;
  return am_rule(k.t, k.p + 1, k.c);
}

// "i won homecoming queen", "i won a marathon": an achievement
std::optional<rule_result> won_verb(const verb_call& k) {
  if (k.v1.empty() || has(object_pronouns(), k.v1) || k.v1 == "the" || k.v1 == "some")
    return std::nullopt;
  span o = object_span(k.t, k.p);
  if (object_ok(o, 10) && word_count(o) >= 2) return make(render(o, k.c), classify(o, "other"));
  return std::nullopt;
}

const verb_table& change_verbs() {
  static const verb_table m = {{"got", got_status_verb}, {"turned", turned_verb}, {"won", won_verb}};
  return m;
}

std::optional<rule_result> used_verb(const verb_call& k) {
  if (k.v1 != "to") return std::nullopt;
  return used_to_rule(k.t, k.p + 2, k.c);
}

// "i got a puppy"
std::optional<rule_result> got_pet_verb(const verb_call& k) {
  const tokens& t = k.t;
  const std::size_t p = k.p;
  if ((k.v1 != "a" && k.v1 != "an") || p + 2 >= t.size() ||
      !(has(pet_words(), t[p + 2].low) || (p + 3 < t.size() && has(pet_words(), t[p + 3].low))))
    return std::nullopt;
  span o = object_span(t, p + 1);
  if (!object_ok(o, 8)) return rule_result{};
  return make("has " + render(o, k.c), "other");
}

std::optional<rule_result> grew_verb(const verb_call& k) {
  if (k.v1 != "up") return std::nullopt;
  static const word_set& where = lexicon::words("grew_up_where");
  if (!has(where, k.v2)) return rule_result{};
  span o = object_span(k.t, k.p + 2);
  if (!object_ok(o, 8) || word_count(o) < 2 || has(object_pronouns(), o[1]->low))
    return rule_result{};
  auto cap = guess_place(o, 1);
  return make("grew up " + render(o, k.c, &cap), "location");
}

// "i was born in Ohio", "i was raised by my grandparents"
std::optional<rule_result> was_verb(const verb_call& k) {
  if (k.v1 == "a" || k.v1 == "an") return was_a_rule(k.t, k.p + 1, k.c);
  if (k.v1 == "thinking" || k.v1 == "planning") {
    if (rule_result r = wish_rule(k.t, k.p, k.c); r.ok) return r;
  }
  if ((k.v1 != "born" && k.v1 != "raised") ||
      (k.v2 != "in" && k.v2 != "on" && k.v2 != "by" && k.v2 != "and"))
    return std::nullopt;
  span o = object_span(k.t, k.p + 1);
  if (!object_ok(o, 8) || word_count(o) < 3 || has(object_pronouns(), o[2]->low))
    return rule_result{};
  auto cap = guess_place(o, 2);
  std::string cat = classify(o, "location");
  if (k.v2 == "by") cat = classify(o, "relationships");
  return make("was " + render(o, k.c, &cap), cat);
}

std::optional<rule_result> graduated_verb(const verb_call& k) {
  if (k.v1 != "from") return std::nullopt;
  span o = object_span(k.t, k.p);
  if (!object_ok(o) || word_count(o) < 3) return rule_result{};
  return make(render(o, k.c), "work");
}

// "i went to college in Ohio"
std::optional<rule_result> went_verb(const verb_call& k) {
  if (k.v1 != "to") return std::nullopt;
  static const word_set& schools = lexicon::words("school_words");
  bool school = false;
  for (std::size_t q = k.p + 2; q < k.t.size() && q < k.p + 6; ++q) school |= has(schools, k.t[q].low);
  if (!school) return rule_result{};
  span o = object_span(k.t, k.p);
  if (!object_ok(o) || word_count(o) < 3) return rule_result{};
  return make(render(o, k.c), "work");
}

const verb_table& past_verbs() {
  static const verb_table m = {{"used", used_verb},           {"got", got_pet_verb},
                               {"grew", grew_verb},           {"was", was_verb},
                               {"graduated", graduated_verb}, {"went", went_verb}};
  return m;
}

std::optional<rule_result> dispatch(const verb_table& table, std::string_view v,
                                    const verb_call& k) {
  auto it = table.find(v);
  if (it == table.end()) return std::nullopt;
  return it->second(k);
}

}  // namespace

rule_result i_rule(const tokens& t, ctx& c) {
  std::size_t p = 1;
  std::string adv;
  bool neg = false;
  bool recent = false;
  static const word_set& emphatic = lexicon::words("emphatic_do_verbs");
  auto skip_fillers = [&] {
    while (p < t.size()) {
      const std::string& w = t[p].low;
      if (has(verb_fillers(), w)) {
        if (w == "also" || w == "too") c.additive = true;
        if (w == "just" || w == "recently" || w == "finally") recent = true;
        ++p;
      } else if (has(freq_adverbs(), w)) {
        adv = t[p].low;
        ++p;
      } else if (w == "do" && p + 1 < t.size() && has(emphatic, t[p + 1].low)) {
        ++p;  // emphatic "i do like"
      } else {
        break;
      }
    }
  };
  skip_fillers();
  if (p >= t.size()) return {};
  if ((t[p].low == "do" || t[p].low == "does") && p + 1 < t.size() && t[p + 1].low == "not") {
    neg = true;
    adv.clear();
    p += 2;
    skip_fillers();
  }
  if (p >= t.size()) return {};
  const bool never = adv == "never";
  if (never) adv.clear();
  const std::string v = t[p].low;
  const std::string v1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string v2 = p + 2 < t.size() ? t[p + 2].low : std::string();
  const verb_call k{t, p, neg, never, recent, adv, c, v1, v2};

  if (auto r = dispatch(lasting_verbs(), v, k)) return *r;
  if (neg) return habit_rule(t, p + 1, v, true, {}, c);  // "i don't eat meat"
  if (never) {
    rule_result r = habit_rule(t, p + 1, v, false, {}, c);  // "i never smoke"
    if (r.ok) r.f.text = "Never " + lower(r.f.text.substr(0, 1)) + r.f.text.substr(1);
    return r;
  }
  if (auto r = dispatch(change_verbs(), v, k)) return *r;
  if (rule_result r = life_event_rule(t, p, recent, c); r.ok) return r;
  if (auto r = dispatch(past_verbs(), v, k)) return *r;
  return habit_rule(t, p + 1, v, false, adv, c);
}

}  // namespace memoryd::rules
