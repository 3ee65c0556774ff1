// Internals of the rule extractor (extract/rules.hpp), shared by the files of extract/rules/:
// tokenizer, clause splitter, object cutter, and one file per rule family. Not a public API.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "extract/rules.hpp"
#include "extract/rules/lexicon.hpp"

namespace memoryd::rules {

struct token {
  std::string low;   // lower-cased
  std::string orig;  // as typed
  char punct = 0;    // '.', '?', '!', ',' for punctuation tokens; 0 for words
};

using tokens = std::vector<token>;

struct clause {
  tokens toks;
  bool skip = false;   // question, subordinate or hypothetical
  bool coord = false;  // split off the previous clause at "and <verb>": "i" was supplied
};

struct ctx {
  bool all_lower = false;  // the message had no capitals: proper nouns must be guessed
  bool additive = false;   // "also", "too", "as well": the fact adds, it does not replace
};

using span = std::vector<const token*>;

constexpr std::size_t max_object_words = 12;

struct rule_result {
  bool ok = false;
  extracted_fact f;
};

inline bool is_word(const token& t) { return t.punct == 0; }

// words.cpp: the lexicon's word classes
const word_set& occupation_words();
const word_set& job_words();
const word_set& family_words();
const word_set& pet_words();
const word_set& health_words();
const word_set& hobby_words();
const word_set& relationship_status_words();
const word_set& diet_words();
const word_set& number_words();
const word_set& nationality_words();
const std::unordered_map<std::string_view, std::string_view>& am_adjectives();
const std::unordered_map<std::string_view, word_set>& adjective_preps();
const std::unordered_map<std::string_view, std::string_view>& habit_verbs();
const word_set& mental_verbs();
const word_set& intransitive_habits();
bool is_gerund(std::string_view w);
const word_set& object_pronouns();

// tokenizer.cpp
std::string lower(std::string_view s);
bool all_digits(std::string_view s);
std::string clean_utf8(std::string_view in);
const std::unordered_map<std::string_view, std::vector<std::string_view>>& expansions();
bool is_contraction_tail(std::string_view s);
tokens tokenize(std::string_view message);

// clauses.cpp: sentences and clauses
const word_set& clause_starters();
const word_set& subordinators();
const word_set& lead_fillers();
bool is_temporary(const tokens& t);
bool coordinated_verb(std::string_view w);
const word_set& modal_words();
bool verb_not_noun(const tokens& all, std::size_t i, std::size_t end);
bool user_clause_without_negation(const tokens& t);
std::vector<clause> split_clauses(const tokens& all);

// objects.cpp: the object cutter and rendering
const word_set& cut_words();
const word_set& pronoun_after_conj();
const word_set& trailing_drop();
bool is_finite_verb(const std::string& w);
bool starts_statement(const tokens& t, std::size_t i);
void drop_time_ago(span& o);
bool drop_when_unit(std::string_view w);
bool drop_when(span& o);
const word_set& dangling_words();
bool incomplete_after_trim(const span& o);
span object_span(const tokens& t, std::size_t b);
std::size_t word_count(const span& o);
void capitalize_first(std::string& s);
std::string third_person(const token& t);
const word_set& place_stop();
const word_set& name_stop();
std::vector<bool> guess_place(const span& o, std::size_t from);
std::string render(const span& o, const ctx& c, const std::vector<bool>* cap = nullptr);
std::string classify(const span& o, std::string_view dflt);

// rule_support.cpp: shared by the rule families
rule_result make(std::string text, std::string category);
bool content_free(const std::string& w);
bool object_ok(const span& o, std::size_t max_words = max_object_words);
std::string conjugate(std::string_view v);
bool is_participle(std::string_view w);
const word_set& activities_alone();
const word_set& activities_with_object();
std::string activity_category(std::string_view g);
bool takes_classes(const tokens& t, std::size_t p);
bool activity_with_object(const tokens& t, std::size_t p);

// have.cpp
rule_result have_rule(const tokens& t, std::size_t p, bool neg, const ctx& c);

// likes.cpp
rule_result pref_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                      const std::string& adv, const ctx& c);

// work_place.cpp
rule_result work_rule(const tokens& t, std::size_t p, bool neg, const ctx& c);
rule_result live_rule(const tokens& t, std::size_t p, const ctx& c);
rule_result moved_rule(const tokens& t, std::size_t p, const ctx& c);

// am.cpp
rule_result am_rule(const tokens& t, std::size_t p, const ctx& c);

// habits.cpp
rule_result habit_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                       const std::string& adv, const ctx& c);
const word_set& verb_fillers();
const word_set& freq_adverbs();

// events.cpp
rule_result life_event_rule(const tokens& t, std::size_t p, bool recent, const ctx& c);
rule_result been_doing_rule(const tokens& t, std::size_t p, const ctx& c);
rule_result used_to_rule(const tokens& t, std::size_t p, const ctx& c);

// verbs.cpp: the verb table
rule_result i_rule(const tokens& t, ctx& c);

// my.cpp
rule_result my_rule(const tokens& t, const ctx& c);

// mentions.cpp
rule_result we_rule(const tokens& t, const ctx& c);
extracted_fact finish(rule_result r, const ctx& c);
std::vector<std::string> norm_words(std::string_view text);
void canonical_favorite(tokens& t);
const word_set& implied_nouns();
std::string singular_of(std::string_view w);
bool names_noun(std::string_view fact_text, std::string_view singular);
void implied_relations(const tokens& t, const ctx& c, std::vector<extracted_fact>& out);

// plans.cpp: wishes, plans and experiences
rule_result plan_rule(const tokens& t, std::size_t q, const std::string& head, const ctx& c);
rule_result wish_rule(const tokens& t, std::size_t p, const ctx& c);
rule_result never_done_rule(const tokens& t, std::size_t p, const ctx& c);
rule_result was_a_rule(const tokens& t, std::size_t p, const ctx& c);

}  // namespace memoryd::rules
