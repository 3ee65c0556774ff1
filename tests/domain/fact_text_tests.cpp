// Fact text normalization: what makes two fact texts the same fact.
#include <catch2/catch.hpp>

#include "domain/fact_text.hpp"

using namespace memoryd;

TEST_CASE("normalize_fact_text folds case punctuation and spaces", "[domain]") {
  CHECK(normalize_fact_text("Has a dog named Max.") == "has a dog named max");
  CHECK(normalize_fact_text("  has a DOG named max") == "has a dog named max");
  CHECK(normalize_fact_text("likes   rock-n-roll!!") == "likes rock n roll");
  CHECK(normalize_fact_text("Café au lait") == "caf\xc3\xa9 au lait");
  CHECK(normalize_fact_text("...") == "");
  CHECK(is_valid_category("health"));
  CHECK_FALSE(is_valid_category("hobbies"));
}
