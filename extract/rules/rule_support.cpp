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

rule_result make(std::string text, std::string category) {
  rule_result r;
  if (text.empty()) return r;
  capitalize_first(text);
  r.ok = true;
  r.f.text = std::move(text);
  r.f.category = std::move(category);
  return r;
}

// Words that carry no content of their own: an object made only of these ("with
// regularly", "everywhere", "after") says nothing.
bool content_free(const std::string& w) {
  static const word_set& s = lexicon::words("content_free");
  return has(s, w) || has(trailing_drop(), w);
}

bool object_ok(const span& o, std::size_t max_words) {
  const std::size_t n = word_count(o);
  if (n < 1 || n > max_words) return false;
  if (is_finite_verb(o.front()->low)) return false;  // "love makes writing fun"
  const std::string& first = o.front()->low;
  // "a book i read last year reminds me": a relative clause, its object came before "i"
  if ((first == "last" || first == "this" || first == "next") && o.size() > 1 &&
      drop_when_unit(o[1]->low))
    return false;
  // "obsessed with the way [they create ...]": the rest was cut
  if (o.size() >= 2 && o.back()->low == "way" && o[o.size() - 2]->low == "the") return false;
  // "love seeing them eat fruit", "a big fan of those": about something said before
  static const word_set& anaphora = lexicon::words("object_ok.anaphora");
  for (std::size_t i = 0; i < o.size(); ++i) {
    const bool it_job =
        o[i]->low == "it" && i > 0 && (o[i - 1]->low == "in" || o[i - 1]->low == "the");
    if (has(anaphora, o[i]->low) && !it_job) return false;  // "works in it": IT
  }
  for (auto* x : o)
    if (is_word(*x) && !content_free(x->low)) return true;
  return false;
}

std::string conjugate(std::string_view v) {
  std::string s(v);
  if (s == "have") return "has";
  if (s == "do") return "does";
  if (s == "go") return "goes";
  if (s.size() >= 2) {
    const char a = s[s.size() - 2], b = s.back();
    if (b == 'y' && a != 'a' && a != 'e' && a != 'o' && a != 'u') {
      s.pop_back();
      return s + "ies";
    }
    if (b == 's' || b == 'x' || b == 'z' || (a == 's' && b == 'h') || (a == 'c' && b == 'h'))
      return s + "es";
  }
  return s + "s";
}

bool is_participle(std::string_view w) {
  static const word_set& irregular = lexicon::words("is_participle.irregular");
  if (has(irregular, w)) return true;
  static const word_set& ed_nouns = lexicon::words("is_participle.ed_nouns");
  return w.size() >= 4 && w.substr(w.size() - 2) == "ed" && !has(ed_nouns, w);
}

// Activities that mean something without an object: "i've been surfing", "started knitting".
const word_set& activities_alone() {
  static const word_set& s = lexicon::words("activities_alone");
  return s;
}

// Activities that say something only with an object: "i've been teaching [my siblings
// coding]", not "i've been playing [for a month]".
const word_set& activities_with_object() {
  static const word_set& s = lexicon::words("activities_with_object");
  return s;
}

// The category an activity gives when its object does not decide: mostly interests.
std::string activity_category(std::string_view g) {
  static const std::unordered_map<std::string_view, std::string_view>& m = lexicon::pairs("activity_category");
  auto it = m.find(g);
  return it == m.end() ? "interests" : std::string(it->second);
}

// "taking pottery classes", "taking a course in French": classes within three words.
bool takes_classes(const tokens& t, std::size_t p) {
  for (std::size_t q = p + 1; q < t.size() && q <= p + 3; ++q)
    if (t[q].low == "class" || t[q].low == "classes" || t[q].low == "lessons" ||
        t[q].low == "course" || t[q].low == "courses")
      return true;
  return false;
}

// The gerund at t[p] has a real object after it, or needs none.
bool activity_with_object(const tokens& t, std::size_t p) {
  if (has(activities_alone(), t[p].low)) return true;
  if (p + 1 >= t.size() || !is_word(t[p + 1])) return false;
  const std::string& w = t[p + 1].low;
  // "a lot", "a bit", "a while" measure; "a new language" is an object
  if (w == "a" && p + 2 < t.size() &&
      (t[p + 2].low == "lot" || t[p + 2].low == "bit" || t[p + 2].low == "while" ||
       t[p + 2].low == "little" || t[p + 2].low == "few"))
    return false;
  static const word_set& no_object = lexicon::words("activity_with_object.no_object");
  return !has(no_object, w);
}

}  // namespace memoryd::rules
