#include "store/search/time_words.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "store/search/analyzer.hpp"

namespace memoryd::search {
namespace {

const std::unordered_set<std::string_view>& time_words() {
  static const std::unordered_set<std::string_view> words = {
      "ago",      "yesterday", "today",    "tonight",   "tomorrow", "last",      "next",
      "recently", "recent",    "lately",   "soon",      "week",     "weeks",     "weekend",
      "weekends", "month",     "months",   "year",      "years",    "day",       "days",
      "morning",  "evening",   "night",    "afternoon", "since",    "january",   "february",
      "march",    "april",     "may",      "june",      "july",     "august",    "september",
      "october",  "november",  "december", "monday",    "tuesday",  "wednesday", "thursday",
      "friday",   "saturday",  "sunday",   "summer",    "winter",   "spring",    "fall",
      "autumn",   "earlier",   "later"};
  return words;
}

bool number(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool is_time_word(std::string_view word) { return time_words().count(word) > 0 || number(word); }

bool is_time_stem(std::string_view s) {
  static const std::unordered_set<std::string> stems = [] {
    std::unordered_set<std::string> out;
    for (auto w : time_words()) out.insert(stem(w));
    return out;
  }();
  return number(s) || stems.count(std::string(s)) > 0;
}

}  // namespace memoryd::search
