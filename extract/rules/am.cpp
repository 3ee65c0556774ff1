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

rule_result am_rule(const tokens& t, std::size_t p, const ctx& c) {
  static const word_set& fill = lexicon::words("am_rule.fill");
  bool neg = false;
  while (p < t.size() && (has(fill, t[p].low) || t[p].low == "not")) {
    if (t[p].low == "not") neg = true;
    ++p;
  }
  if (p >= t.size()) return {};
  // Negated, only what stays true: "i'm not married", "i'm not a vegan", "i'm not a big fan of
  // X", "i'm not into marathons", "i'm not athletic"; not "i'm not sure", "i'm not going".
  static const word_set& negatable = lexicon::words("am_rule.negatable_starts");
  if (neg && !has(relationship_status_words(), t[p].low) && !has(diet_words(), t[p].low) &&
      !has(negatable, t[p].low) && !am_adjectives().count(t[p].low))
    return {};
  const std::string head = neg ? "is not " : "is ";
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w2 = p + 2 < t.size() ? t[p + 2].low : std::string();

  // age
  if (all_digits(w0) || has(number_words(), w0)) {
    std::size_t q = p;
    std::string num;
    while (q < t.size() && (all_digits(t[q].low) || has(number_words(), t[q].low))) {
      if (!num.empty()) num += ' ';
      num += t[q].low;
      ++q;
    }
    const std::string a = q < t.size() ? t[q].low : std::string();
    const std::string b = q + 1 < t.size() ? t[q + 1].low : std::string();
    const bool digits = all_digits(w0);
    if ((a == "years" || a == "year" || a == "yrs" || a == "yr") && (b == "old" || b == "young"))
      return neg ? rule_result{} : make("is " + num + " years old", "other");
    if (digits && q == p + 1 &&
        (a.empty() || q >= t.size() || !is_word(t[q]) || a == "and" || a == "with")) {
      const int v = std::stoi(w0.size() > 3 ? std::string("999") : w0);
      if (v >= 5 && v <= 110 && !neg) return make("is " + num + " years old", "other");
    }
    if (a == "feet" || a == "foot" || a == "ft") {
      span o = object_span(t, p);
      if (object_ok(o, 5)) return make(head + render(o, c), "other");
    }
    return {};
  }
  // lower-case chat drops articles: "i am gold medalist", "i am ex military"
  if (!neg && w0 != "a" && w0 != "an" && w0 != "the" && !has(object_pronouns(), w0) &&
      !is_gerund(w0) && !is_participle(w0)) {
    span o = object_span(t, p);
    const std::size_t n = word_count(o);
    static const word_set& extra = lexicon::words("am_rule.extra");
    if (n >= 2 && n <= 3 && is_word(*o.back()) &&
        (has(occupation_words(), o.back()->low) || has(extra, o.back()->low)) &&
        (w0 == "ex" || w0 == "former" || has(occupation_words(), w0) || word_count(o) == 2) &&
        object_ok(o))
      return make(head + render(o, c), "work");
  }
  if (w0 == "a" || w0 == "an") {
    if (w1.empty() || w1 == "little" || w1 == "bit" || w1 == "lot" || w1 == "few" || w1 == "mess" ||
        w1 == "wreck" || w1 == "tad" || w1 == "while" || w1 == "sucker" || w1 == "natural")
      return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    {  // "i'm a huge fan!": a reaction unless it says of what ("a coffee lover" is fine)
      static const word_set& fans = lexicon::words("am_rule.fans");
      static const word_set& intensifiers = lexicon::words("am_rule.intensifiers");
      bool only_intensifiers = has(fans, o.back()->low);
      for (std::size_t i = 0; i + 1 < o.size(); ++i)
        only_intensifiers &= !is_word(*o[i]) || has(intensifiers, o[i]->low);
      if (only_intensifiers) return {};
    }
    bool occ = false, fam = false, diet = false, fan = false;
    for (auto* x : o) {
      occ |= has(occupation_words(), x->low);
      fam |= has(family_words(), x->low);
      diet |= has(diet_words(), x->low);
      fan |= x->low == "fan" || x->low == "lover" || x->low == "fanatic" || x->low == "nerd" ||
             x->low == "geek" || x->low == "buff" || x->low == "junkie" || x->low == "enthusiast";
    }
    std::string cat = "other";
    if (diet)
      cat = "health";
    else if (fan)
      cat = classify(o, "interests");
    else if (fam)
      cat = "relationships";
    else if (occ)
      cat = "work";
    else
      cat = classify(o, "other");
    return make(head + render(o, c), cat);
  }
  if (w0 == "the") {
    static const word_set& ok = lexicon::words("am_rule.ranks");
    if (!ok.count(w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    std::string cat = classify(o, "other");
    if (w1 == "oldest" || w1 == "youngest" || w1 == "middle" || w1 == "eldest" || w1 == "baby" ||
        (w1 == "only" && w2 == "child"))
      cat = "relationships";
    return make(head + render(o, c), cat);
  }
  if (w0 == "from") {
    if (w1.empty() || has(object_pronouns(), w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o, 8)) return {};
    auto cap = guess_place(o, 1);
    return make(head + render(o, c, &cap), "location");
  }
  if (w0 == "into") {
    if (w1.empty() || has(object_pronouns(), w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    return make(head + render(o, c), classify(o, "interests"));
  }
  if (w0 == "in") {
    static const word_set& ok = lexicon::words("am_rule.in_what");
    bool hit = false;
    for (std::size_t q = p + 1; q < t.size() && q < p + 5; ++q) hit |= ok.count(t[q].low) > 0;
    if (!hit || w1 == "it" || (w1 == "the" && w2 == "mood")) return {};
    span o = object_span(t, p);
    if (!object_ok(o, 8)) return {};
    std::string cat = "work";
    for (auto* x : o) {
      if (x->low == "relationship" || x->low == "love") cat = "relationships";
      if (x->low == "wheelchair" || x->low == "recovery" || x->low == "remission" ||
          x->low == "therapy")
        cat = "health";
      if (x->low == "band" || x->low == "choir") cat = "interests";
    }
    return make(head + render(o, c), cat);
  }
  // "i am working at X", "i'm living in X"
  if (w0 == "working" && (w1 == "as" || w1 == "at" || w1 == "for" || w1 == "in") && !neg)
    return work_rule(t, p + 1, false, c);
  if (w0 == "living" && !neg) return live_rule(t, p + 1, c);
  // "i'm working on a new game": a project that goes on
  if (w0 == "working" && w1 == "on" && !neg) {
    static const word_set& thing_start = lexicon::words("am_rule.thing_start");
    const bool gerund = is_gerund(w2);
    if (!has(thing_start, w2) && !gerund) return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 3) return {};
    return make(head + render(o, c), classify(o, "interests"));
  }
  static const std::unordered_map<std::string_view, std::string_view>& progressive = lexicon::pairs("am_rule.progressive");
  auto pit = progressive.find(w0);
  if (pit != progressive.end() && !neg) {
    if (w0 == "going" &&
        !(w1 == "to" && (w2 == "school" || w2 == "college" || w2 == "university" || w2 == "grad" ||
                         w2 == "law" || w2 == "med" || w2 == "nursing")))
      return {};
    if (w0 == "getting" && w1 != "married" && w1 != "divorced") return {};
    if (w0 == "planning" || w0 == "trying") return {};
    if (w0 == "looking" && w1 != "for") return {};
    if (w0 == "taking" && !takes_classes(t, p)) return {};
    if (w0 == "running" && w1 != "a" && w1 != "my" && w1 != "marathons") return {};
    if (w1.empty() || has(object_pronouns(), w1) || w1 == "up") return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 2) return {};
    return make(head + render(o, c), classify(o, pit->second));
  }
  auto ait = am_adjectives().find(w0);
  if (ait == am_adjectives().end() && !has(nationality_words(), w0)) return {};
  std::string cat = ait != am_adjectives().end() ? std::string(ait->second) : "other";
  auto prep = adjective_preps().find(w0);
  if (prep != adjective_preps().end()) {
    const bool bare_ok =
        relationship_status_words().count(w0) || w0 == "allergic" || w0 == "good" || w0 == "great";
    if (!prep->second.count(w1)) {
      if (w0 == "good" || w0 == "great" || w0 == "bad" || w0 == "terrible" || w0 == "awful" ||
          w0 == "close" || w0 == "related" || w0 == "left" || w0 == "right" || w0 == "currently" ||
          w0 == "crazy" || w0 == "self" || w0 == "afraid" || w0 == "scared" || w0 == "terrified" ||
          w0 == "frightened" || w0 == "interested" || w0 == "obsessed" || w0 == "addicted" ||
          w0 == "passionate" || w0 == "fascinated" || w0 == "fluent" || w0 == "partly" ||
          w0 == "partially" || w0 == "colour" || w0 == "color" || w0 == "deathly" ||
          w0 == "lactose" || w0 == "gluten" || !bare_ok)
        return {};
    }
    if (w0 == "good" || w0 == "great") cat = classify(object_span(t, p + 2), "interests");
  }
  if (w0 == "expecting" || w0 == "originally") return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  // bare adjectives take a short complement only ("married with two kids", "deaf in one ear")
  if (prep == adjective_preps().end() && word_count(o) > 6) return {};
  if (has(relationship_status_words(), w0)) cat = "relationships";
  std::vector<bool> cap;
  if (w0 == "fluent" && c.all_lower) {
    cap.assign(o.size(), false);
    for (std::size_t i = 2; i < o.size(); ++i)
      if (o[i]->low != "and" && o[i]->low != "in" && is_word(*o[i])) cap[i] = true;
  }
  return make(head + render(o, c, cap.empty() ? nullptr : &cap), cat);
}

}  // namespace memoryd::rules
