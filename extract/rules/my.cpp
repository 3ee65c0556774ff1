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

rule_result my_rule(const tokens& t, const ctx& c) {
  // "my <subject> is|are <value>"
  std::size_t k = 1;
  while (k < t.size() && k <= 5 && t[k].low != "is" && t[k].low != "are") {
    if (!is_word(t[k]) || t[k].low == "and" || t[k].low == "was" || t[k].low == "were" ||
        t[k].low == "has" || t[k].low == "have" || t[k].low == "will" || t[k].low == "would")
      return {};
    ++k;
  }
  if (k >= t.size() || k == 1 || k > 5) return {};
  std::size_t v = k + 1;
  static const word_set& fill = lexicon::words("my_rule.fill");
  while (v < t.size() && has(fill, t[v].low)) ++v;
  if (v >= t.size()) return {};
  const std::string verb = t[k].low;
  const std::string s0 = t[1].low;
  const std::string val0 = t[v].low;
  const std::string val1 = v + 1 < t.size() ? t[v + 1].low : std::string();
  if (val0 == "not" || (has(object_pronouns(), val0) && val0 != "one")) return {};
  span subj;
  for (std::size_t i = 1; i < k; ++i) subj.push_back(&t[i]);
  std::string subj_text = render(subj, c);
  span val = object_span(t, v);
  if (!object_ok(val)) return {};

  // favorites
  if (s0 == "favorite" || s0 == "favourite") {
    if (k == 2) return {};
    bool interest = false;
    static const word_set& ints = lexicon::words("my_rule.ints");
    for (auto* x : subj) interest |= ints.count(x->low) > 0;
    if (word_count(val) > 8) return {};
    return make(subj_text + " " + verb + " " + render(val, c),
                interest ? "interests" : "preferences");
  }
  if (k == 2 && s0 == "name" && verb == "is") {
    if (word_count(val) > 3) return {};
    std::vector<bool> cap(val.size(), true);
    return make("name is " + render(val, c, &cap), "other");
  }
  // "my wife's name is anna"; "my dogs name is max" -> "Has a dog named Max"
  const bool apostrophe = s0.size() > 2 && s0.compare(s0.size() - 2, 2, "'s") == 0;
  const bool bare_s = !apostrophe && s0.size() > 3 && s0.back() == 's' &&
                      (has(pet_words(), s0.substr(0, s0.size() - 1)) ||
                       has(family_words(), s0.substr(0, s0.size() - 1)));
  if (k == 3 && t[2].low == "name" && verb == "is" && (apostrophe || bare_s)) {
    if (word_count(val) > 3) return {};
    std::vector<bool> cap(val.size(), true);
    const std::string rel = s0.substr(0, s0.size() - (apostrophe ? 2 : 1));
    if (has(pet_words(), rel)) {
      return make("has a " + rel + " named " + render(val, c, &cap), "relationships");
    }
    if (bare_s) subj_text = rel + "'s name";
    std::string cat = has(family_words(), rel) ? "relationships" : "other";
    if (!has(family_words(), rel) && !has(pet_words(), rel)) return {};
    return make(subj_text + " is " + render(val, c, &cap), cat);
  }
  const std::string& head = t[k - 1].low;  // the noun: "my older sister" -> sister
  if (has(family_words(), head) || has(pet_words(), head)) {
    if (head == "friend" || head == "friends") return {};
    if (head == "family" && val0 != "from" && val0 != "in") return {};
    static const word_set& ok = lexicon::words("my_rule.ok");
    if (!ok.count(val0) && !all_digits(val0)) return {};
    if ((val0 == "a" || val0 == "an") &&
        (val1 == "little" || val1 == "bit" || val1 == "lot" || val1 == "pain" || val1 == "mess"))
      return {};
    if (all_digits(val0) || has(number_words(), val0)) {
      // ages: "my son is 5" ok, "my kids are 5 and 7" ok
    }
    std::string cat = has(pet_words(), head) ? "other" : "relationships";
    return make(subj_text + " " + verb + " " + render(val, c), cat);
  }
  static const std::unordered_map<std::string_view, std::string_view>& others = lexicon::pairs("my_rule.others");
  auto it = others.find(head);
  if (it == others.end() || k > 3) return {};
  if ((head == "job" || head == "career" || head == "occupation" || head == "profession") &&
      !(val0 == "a" || val0 == "an" || val0 == "in" || val0 == "at" || val0 == "with" ||
        val0 == "being" || val0 == "teaching" || val0 == "working" || val0 == "nursing"))
    return {};
  if ((head == "dream" || head == "goal") &&
      !(val0 == "to" || val0 == "a" || val0 == "an" || val0 == "being"))
    return {};
  if ((head == "hair" || head == "eyes") && word_count(val) > 3) return {};
  std::vector<bool> cap;
  if (head == "hometown" || head == "nickname") cap.assign(val.size(), true);
  return make(subj_text + " " + verb + " " + render(val, c, cap.empty() ? nullptr : &cap),
              std::string(it->second));
}

}  // namespace memoryd::rules
