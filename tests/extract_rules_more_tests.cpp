// Tables for the rules added in the second round (coordinated verbs, life events, "used to",
// broader habits) and the small-talk rate: at most 0.1 facts per small-talk message.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "extract/rules.hpp"

using namespace memoryd;

namespace {

struct row {
  const char* message;
  std::vector<std::string> texts;
  const char* category = "";
};

void check_rows(const std::vector<row>& table) {
  for (const auto& e : table) {
    INFO("message: " << e.message);
    const auto facts = extract_facts(e.message);
    std::vector<std::string> got;
    for (const auto& f : facts) got.push_back(f.text);
    CHECK(got == e.texts);
    if (!facts.empty() && *e.category) CHECK(facts[0].category == e.category);
  }
}

}  // namespace

TEST_CASE("rules: coordinated verb phrases") {
  check_rows({
      {"i sing folk music and play piano and guitar",
       {"Sings folk music", "Plays piano and guitar"},
       "interests"},
      {"I love my job and have two kids", {"Loves their job", "Has two kids"}},
      {"i like to read and write poetry", {"Likes to read", "Writes poetry"}},
      // negation scope is ambiguous: no split, and no positive fact from the second verb
      {"i don't smoke and drink", {"Does not smoke and drink"}},
      // nouns after "and" stay in the object
      {"i like cats and dogs", {"Likes cats and dogs"}},
      {"i like fishing and hunting", {"Likes fishing and hunting"}},
      // a question after the coordination drops the whole sentence
      {"i like cats and play chess?", {}},
      // a hypothetical stays hypothetical
      {"i would like to travel and play golf", {}},
  });
}

TEST_CASE("rules: recent life events and used to") {
  check_rows({
      {"i just got an apartment with my best friend",
       {"Recently got an apartment with their best friend"}},
      {"I recently started a new job at the bank", {"Recently started a new job at the bank"}},
      {"i just adopted a puppy", {"Recently adopted a puppy"}, "other"},
      {"I bought a house last year", {"Bought a house last year"}},
      {"i used to be a painter but now i'm a housekeeper",
       {"Used to be a painter", "Is a housekeeper"},
       "work"},
      {"I used to live in Ohio", {"Used to live in Ohio"}, "location"},
      // events without a lasting object
      {"i just got off work", {}},
      {"i just got back from running", {}},
      {"i just got home", {}},
      {"i got a call today", {}},
      {"i just started", {}},
      {"i used to", {}},
      {"i used to do that", {}},
  });
}

TEST_CASE("rules: an object ends where a new statement or a time phrase begins") {
  check_rows({
      // a subject and a finite verb inside the object start the next thought
      {"i like pizza, pizza is good", {"Likes pizza"}},
      {"i love baked goods it is my heaven", {"Loves baked goods"}},
      {"i have 8 children, 7 are under 5", {"Has 8 children"}},
      // a list after a comma stays in the object
      {"i like pizza, pasta and salad", {"Likes pizza, pasta and salad"}},
      // "<how long> ago" is when, not what
      {"i just started my new job two days ago", {"Recently started their new job"}},
      {"i recently started working as a nurse about three months ago",
       {"Recently started working as a nurse"}},
      {"i bought a saddle not too long ago", {"Bought a saddle"}},
      {"i adopted a puppy one week ago", {"Adopted a puppy"}},
      // a dangling "before" / "since" is dropped
      {"i love traveling, before", {"Loves traveling"}},
  });
}

TEST_CASE("rules: broader habits") {
  check_rows({
      {"i visit europe twice a year", {"Visits europe twice a year"}, "interests"},
      {"i go to the gym a lot", {"Goes to the gym"}},
      {"I go hiking on weekends", {"Goes hiking on weekends"}},
      {"I donate blood", {"Donates blood"}},
      {"i go wild at concerts", {}},
      {"i go to the store", {}},
      {"i do hope so", {}},
      {"i do know that", {}},
  });
}

TEST_CASE("rules: small talk gives at most 0.1 facts per message") {
  const std::vector<const char*> small_talk = {
      "hey, how are you?",
      "lol",
      "thanks so much!",
      "hi there",
      "good morning :)",
      "i'm good thanks, you?",
      "i am doing well , how about you ?",
      "haha that's funny",
      "omg yes",
      "that sounds awesome",
      "nice to meet you",
      "what do you do for fun ?",
      "ok cool",
      "i'm tired today",
      "i'm so bored right now",
      "same here lol",
      "i agree",
      "i think so too",
      "i know right",
      "i see",
      "i guess",
      "i hope you have a great day",
      "i'm sorry to hear that",
      "I'm not sure",
      "talk to you later!",
      "bye!",
      "yeah i get that",
      "wow really?",
      "i love that !",
      "i like it",
      "i understand",
      "Thank you so much, I appreciate it",
      "I'm doing great, just got home",
      "i am just hanging out",
      "me too",
      "good night",
      "i'd love to",
      "that's cool, i don't know much about it",
      "i'm fine , thanks for asking",
      "hope you're well",
  };
  REQUIRE(small_talk.size() >= 30);
  std::size_t facts = 0;
  for (const char* m : small_talk) {
    const auto fs = extract_facts(m);
    for (const auto& f : fs) UNSCOPED_INFO("\"" << m << "\" -> " << f.text);
    facts += fs.size();
  }
  CHECK(static_cast<double>(facts) / static_cast<double>(small_talk.size()) <= 0.1);
  CHECK(facts == 0);
}
