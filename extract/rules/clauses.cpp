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

const word_set& clause_starters() {
  static const word_set& s = lexicon::words("clause_starters");
  return s;
}

// A clause that begins after one of these is subordinate: "if i had", "when i was".
const word_set& subordinators() {
  static const word_set& s = lexicon::words("subordinators");
  return s;
}

const word_set& lead_fillers() {
  static const word_set& s = lexicon::words("lead_fillers");
  return s;
}

bool is_temporary(const tokens& t) {
  // string_view comparisons check the length first: this runs over every token of a clause
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string_view w = t[i].low;
    if (w == "today" || w == "tonight" || w == "tomorrow" || w == "yesterday" || w == "atm" ||
        w == "rn")
      return true;
    if (i + 1 < t.size()) {
      const std::string_view x = t[i + 1].low;
      if (w == "all" && (x == "day" || x == "night" || x == "morning" || x == "afternoon" ||
                         x == "evening"))
        return true;
      if (w == "right" && x == "now") return true;
      if (w == "this" &&
          (x == "morning" || x == "afternoon" || x == "evening" || x == "week" || x == "weekend"))
        return true;
      if (w == "at" && x == "the" && i + 2 < t.size() && std::string_view(t[i + 2].low) == "moment")
        return true;
      if (w == "for" && x == "now") return true;
      if (w == "next" && (x == "week" || x == "month" || x == "year")) return true;
    }
  }
  return false;
}

// Base-form verbs that start a second verb phrase after "and": "... and play guitar".
bool coordinated_verb(std::string_view w) {
  static const word_set& extra = lexicon::words("coordinated_verb.extra");
  static const word_set& noun_like = lexicon::words("coordinated_verb.noun_like");
  if (has(extra, w)) return true;
  return habit_verbs().count(w) > 0 && !has(noun_like, w);
}

// Words that put the verbs after them in the future, a plan or a possibility: "i will go to
// the gym and exercise" does not say the user exercises.
const word_set& modal_words() {
  static const word_set& s = lexicon::words("modal_words");
  return s;
}

// "... and love hiking" is a verb; "self-acceptance and love theme" is a noun. After a
// preference verb that is also a noun, only what starts a verb's object counts: "to", a
// gerund, a determiner or a plural.
bool verb_not_noun(const tokens& all, std::size_t i, std::size_t end) {
  static const word_set& also_nouns = lexicon::words("verb_not_noun.also_nouns");
  if (!has(also_nouns, all[i].low)) return true;
  if (i + 1 >= end || !is_word(all[i + 1])) return false;
  const std::string& w = all[i + 1].low;
  static const word_set& starts = lexicon::words("verb_not_noun.starts");
  return has(starts, w) || is_gerund(w) || (w.size() > 3 && w.back() == 's');
}

// The clause so far has the user as subject ("i ...", after fillers) and no negation, whose
// scope over a coordinated verb would be ambiguous ("i don't smoke and drink").
bool user_clause_without_negation(const tokens& t) {
  std::size_t b = 0;
  while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) ++b;
  if (b >= t.size() || t[b].low != "i") return false;
  for (std::size_t i = b; i < t.size(); ++i)
    if (t[i].low == "not" || t[i].low == "never" || t[i].low == "no" || t[i].low == "nor" ||
        t[i].low == "if" || t[i].low == "would" || t[i].low == "want" || t[i].low == "wish" ||
        has(modal_words(), t[i].low))
      return false;
  return true;
}

std::vector<clause> split_clauses(const tokens& all) {
  std::vector<clause> out;
  std::size_t s = 0;
  while (s < all.size()) {
    std::size_t e = s;
    while (e < all.size() && (all[e].punct == 0 || all[e].punct == ',')) ++e;
    const bool question = e < all.size() && all[e].punct == '?';
    // one sentence: [s, e)
    std::vector<clause> cs;
    cs.push_back({});
    for (std::size_t i = s; i < e; ++i) {
      const token& t = all[i];
      clause& cur = cs.back();
      if (t.punct == ',') {
        if (i + 1 < e && is_word(all[i + 1]) && has(clause_starters(), all[i + 1].low)) {
          if (!cur.toks.empty()) cs.push_back({});
        } else if (!cur.toks.empty()) {
          cur.toks.push_back(t);
        }
        continue;
      }
      // "i sing folk music and play piano": the second verb phrase is its own clause
      const std::string_view low = t.low;
      if ((low == "and" || low == "but") && i + 1 < e && coordinated_verb(all[i + 1].low) &&
          verb_not_noun(all, i + 1, e) && user_clause_without_negation(cur.toks)) {
        const bool sub = cur.skip;
        cs.push_back({});
        cs.back().skip = sub;
        cs.back().coord = true;
        cs.back().toks.push_back(token{"i", "i", 0});
        continue;
      }
      if (!cur.toks.empty() && (low == "i" || low == "my")) {
        const std::string_view p = cur.toks.back().low;
        bool split = low == "i";
        if (low == "my")
          split = p == "and" || p == "but" || p == "so" || p == "because" || p == "cause" ||
                  p == "plus" || p == "lol" || p == "haha" || p == "also";
        if (split) {
          const bool sub = has(subordinators(), p);
          cs.push_back({});
          cs.back().skip = sub;
        }
      }
      cs.back().toks.push_back(t);
    }
    if (question)  // the asked clause, and the clauses it was coordinated from
      for (std::size_t k = cs.size(); k-- > 0;) {
        cs[k].skip = true;
        if (!cs[k].coord) break;
      }
    for (auto& c : cs)
      if (!c.toks.empty()) out.push_back(std::move(c));
    s = e + 1;
  }
  return out;
}

// Rendering objects.

}  // namespace memoryd::rules
