// The rule extractor's lexicon (extract/rules/lexicon/*.txt, compiled in): every file is there
// and lists each key once; the accessors read the formats the rules rely on.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules/lexicon.hpp"

namespace lex = memoryd::rules::lexicon;

TEST_CASE("rules lexicon: no file lists a word twice", "[rules][lexicon]") {
  REQUIRE(lex::sources().size() > 50);
  for (const auto& s : lex::sources()) {
    INFO("lexicon file: " << s.name << ".txt");
    CHECK(lex::duplicates(s.text).empty());
  }
}

TEST_CASE("rules lexicon: duplicates finds a repeated key, not a repeated value", "[rules][lexicon]") {
  CHECK(lex::duplicates("# comment\nnurse\ncook\n\ncook\n") == std::vector<std::string>{"cook"});
  CHECK(lex::duplicates("good at with\nbad at with\n").empty());
}

TEST_CASE("rules lexicon: word lists, pairs and lists read their files", "[rules][lexicon]") {
  CHECK(lex::words("occupation_words").count("nurse") == 1);
  CHECK(lex::words("health_words").count("diabetic") == 1);
  CHECK(lex::pairs("habit_verbs").at("play") == "interests");
  CHECK(lex::sets("adjective_preps").at("good").count("with") == 1);
  const auto& im = lex::lists("expansions").at("i'm");
  REQUIRE(im.size() == 2);
  CHECK(im[0] == "i");
  CHECK(im[1] == "am");
  CHECK_THROWS(lex::words("no_such_list"));
}
