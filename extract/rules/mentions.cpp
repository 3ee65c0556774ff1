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

rule_result we_rule(const tokens& t, const ctx& c) {
  std::size_t p = 1;
  while (p < t.size() && (t[p].low == "just" || t[p].low == "recently" || t[p].low == "also" ||
                          t[p].low == "both" || t[p].low == "actually"))
    ++p;
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  if (v == "have") {
    rule_result r = have_rule(t, p + 1, false, c);
    if (!r.ok) return {};
    bool fam = false;
    for (std::size_t q = p + 1; q < t.size(); ++q)
      fam |= has(family_words(), t[q].low) || has(pet_words(), t[q].low);
    if (!fam) return {};
    return r;
  }
  if (v == "live") return live_rule(t, p + 1, c);
  if (v == "moved" || v == "relocated") return moved_rule(t, p + 1, c);
  if (v == "are" && p + 1 < t.size() && (t[p + 1].low == "married" || t[p + 1].low == "engaged")) {
    span o = object_span(t, p + 1);
    if (!object_ok(o, 6)) return {};
    return make("is " + render(o, c), "relationships");
  }
  return {};
}

extracted_fact finish(rule_result r, const ctx& c) {
  extracted_fact f = std::move(r.f);
  f.slot = slot_of(f.text);
  if (c.additive && (f.slot == "occupation" || f.slot == "employer" || f.slot == "location" ||
                     f.slot == "hometown"))
    f.slot.clear();
  return f;
}

std::vector<std::string> norm_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || u >= 0x80) {
      cur += static_cast<char>(std::tolower(u));
    } else if (ch == '\'') {
      // "wife's" -> "wife", "s"
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Rewrites the other ways of naming a favorite into "my favorite <what> is <value>":
// "pizza is my favorite food", "my favorite color happens to be red", "my all time
// favorite toy is lite brite".
void canonical_favorite(tokens& t) {
  auto fav = [](const std::string& w) { return w == "favorite" || w == "favourite"; };
  if (t.size() >= 4 && t[0].low == "my") {
    // "my all time favorite", "my absolute favorite", "my very favorite"
    std::size_t k = 1;
    while (k < t.size() && k <= 3 &&
           (t[k].low == "all" || t[k].low == "time" || t[k].low == "absolute" ||
            t[k].low == "very" || t[k].low == "most"))
      ++k;
    if (k > 1 && k < t.size() && fav(t[k].low))
      t.erase(t.begin() + 1, t.begin() + static_cast<std::ptrdiff_t>(k));
    // "happens to be" / "has to be" -> "is"
    for (std::size_t i = 2; i + 2 < t.size(); ++i)
      if ((t[i].low == "happens" || t[i].low == "has") && t[i + 1].low == "to" &&
          t[i + 2].low == "be") {
        t[i] = token{"is", "is", 0};
        t.erase(t.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                t.begin() + static_cast<std::ptrdiff_t>(i) + 3);
        break;
      }
    return;
  }
  // "<value> is|are my favorite <what>"
  std::size_t k = 1;
  while (k < t.size() && k <= 4 && t[k].low != "is" && t[k].low != "are") ++k;
  if (k > 4 || k + 3 >= t.size() || t[k + 1].low != "my" || !fav(t[k + 2].low)) return;
  for (std::size_t i = 0; i < k; ++i)
    if (!is_word(t[i]) || has(object_pronouns(), t[i].low) || t[i].low == "and" ||
        t[i].low == "i" || t[i].low == "my")
      return;
  std::size_t e = k + 3;
  while (e < t.size() && e < k + 6 && is_word(t[e]) && !has(cut_words(), t[e].low)) ++e;
  if (e == k + 3) return;
  tokens out;
  out.push_back(token{"my", "my", 0});
  out.push_back(t[k + 2]);
  for (std::size_t i = k + 3; i < e; ++i) out.push_back(t[i]);
  out.push_back(token{"is", "is", 0});
  for (std::size_t i = 0; i < k; ++i) out.push_back(t[i]);
  t = std::move(out);
}

// Relatives and pets worth a fact when the user mentions them as theirs ("my wife and i",
// "walking my two dogs"). Parents, cousins and friends are left out: nearly everyone has
// them, so "Has a mom" tells nothing.
const word_set& implied_nouns() {
  static const word_set& s = lexicon::words("implied_nouns");
  return s;
}

// "dogs" -> "dog", "children" -> "child" (the plurals implied_nouns() holds).
std::string singular_of(std::string_view w) {
  if (w.size() >= 8 && w.compare(w.size() - 8, 8, "children") == 0)
    return std::string(w.substr(0, w.size() - 3));
  if (w.size() > 3 && w.back() == 's') return std::string(w.substr(0, w.size() - 1));
  return std::string(w);
}

// Does a fact's text name the relative or pet ("Has two dogs" names "dog")?
bool names_noun(std::string_view fact_text, std::string_view singular) {
  for (const std::string& w : norm_words(fact_text))
    if (singular_of(w) == singular) return true;
  return false;
}

// "my wife and i", "walking my two dogs", "my dog Max": a relative or pet the user has,
// mentioned in passing. Gives "Has a wife", "Has two dogs", "Has a dog named Max".
void implied_relations(const tokens& t, const ctx& c, std::vector<extracted_fact>& out) {
  static const word_set& mods = lexicon::words("implied_relations.mods");
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].low != "my") continue;
    std::size_t j = i + 1;
    std::vector<const token*> ms;
    while (j < t.size() && ms.size() < 2 && (has(mods, t[j].low) || all_digits(t[j].low)))
      ms.push_back(&t[j++]);
    if (j >= t.size() || !is_word(t[j])) continue;
    std::string w = t[j].low;
    bool possessive = false;  // "my dog's name", "my sisters cat"
    if (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0) {
      w.resize(w.size() - 2);
      possessive = true;
    }
    if (!has(implied_nouns(), w)) continue;
    const std::string singular = singular_of(w);
    const bool next_is_noun = j + 1 < t.size() && is_word(t[j + 1]) &&
                              (t[j + 1].low == "name" || t[j + 1].low == "names" ||
                               has(family_words(), t[j + 1].low) || has(pet_words(), t[j + 1].low));
    if (next_is_noun) possessive = true;
    // "my dog walker", "my horse painting": the noun names something else
    static const word_set& compound = lexicon::words("implied_relations.compound");
    if (!possessive && j + 1 < t.size() && has(compound, t[j + 1].low)) continue;
    bool counted = false;
    for (auto* m : ms) counted |= all_digits(m->low) || has(number_words(), m->low);
    const bool plural = counted || (!possessive && w != singular);
    std::string text = "has ";
    if (!plural)
      text += (ms.empty() ? "a "
                          : (std::string("aeiou").find(ms[0]->low[0]) != std::string::npos ? "an "
                                                                                           : "a "));
    for (auto* m : ms) text += m->low + " ";
    text += plural ? w : singular;
    // "my dog Max": a capitalized word after a pet is its name (typed case only)
    if (!plural && !c.all_lower && j + 1 < t.size() && has(pet_words(), singular) &&
        is_word(t[j + 1]) && !t[j + 1].orig.empty() && t[j + 1].orig[0] >= 'A' &&
        t[j + 1].orig[0] <= 'Z' && t[j + 1].low != "i")
      text += " named " + t[j + 1].orig;
    bool known = false;
    for (const auto& f : out) known |= names_noun(f.text, singular);
    if (known) continue;
    extracted_fact f;
    f.text = std::move(text);
    capitalize_first(f.text);
    f.category = "relationships";
    f.implied_noun = singular;
    out.push_back(std::move(f));
  }
}

}  // namespace memoryd::rules
