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

const word_set& cut_words() {
  static const word_set& s = lexicon::words("cut_words");
  return s;
}

const word_set& pronoun_after_conj() {
  static const word_set& s = lexicon::words("pronoun_after_conj");
  return s;
}

const word_set& trailing_drop() {
  static const word_set& s = lexicon::words("trailing_drop");
  return s;
}

// A verb that shows a new subject has started a statement of its own.
bool is_finite_verb(const std::string& w) {
  static const word_set& s = lexicon::words("is_finite_verb");
  return has(s, w);
}

// "pizza, pizza is good", "a small girl it shows their powers": a subject followed by a
// finite verb begins the next thought, inside an object the clause splitter let through.
bool starts_statement(const tokens& t, std::size_t i) {
  if (i + 1 >= t.size() || !is_word(t[i + 1]) || !is_finite_verb(t[i + 1].low)) return false;
  static const word_set& subjects = lexicon::words("starts_statement.subjects");
  return has(subjects, t[i].low) || (i > 0 && t[i - 1].punct == ',');
}

// Removes a trailing "<how long> ago": the fact is what happened, not when.
void drop_time_ago(span& o) {
  auto back_in = [&](const word_set& s) { return !o.empty() && has(s, o.back()->low); };
  static const word_set& long_words = lexicon::words("drop_time_ago.long_words");
  static const word_set& units = lexicon::words("drop_time_ago.units");
  static const word_set& numbers = lexicon::words("drop_time_ago.numbers");
  static const word_set& vague = lexicon::words("drop_time_ago.vague");
  static const word_set& qualifiers = lexicon::words("drop_time_ago.qualifiers");
  o.pop_back();  // "ago"
  if (back_in({"long"})) {
    o.pop_back();
    while (back_in(long_words)) o.pop_back();
    return;
  }
  if (!back_in(units)) return;
  o.pop_back();
  if (back_in(numbers) ||
      (!o.empty() && std::isdigit(static_cast<unsigned char>(o.back()->low[0]))))
    o.pop_back();  // one count only: "their new one two days ago" keeps "one"
  else
    while (back_in(vague)) o.pop_back();
  while (back_in(qualifiers)) o.pop_back();
}

// A time that "last", "this" or "on" can name: "last week", "on Friday", "this season".
bool drop_when_unit(std::string_view w) {
  static const word_set& units = lexicon::words("drop_when_unit.units");
  return has(units, w);
}

// Removes a trailing "last week", "last Friday", "on Friday", "this past weekend": the fact is
// what happened, not when. True if something was removed.
bool drop_when(span& o) {
  static const word_set& days = lexicon::words("drop_when.days");
  if (o.size() < 3 || !drop_when_unit(o.back()->low)) return false;
  const std::string& p = o[o.size() - 2]->low;
  std::size_t n = 0;
  if (p == "last" || p == "past") n = 2;
  if (p == "on" && has(days, o.back()->low)) n = 2;
  if (n == 2 && o.size() >= 4 && (o[o.size() - 3]->low == "this" || o[o.size() - 3]->low == "the"))
    n = 3;  // "this past weekend", "the last year"
  if (n == 0 || o.size() <= n + 1) return false;
  o.resize(o.size() - n);
  return true;
}

// Words whose removal from the end leaves an object missing its own object: "to take it all
// in", "more about it", "going there". Such an object refers to something said before; the
// fact would be unreadable without it, so the rule gives no fact.
const word_set& dangling_words() {
  static const word_set& s = lexicon::words("dangling_words");
  return s;
}

// After a trailing "<preposition> <pronoun>" was trimmed, is what is left still complete?
// "listen to classical music [on it]" is; "love working [on them]", "like to shop [in
// them]", "am allergic [to them]", "have four [of them]" are not.
bool incomplete_after_trim(const span& o) {
  if (o.empty()) return true;
  const std::string& last = o.back()->low;
  if (is_gerund(last)) return true;
  if (o.size() >= 2 && o[o.size() - 2]->low == "to") return true;
  if (adjective_preps().count(last) || am_adjectives().count(last)) return true;
  if (o.size() == 1 && (all_digits(last) || has(number_words(), last))) return true;
  static const word_set& open_ends = lexicon::words("incomplete_after_trim.open_ends");
  return has(open_ends, last);
}

// The object span: tokens [b, t.size()) cut at the start of the next thought and trimmed.
// An object that was left dangling by the trim comes back empty.
span object_span(const tokens& t, std::size_t b) {
  span o;
  auto capitalized = [](const token& x) {
    return is_word(x) && !x.orig.empty() && x.orig[0] >= 'A' && x.orig[0] <= 'Z';
  };
  for (std::size_t i = b; i < t.size(); ++i) {
    const token& x = t[i];
    // a name addressed at the end: "love the quote, Sam" (but "Paris, France" stays)
    if (!o.empty() && x.punct == ',' && i + 1 < t.size() && capitalized(t[i + 1]) &&
        (i + 2 >= t.size() || !is_word(t[i + 2])) && !capitalized(*o.back()))
      break;
    // "to be honest", "tbh", "in fact": a comment on the statement, not part of it
    if (!o.empty() &&
        ((x.low == "to" && i + 2 < t.size() && t[i + 1].low == "be" && t[i + 2].low == "honest") ||
         (x.low == "in" && i + 1 < t.size() && t[i + 1].low == "fact") || x.low == "tbh" ||
         x.low == "imo" || x.low == "honestly"))
      break;
    if (!o.empty() && is_word(x)) {
      if (has(cut_words(), x.low) || starts_statement(t, i)) {
        // "a cooking class to learn [how ...]": the purpose lost its object
        if (o.size() >= 3 && o[o.size() - 2]->low == "to" &&
            !has(object_pronouns(), o.back()->low) &&
            !adjective_preps().count(o[o.size() - 3]->low) &&
            !am_adjectives().count(o[o.size() - 3]->low))
          o.resize(o.size() - 2);
        break;
      }
      if ((x.low == "and" || x.low == "so" || x.low == "or" || x.low == "but") &&
          i + 1 < t.size() && has(pronoun_after_conj(), t[i + 1].low))
        break;
      if (x.low == "which" ||
          (x.low == "that" && i + 1 < t.size() && (t[i + 1].low == "is" || t[i + 1].low == "was")))
        break;
    }
    if (o.empty() && !is_word(x)) continue;
    o.push_back(&x);
  }
  // trailing fillers and dangling function words
  bool dangling = false;
  bool of_complement = false;
  while (!o.empty()) {
    const token& x = *o.back();
    if (!is_word(x) || has(trailing_drop(), x.low)) {
      dangling |= has(dangling_words(), x.low);
      of_complement |= x.low == "of";  // "a big fan of [those]", "part of [it]"
      o.pop_back();
      continue;
    }
    if (x.low == "lot" && o.size() >= 2 && o[o.size() - 2]->low == "a") {
      o.resize(o.size() - 2);
      continue;
    }
    if (x.low == "ago") {  // "two days ago", "about three months ago", "not too long ago"
      drop_time_ago(o);
      continue;
    }
    if (drop_when(o)) continue;  // "last week", "on Friday"
    break;
  }
  if (dangling && (of_complement || incomplete_after_trim(o))) o.clear();
  return o;
}

std::size_t word_count(const span& o) {
  std::size_t n = 0;
  for (auto* t : o)
    if (is_word(*t)) ++n;
  return n;
}

void capitalize_first(std::string& s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
}

std::string third_person(const token& t) {
  const std::string& w = t.low;
  if (w == "my" || w == "our") return "their";
  if (w == "me" || w == "us") return "them";
  if (w == "myself" || w == "ourselves") return "themselves";
  if (w == "mine" || w == "ours") return "theirs";
  if (w == "i") return "they";
  return t.orig;
}

const word_set& place_stop() {
  static const word_set& s = lexicon::words("place_stop");
  return s;
}

const word_set& name_stop() {
  static const word_set& s = lexicon::words("name_stop");
  return s;
}

// Words to capitalize as a guessed proper noun (lower-case input only).
std::vector<bool> guess_place(const span& o, std::size_t from) {
  std::vector<bool> cap(o.size(), false);
  if (from >= o.size()) return cap;
  if (has(place_stop(), o[from]->low)) return cap;
  for (std::size_t i = from; i < o.size(); ++i) {
    if (!is_word(*o[i]) || has(name_stop(), o[i]->low) || all_digits(o[i]->low)) break;
    cap[i] = true;
  }
  // "new york city" yes, "new jersey" yes; but a guessed run longer than 3 words is prose
  std::size_t n = 0;
  for (bool b : cap) n += b;
  if (n > 3) std::fill(cap.begin(), cap.end(), false);
  return cap;
}

std::string render(const span& o, const ctx& c, const std::vector<bool>* cap) {
  std::string out;
  for (std::size_t i = 0; i < o.size(); ++i) {
    const token& t = *o[i];
    if (t.punct == ',') {
      out += ',';
      continue;
    }
    if (!is_word(t)) continue;
    // "the us" is the country, not the pronoun
    std::string w =
        (t.low == "us" && i > 0 && o[i - 1]->low == "the") ? std::string("US") : third_person(t);
    const bool after_name = i > 0 && (o[i - 1]->low == "named" || o[i - 1]->low == "called");
    if (c.all_lower && ((cap && (*cap)[i]) || after_name || has(nationality_words(), t.low)))
      capitalize_first(w);
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string classify(const span& o, std::string_view dflt) {
  if (dflt == "location" || dflt == "health" || dflt == "work") return std::string(dflt);
  bool health = false, family = false, work = false, hobby = false;
  for (auto* t : o) {
    const std::string& w = t->low;
    health |= has(health_words(), w);
    family |= has(family_words(), w);
    work |= has(occupation_words(), w) || has(job_words(), w);
    hobby |= has(hobby_words(), w);
  }
  if (health && dflt != "interests") return "health";
  if (family) return "relationships";
  if (work) return "work";
  if (hobby && dflt != "relationships") return "interests";
  return std::string(dflt);
}

// Rules.

}  // namespace memoryd::rules
