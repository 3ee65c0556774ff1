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

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Replaces the non-ASCII punctuation that matters (curly apostrophes, quotes, dashes,
// ellipsis, emoji) with ASCII; keeps other UTF-8 (accented letters) as word bytes.
std::string clean_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (i + len > in.size()) len = in.size() - i;
    const std::string_view seq = in.substr(i, len);
    i += len;
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(seq[1]) == 0x80) {
      const auto d = static_cast<unsigned char>(seq[2]);
      if (d == 0x98 || d == 0x99)
        out += '\'';
      else if (d == 0xA6)
        out += '.';
      else if (d == 0x93 || d == 0x94)
        out += ',';
      else
        out += ' ';
    } else if (len == 4 || c == 0xE2 || c == 0xEF) {
      out += " , ";  // emoji and symbols: a soft break
    } else if (len == 2 && c == 0xC2) {
      out += ' ';  // nbsp, inverted marks
    } else if (len == 1) {
      out += ' ';  // stray continuation byte
    } else {
      out += seq;
    }
  }
  return out;
}

const std::unordered_map<std::string_view, std::vector<std::string_view>>& expansions() {
  static const std::unordered_map<std::string_view, std::vector<std::string_view>>& m = lexicon::lists("expansions");
  return m;
}

// `word` is a capitalized abbreviation that stands before a name ("Dr", not "the dr. My")
// and `text` continues at `from` with spaces and a capital letter.
bool before_name(const std::string& word, const std::string& text, std::size_t from) {
  static const word_set& abbreviations = lexicon::words("name_abbreviations");
  if (word.empty() || word.size() > 4 || !std::isupper(static_cast<unsigned char>(word[0])))
    return false;
  if (!has(abbreviations, lower(word))) return false;
  std::size_t i = from;
  while (i < text.size() && text[i] == ' ') ++i;
  return i > from && i < text.size() && std::isupper(static_cast<unsigned char>(text[i]));
}

bool is_contraction_tail(std::string_view s) {
  return s == "m" || s == "s" || s == "re" || s == "ve" || s == "ll" || s == "d" || s == "t";
}

tokens tokenize(std::string_view message) {
  const std::string text = clean_utf8(message);
  // 1. raw words and punctuation
  struct raw {
    std::string s;
    char punct;
  };
  std::vector<raw> rs;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) rs.push_back({std::move(cur), 0});
    cur.clear();
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isalnum(c) || c >= 0x80 || c == '\'' || c == '-') {
      cur += static_cast<char>(c);
    } else if (c == '.' && !cur.empty() && std::isdigit(static_cast<unsigned char>(cur.back())) &&
               i + 1 < n && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      cur += '.';
    } else if (c == '.' && before_name(cur, text, i + 1)) {
      cur += '.';  // "Mt. Everest": part of the name, not the end of the sentence
    } else if (c == '.' || c == '!' || c == '?' || c == ';') {
      flush();
      const char p = c == ';' ? '.' : static_cast<char>(c);
      if (!rs.empty() && rs.back().punct != 0 && rs.back().punct != ',') {
        if (p == '?') rs.back().punct = '?';
      } else {
        rs.push_back({std::string(1, p), p});
      }
    } else if (c == ',' || c == ':' || c == '(' || c == ')') {
      flush();
      if (rs.empty() || rs.back().punct == 0) rs.push_back({",", ','});
    } else {
      flush();
    }
  }
  flush();

  // 2. join split contractions ("i 'm", "i ' m", "do n't"), trim quotes and dashes
  std::vector<raw> ws;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    raw& r = rs[i];
    if (r.punct != 0) {
      ws.push_back(std::move(r));
      continue;
    }
    const bool prev_word = !ws.empty() && ws.back().punct == 0;
    if (r.s == "'" || r.s == "''") {
      if (prev_word && i + 1 < rs.size() && rs[i + 1].punct == 0 &&
          is_contraction_tail(lower(rs[i + 1].s))) {
        ws.back().s += "'" + rs[i + 1].s;
        ++i;
      }
      continue;
    }
    if (prev_word && r.s.size() > 1 && r.s[0] == '\'' &&
        is_contraction_tail(lower(std::string_view(r.s).substr(1)))) {
      ws.back().s += r.s;
      continue;
    }
    if (prev_word && r.s.size() <= 2) {  // apostrophe lost: "i m", "i ve", "don t"
      const std::string lo = lower(r.s), prev = lower(ws.back().s);
      if ((prev == "i" && (lo == "m" || lo == "ve" || lo == "ll" || lo == "d")) ||
          (lo == "t" && prev.size() > 2 && prev.back() == 'n')) {
        ws.back().s += "'" + r.s;
        continue;
      }
    }
    if (prev_word && r.s.size() == 3 && lower(r.s) == "n't") {
      ws.back().s += r.s;
      continue;
    }
    ws.push_back(std::move(r));
  }

  tokens out;
  out.reserve(ws.size() + 4);
  for (auto& w : ws) {
    if (w.punct != 0) {
      out.push_back({w.s, w.s, w.punct});
      continue;
    }
    // a dash between spaces ends a thought: "a project - challenging but fun"
    if (w.s.find_first_not_of('-') == std::string::npos) {
      if (!out.empty() && out.back().punct == 0) out.push_back({".", ".", '.'});
      continue;
    }
    std::string s = w.s;
    while (!s.empty() && (s.back() == '\'' || s.back() == '-')) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && (s[b] == '\'' || s[b] == '-')) ++b;
    s.erase(0, b);
    if (s.empty()) continue;
    std::string lo = lower(s);
    const auto& ex = expansions();
    auto it = ex.find(lo);
    if (it != ex.end()) {
      for (std::size_t k = 0; k < it->second.size(); ++k) {
        std::string part(it->second[k]);
        // keep the typed spelling of a one-word replacement's case ("Fave" -> "Favorite")
        std::string orig = part;
        if (k == 0 && !s.empty() && std::isupper(static_cast<unsigned char>(s[0])) && part != "i")
          orig[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(orig[0])));
        if (part == "i") orig = "I";
        out.push_back({part, orig, 0});
      }
      continue;
    }
    out.push_back({std::move(lo), std::move(s), 0});
  }
  return out;
}

// Clauses.

}  // namespace memoryd::rules
