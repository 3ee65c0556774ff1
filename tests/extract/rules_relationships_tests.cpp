// Relatives and pets implied by a mention ("my wife and i" -> "Has a wife"), and when an
// implied one is dropped because a stated or known fact already names it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"
#include "tests/extract/rules_test_util.hpp"

using namespace memoryd;
using memoryd::testing::check_facts;

TEST_CASE("rules: a relative or pet mentioned as the user's own is a fact") {
  check_facts({
      {"my wife and i went hiking", {"Has a wife"}, "relationships"},
      {"hi , sitting here with my three dogs watching the olympics !", {"Has three dogs"}},
      {"walking my 2 dogs", {"Has 2 dogs"}},
      {"My dog Max is sick.", {"Has a dog named Max"}, "relationships"},
      {"my older sister is visiting", {"Has an older sister"}},
      {"my kids love pizza", {"Has kids"}},
      {"my sisters cat is cute", {"Has a sister"}},  // possessive, not "sisters"
      {"i gave my dog's toy away", {"Has a dog"}},
      // a stated fact about the same noun is enough
      {"i have two dogs and my dogs love walks", {"Has two dogs"}},
      {"my child loves school and my children are great", {"Has a child"}},
      {"my grandchildren visit", {"Has grandchildren"}},
      // not the user's, not a relation, or nearly universal
      {"my ex wife hates me", {}},
      {"my late husband loved jazz", {}},
      {"my dog walker is late", {}},
      {"my horse painting won a prize", {}},
      {"my mom called", {}},
      {"my friends are great", {}},
      {"your dog is cute", {}},
  });
}

TEST_CASE("rules: an implied relative is not added next to a fact that names it") {
  rule_extractor ex;
  extraction_input in;
  fact f;
  f.id = "f-wife";
  f.text = "Wife's name is Anna";
  in.facts.push_back(f);
  in.messages.push_back({"m1", "my wife and i love hiking", 1});
  in.messages.push_back({"m2", "i have a cat", 2});
  in.messages.push_back({"m3", "my cat sleeps all day and my son is 5", 3});
  const auto out = ex.extract(in);
  std::vector<std::string> texts;
  for (const auto& op : out.ops) texts.push_back(op.text);
  CHECK(texts == std::vector<std::string>{"Loves hiking", "Has a cat", "Son is 5"});
}

TEST_CASE("rules: an implied relative matches its irregular plural across messages") {
  rule_extractor ex;
  extraction_input in;
  fact f;
  f.id = "f-kids";
  f.text = "Has three children";
  in.facts.push_back(f);
  in.messages.push_back({"m1", "my child starts school", 1});
  in.messages.push_back({"m2", "my dogs are loud", 2});
  in.messages.push_back({"m3", "walking my dog now", 3});
  const auto out = ex.extract(in);
  std::vector<std::string> texts;
  for (const auto& op : out.ops) texts.push_back(op.text);
  CHECK(texts == std::vector<std::string>{"Has dogs"});
}
