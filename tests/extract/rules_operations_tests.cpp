// The rule extractor's operations over a batch: adds, slot updates of known facts (slot_of),
// one op per slot per batch, and no op for a fact already known.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"

using namespace memoryd;

TEST_CASE("rules: slot_of") {
  CHECK(slot_of("Lives in New York") == "location");
  CHECK(slot_of("lives in boston.") == "location");
  CHECK(slot_of("Lives with their parents").empty());
  CHECK(slot_of("Works at Google") == "employer");
  CHECK(slot_of("Works as a nurse") == "occupation");
  CHECK(slot_of("Is a nurse") == "occupation");
  CHECK(slot_of("Is a big fan of nurses").empty());
  CHECK(slot_of("Is 25 years old") == "age");
  CHECK(slot_of("Is married") == "relationship_status");
  CHECK(slot_of("Is vegan") == "diet");
  CHECK(slot_of("Name is Sam") == "name");
  CHECK(slot_of("Favorite color is blue") == "favorite_color");
  CHECK(slot_of("Has two dogs").empty());
  CHECK(slot_of("Likes hiking").empty());
  CHECK(slot_of("").empty());
}

TEST_CASE("rules: extractor ops") {
  rule_extractor ex;
  CHECK(ex.version() == "rules/1");

  SECTION("slot update of a known fact") {
    extraction_input in;
    in.user_id = "u1";
    fact f;
    f.id = "f-ny";
    f.text = "Lives in New York";
    f.category = "location";
    in.facts.push_back(f);
    in.messages.push_back({"m1", "I moved to Boston", 1000});
    const auto out = ex.extract(in);
    REQUIRE(out.ops.size() == 1);
    CHECK(out.ops[0].kind == "update");
    CHECK(out.ops[0].fact_id == "f-ny");
    CHECK(out.ops[0].text == "Lives in Boston");
    CHECK(out.ops[0].observed_at == 1000);
    CHECK(out.ops[0].source_ids == std::vector<std::string>{"m1"});
  }

  SECTION("known facts are not repeated") {
    extraction_input in;
    fact f;
    f.id = "f1";
    f.text = "has a dog named max.";
    in.facts.push_back(f);
    in.messages.push_back({"m1", "I have a dog named Max", 5});
    in.messages.push_back({"m2", "i love hiking", 6});
    in.messages.push_back({"m3", "I LOVE HIKING!!", 7});
    const auto out = ex.extract(in);
    REQUIRE(out.ops.size() == 1);
    CHECK(out.ops[0].kind == "add");
    CHECK(out.ops[0].text == "Loves hiking");
    CHECK(out.ops[0].category == "interests");
    CHECK(out.ops[0].observed_at == 6);
    CHECK(out.ops[0].source_ids == std::vector<std::string>{"m2"});
  }

  SECTION("a slot set twice in one batch replaces the earlier add") {
    extraction_input in;
    in.messages.push_back({"m1", "i live in new york", 1});
    in.messages.push_back({"m2", "i have two dogs", 2});
    in.messages.push_back({"m3", "just moved to boston", 3});
    const auto out = ex.extract(in);
    REQUIRE(out.ops.size() == 2);
    CHECK(out.ops[0].kind == "add");
    CHECK(out.ops[0].text == "Lives in Boston");
    CHECK(out.ops[0].observed_at == 3);
    CHECK(out.ops[0].source_ids == std::vector<std::string>{"m3"});
    CHECK(out.ops[1].text == "Has two dogs");
  }

  SECTION("a slot updated twice in one batch gives one update") {
    extraction_input in;
    fact f;
    f.id = "f-job";
    f.text = "Works as a nurse";
    in.facts.push_back(f);
    in.messages.push_back({"m1", "I'm a teacher now", 1});
    in.messages.push_back({"m2", "i work as a chef", 2});
    const auto out = ex.extract(in);
    REQUIRE(out.ops.size() == 1);
    CHECK(out.ops[0].kind == "update");
    CHECK(out.ops[0].fact_id == "f-job");
    CHECK(out.ops[0].text == "Works as a chef");
    CHECK(out.ops[0].source_ids == std::vector<std::string>{"m2"});
  }

  SECTION("no messages, no ops") {
    extraction_input in;
    CHECK(ex.extract(in).ops.empty());
  }
}
