// Times in a question ("in July", "last year", "on 16 August, 2023") say when, not what: facts
// rarely repeat them, and a fact that happens to mention a month is no better an answer. The
// query plan gives them a small weight and no expansion, and the feedback round never adds
// them (docs/RETRIEVAL.md).
#pragma once

#include <string_view>

namespace memoryd::search {

inline constexpr double time_word_weight = 0.3;

// A lower-cased word naming a time ("july", "weekend", "ago") or a number.
bool is_time_word(std::string_view word);
// A stem of such a word ("week" for "weeks", "recent" for "recently") or a number.
bool is_time_stem(std::string_view stem);

}  // namespace memoryd::search
