#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"

using namespace memoryd;

namespace {

struct example {
  const char* message;
  std::vector<std::string> texts;  // expected fact texts, in order
  const char* category = "";       // of the first fact, when given
  const char* slot = "";           // of the first fact, when given
};

std::vector<std::string> texts_of(const std::vector<extracted_fact>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.text);
  return out;
}

void check(const std::vector<example>& table) {
  for (const auto& e : table) {
    INFO("message: " << e.message);
    const auto facts = extract_facts(e.message);
    CHECK(texts_of(facts) == e.texts);
    if (!facts.empty() && *e.category) CHECK(facts[0].category == e.category);
    if (!facts.empty() && *e.slot) CHECK(facts[0].slot == e.slot);
    for (const auto& f : facts) CHECK(slot_of(f.text) == f.slot);
  }
}

}  // namespace

TEST_CASE("rules: have and pets") {
  check({
      {"i have two dogs", {"Has two dogs"}, "relationships", ""},
      {"i have a dog named max", {"Has a dog named Max"}, "relationships", ""},
      {"I've got three kids", {"Has three kids"}, "relationships", ""},
      {"i've two older mustangs .", {"Has two older mustangs"}},
      {"I have two jobs", {"Has two jobs"}, "work", ""},
      {"i don't have any pets", {"Does not have any pets"}},
      {"I have to work tomorrow", {}},
      {"i have a question", {}},
      {"I have no idea", {}},
  });
}

TEST_CASE("rules: am") {
  check({
      {"i'm a nurse", {"Is a nurse"}, "work", "occupation"},
      {"i am allergic to peanuts", {"Is allergic to peanuts"}, "health", ""},
      {"I am vegan", {"Is vegan"}, "health", "diet"},
      {"im a vegetarian", {"Is a vegetarian"}, "health", "diet"},
      {"I'm married with two kids.",
       {"Is married with two kids"},
       "relationships",
       "relationship_status"},
      {"i am single", {"Is single"}, "relationships", "relationship_status"},
      {"i am 25 years old", {"Is 25 years old"}, "other", "age"},
      {"I'm 34", {"Is 34 years old"}, "other", "age"},
      {"i'm from ohio originally", {"Is from Ohio"}, "location", "hometown"},
      {"i am terrified of clowns", {"Is terrified of clowns"}},
      {"I'm a big fan of the Yankees", {"Is a big fan of the Yankees"}, "interests", ""},
      {"i am retired", {"Is retired"}, "work", "occupation"},
  });
}

TEST_CASE("rules: likes and negation") {
  check({
      {"i love hiking", {"Loves hiking"}, "interests", ""},
      {"I like to read", {"Likes to read"}, "interests", ""},
      {"I really love Italian food", {"Loves Italian food"}, "preferences", ""},
      {"i hate mornings", {"Hates mornings"}, "preferences", ""},
      {"I prefer tea", {"Prefers tea"}, "preferences", ""},
      {"i enjoy reading mystery novels", {"Enjoys reading mystery novels"}, "interests", ""},
      {"i don't like crowds", {"Does not like crowds"}, "preferences", ""},
      {"i do not like crowds", {"Does not like crowds"}},
      {"dont like crowds", {"Does not like crowds"}},
      {"i do n't like crowds either", {"Does not like crowds"}},
      {"i dont eat meat", {"Does not eat meat"}, "health", ""},
      {"I love it", {}},
      {"i like that", {}},
      {"I love you", {}},
      {"i like your style", {}},
  });
}

TEST_CASE("rules: work live moved") {
  check({
      {"i work as a nurse", {"Works as a nurse"}, "work", "occupation"},
      {"i work at google", {"Works at Google"}, "work", "employer"},
      {"I work for Acme Corp", {"Works for Acme Corp"}, "work", "employer"},
      {"i work at a bank", {"Works at a bank"}, "work", "employer"},
      {"i work out every day", {"Works out every day"}, "interests", ""},
      {"i live in new york", {"Lives in New York"}, "location", "location"},
      {"I live in Seattle with my husband",
       {"Lives in Seattle", "Has a husband"},
       "location",
       "location"},
      {"i live with my parents", {"Lives with their parents"}, "relationships", ""},
      {"i moved to boston", {"Lives in Boston"}, "location", "location"},
      {"I just moved to Boston!", {"Lives in Boston"}, "location", "location"},
      {"we moved to denver last year", {"Lives in Denver"}},
      {"I moved to the city a few years ago", {"Lives in the city"}},
      {"i grew up in ohio", {"Grew up in Ohio"}, "location", ""},
      {"I'm moving to Boston", {}},
  });
}

TEST_CASE("rules: my X is Y") {
  check({
      {"my wife's name is anna", {"Wife's name is Anna"}, "relationships", "wife_name"},
      {"my favorite color is blue", {"Favorite color is blue"}, "preferences", "favorite_color"},
      {"My favourite band is Queen", {"Favorite band is Queen"}, "interests", "favorite_band"},
      {"my name is Sam", {"Name is Sam"}, "other", "name"},
      {"my name is sam", {"Name is Sam"}, "other", "name"},
      {"My sister is a nurse", {"Sister is a nurse"}, "relationships", ""},
      {"my friend has a dog", {}},
      {"my friend is a nurse", {}},
      {"my mom is the best", {}},
      {"my day was great", {}},
  });
}

TEST_CASE("rules: clauses and sentences") {
  check({
      {"I have a dog named Max and I'm allergic to peanuts.",
       {"Has a dog named Max", "Is allergic to peanuts"}},
      {"i am good , i just got off work and tired , i have two jobs .", {"Has two jobs"}},
      {"i 'm a teacher , and i 've two cats .", {"Is a teacher", "Has two cats"}},
      {"i ' m a teacher", {"Is a teacher"}},
      {"i m a teacher", {"Is a teacher"}},
      {"good for you . do you like vintage cars ? i've two older mustangs .",
       {"Has two older mustangs"}},
      {"I have a cat, do you?", {"Has a cat"}},
      {"I love dogs so much lol", {"Loves dogs"}},
      {"I’m a software engineer at Microsoft and I live in Seattle 🙂",
       {"Is a software engineer at Microsoft", "Lives in Seattle"}},
      {"i like hiking too", {"Likes hiking"}},
      {"i love hiking , but i hate running", {"Loves hiking", "Hates running"}},
  });
}

TEST_CASE("rules: negatives") {
  check({
      // questions
      {"do you have a dog?", {}},
      {"what do you do", {}},
      {"are you married", {}},
      {"I'm a nurse?", {}},
      // hypotheticals
      {"if i had a dog i would name it max", {}},
      {"i wish i lived in paris", {}},
      {"i would love a cat", {}},
      {"I'd love to try it sometime", {}},
      {"when i have kids i will teach them chess", {}},
      {"I want to be a doctor", {}},
      // temporary states
      {"i'm tired today", {}},
      {"i'm busy", {}},
      {"i am good", {}},
      {"i'm fine", {}},
      {"i'm doing great", {}},
      {"i'm working right now", {}},
      {"I have a headache this morning", {}},
      {"i'm at the moment living in a hotel", {}},
      // someone else
      {"my friend has a dog", {}},
      {"he is a nurse", {}},
      {"she loves hiking", {}},
      // past, not a current fact
      {"i had a dog when i was a kid", {}},
      // small talk
      {"hey how are you", {}},
      {"lol", {}},
      {"thanks so much!", {}},
      {"ok", {}},
      {"Good morning!", {}},
      {"haha yes", {}},
      {"Sounds good!", {}},
      {"", {}},
      {"   ", {}},
      {"?!?", {}},
  });
}

TEST_CASE("rules: length cap") {
  check({
      {"i like to go to the store on the corner every single day with my best friend "
       "from high school",
       {}},
  });
}

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
