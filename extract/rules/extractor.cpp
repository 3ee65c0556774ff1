// The rule extractor's entry points: extract_facts, slot_of, rule_extractor.
#include "extract/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/fact_text.hpp"
#include "extract/rules/internal.hpp"

namespace memoryd {

using namespace rules;

std::vector<extracted_fact> extract_facts(std::string_view message) {
  std::vector<extracted_fact> out;
  if (message.empty()) return out;
  ctx base;
  base.all_lower = true;
  for (char ch : message)
    if (ch >= 'A' && ch <= 'Z') {
      base.all_lower = false;
      break;
    }
  const tokens toks = tokenize(message);
  for (clause& cl : split_clauses(toks)) {
    if (cl.skip) continue;
    tokens& t = cl.toks;
    // leading discourse markers
    std::size_t b = 0;
    while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) {
      // "me too i have" / "me neither"
      ++b;
    }
    if (b + 1 < t.size() && t[b].low == "me" &&
        (t[b + 1].low == "too" || t[b + 1].low == "neither" || t[b + 1].low == "either"))
      b += 2;
    while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) ++b;
    if (b >= t.size()) continue;
    const token t0_before = b > 0 ? t[b - 1] : token{};
    if (b > 0) t.erase(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(b));
    if (t.size() < 2) continue;
    if (is_temporary(t)) continue;
    ctx c = base;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i].low == "too" && i + 1 == t.size()) c.additive = true;
      if (t[i].low == "as" && i + 1 < t.size() && t[i + 1].low == "well") c.additive = true;
    }
    // dropped subject: "dont like crowds", "love hiking", "just moved to Boston"; but not a
    // noun ("nice work, Maria", "so much love everywhere"), an imperative ("enjoy yourself")
    // or a reaction to what the other side showed ("love the colors", "love that")
    static const word_set& dropped = lexicon::words("extract_facts.dropped");
    static const word_set& praise = lexicon::words("extract_facts.praise");
    static const word_set& pointing = lexicon::words("extract_facts.pointing");
    const bool noun_use = b > 0 && is_word(t0_before) && has(praise, t0_before.low);
    if ((has(dropped, t[0].low) && is_word(t[1]) && !noun_use && !has(pointing, t[1].low)) ||
        (t[0].low == "do" && t[1].low == "not") || (t[0].low == "just" && t[1].low == "moved"))
      t.insert(t.begin(), token{"i", "i", 0});
    canonical_favorite(t);
    rule_result r;
    if (t[0].low == "i")
      r = i_rule(t, c);
    else if (t[0].low == "my")
      r = my_rule(t, c);
    else if (t[0].low == "we")
      r = we_rule(t, c);
    if (!r.ok) continue;
    extracted_fact f = finish(std::move(r), c);
    const std::string key = normalize_fact_text(f.text);
    if (key.empty()) continue;
    bool dup = false;
    for (const auto& e : out) dup |= normalize_fact_text(e.text) == key;
    if (!dup) out.push_back(std::move(f));
  }
  implied_relations(toks, base, out);
  return out;
}

std::string slot_of(std::string_view fact_text) {
  const std::vector<std::string> w = norm_words(fact_text);
  if (w.size() < 2) return {};
  auto at = [&](std::size_t i) -> const std::string& {
    static const std::string empty;
    return i < w.size() ? w[i] : empty;
  };
  const std::string& a = w[0];
  const std::string& b = w[1];
  if (a == "lives") {
    static const word_set& where = lexicon::words("slot_of.where");
    if (has(where, b)) return "location";
    return {};
  }
  if (a == "works") {
    if (b == "as") return "occupation";
    if (b == "at" || b == "for") return "employer";
    return {};
  }
  if (a == "name" && b == "is") return "name";
  if (a == "birthday" && b == "is") return "birthday";
  if (a == "major" && b == "is") return "major";
  if ((a == "job" || a == "occupation" || a == "profession") && b == "is") return "occupation";
  if (a == "favorite" || a == "favourite") {
    std::string slot = "favorite";
    for (std::size_t i = 1; i < w.size() && i < 5; ++i) {
      if (w[i] == "is" || w[i] == "are") return i > 1 ? slot : std::string();
      slot += "_" + w[i];
    }
    return {};
  }
  if (at(1) == "s" && at(2) == "name" && at(3) == "is") {
    static const word_set& single = lexicon::words("slot_of.single");
    if (has(single, a)) return a + "_name";
    return {};
  }
  if (a == "is") {
    std::size_t i = 1;
    if (at(i) == "originally" || at(i) == "currently" || at(i) == "now") ++i;
    const std::string& x = at(i);
    if (x == "from") return "hometown";
    if (has(relationship_status_words(), x)) return "relationship_status";
    if (x == "in" && at(i + 1) == "a" && at(i + 2) == "relationship") return "relationship_status";
    if (has(diet_words(), x) && w.size() <= i + 2) return "diet";
    if ((x == "a" || x == "an") && has(diet_words(), at(i + 1)) && w.size() == i + 2) return "diet";
    if (x == "retired" || x == "unemployed") return "occupation";
    // age: "is 25 years old", "is twenty five years old"
    if (w.size() >= 4 && w[w.size() - 2] == "years" && w.back() == "old") {
      bool num = true;
      for (std::size_t j = i; j + 2 < w.size(); ++j)
        num &= all_digits(w[j]) || has(number_words(), w[j]);
      if (num && w.size() - 2 > i) return "age";
    }
    if ((x == "a" || x == "an") && w.size() <= i + 5) {
      bool occ = false, other = false;
      for (std::size_t j = i + 1; j < w.size(); ++j) {
        occ |= has(occupation_words(), w[j]);
        other |= w[j] == "fan" || w[j] == "of" || w[j] == "and" || w[j] == "who" ||
                 w[j] == "former" || w[j] == "retired" || w[j] == "part" || w[j] == "aspiring" ||
                 w[j] == "future" || has(family_words(), w[j]) || w[j] == "boss" ||
                 w[j] == "owner" || w[j] == "graduate" || w[j] == "host";
      }
      if (occ && !other) return "occupation";
    }
  }
  return {};
}

extraction_output rule_extractor::extract(const extraction_input& in) {
  extraction_output out;
  struct entry {
    std::string norm;
    std::string slot;
    std::string fact_id;  // a given fact
    int op = -1;          // or the op (add or update) that holds it now
  };
  std::vector<entry> state;
  state.reserve(in.facts.size() + in.messages.size());
  for (const fact& f : in.facts)
    state.push_back({normalize_fact_text(f.text), slot_of(f.text), f.id, -1});
  for (const extraction_message& m : in.messages) {
    for (extracted_fact& ef : extract_facts(m.content)) {
      const std::string n = normalize_fact_text(ef.text);
      if (n.empty()) continue;
      bool known = false;
      for (const entry& e : state) known |= e.norm == n;
      if (!ef.implied_noun.empty())  // "Has a wife" adds nothing to "Wife's name is Anna"
        for (const entry& e : state) known |= names_noun(e.norm, ef.implied_noun);
      if (known) continue;
      entry* holder = nullptr;
      if (!ef.slot.empty())
        for (entry& e : state)
          if (e.slot == ef.slot) {
            holder = &e;
            break;
          }
      if (holder != nullptr && holder->op >= 0) {
        fact_op& op = out.ops[static_cast<std::size_t>(holder->op)];
        op.text = ef.text;
        op.category = ef.category;
        op.observed_at = m.created_at;
        op.source_ids = {m.id};
        holder->norm = n;
        continue;
      }
      fact_op op;
      op.text = ef.text;
      op.category = ef.category;
      op.observed_at = m.created_at;
      op.source_ids = {m.id};
      if (holder != nullptr) {
        op.kind = "update";
        op.fact_id = holder->fact_id;
        holder->norm = n;
        holder->op = static_cast<int>(out.ops.size());
        out.ops.push_back(std::move(op));
        continue;
      }
      op.kind = "add";
      state.push_back({n, ef.slot, {}, static_cast<int>(out.ops.size())});
      out.ops.push_back(std::move(op));
    }
  }
  return out;
}

}  // namespace memoryd
