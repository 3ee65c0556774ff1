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

const word_set& occupation_words() {
  static const word_set& s = lexicon::words("occupation_words");
  return s;
}

const word_set& job_words() {
  static const word_set& s = lexicon::words("job_words");
  return s;
}

const word_set& family_words() {
  static const word_set& s = lexicon::words("family_words");
  return s;
}

const word_set& pet_words() {
  static const word_set& s = lexicon::words("pet_words");
  return s;
}

const word_set& health_words() {
  static const word_set& s = lexicon::words("health_words");
  return s;
}

const word_set& hobby_words() {
  static const word_set& s = lexicon::words("hobby_words");
  return s;
}

const word_set& relationship_status_words() {
  static const word_set& s = lexicon::words("relationship_status_words");
  return s;
}

const word_set& diet_words() {
  static const word_set& s = lexicon::words("diet_words");
  return s;
}

const word_set& number_words() {
  static const word_set& s = lexicon::words("number_words");
  return s;
}

const word_set& nationality_words() {
  static const word_set& s = lexicon::words("nationality_words");
  return s;
}

// "i am X" with a bare adjective: only these (everything else is too often a passing state).
const std::unordered_map<std::string_view, std::string_view>& am_adjectives() {
  static const std::unordered_map<std::string_view, std::string_view>& m = lexicon::pairs("am_adjectives");
  return m;
}

// Adjectives that need a complement ("afraid of X", "good at X").
const std::unordered_map<std::string_view, word_set>& adjective_preps() {
  static const std::unordered_map<std::string_view, word_set>& m = lexicon::sets("adjective_preps");
  return m;
}

// Present-tense verbs of habits and lasting activities: "i play guitar" -> "Plays guitar".
const std::unordered_map<std::string_view, std::string_view>& habit_verbs() {
  static const std::unordered_map<std::string_view, std::string_view>& m = lexicon::pairs("habit_verbs");
  return m;
}

// Verbs of thinking and talking: "i think", "i hope", "i do know" state no lasting fact.
const word_set& mental_verbs() {
  static const word_set& s = lexicon::words("mental_verbs");
  return s;
}

// Habit verbs that make a fact without an object: "i smoke", "i don't drink".
const word_set& intransitive_habits() {
  static const word_set& s = lexicon::words("intransitive_habits");
  return s;
}

// "hiking", "working": a verb's -ing form (not "something", "morning", "spring").
bool is_gerund(std::string_view w) {
  static const word_set& nouns = lexicon::words("is_gerund.nouns");
  return w.size() > 4 && w.compare(w.size() - 3, 3, "ing") == 0 && !has(nouns, w);
}

// Words that cannot start an object of their own: pronouns, question words, auxiliaries.
const word_set& object_pronouns() {
  static const word_set& s = lexicon::words("object_pronouns");
  return s;
}

// Tokens.

}  // namespace memoryd::rules
