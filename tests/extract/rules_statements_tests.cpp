// First-person statements the rule-based extractor turns into facts: have, am, like, work,
// live, moved, "my X is Y", coordinated verbs, habits, life events, ongoing activities.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"
#include "tests/extract/rules_test_util.hpp"

using namespace memoryd;
using memoryd::testing::check_facts;

TEST_CASE("rules: have and pets") {
  check_facts({
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
  check_facts({
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
  check_facts({
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
  check_facts({
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
  check_facts({
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

TEST_CASE("rules: coordinated verb phrases") {
  check_facts({
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

TEST_CASE("rules: broader habits") {
  check_facts({
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

TEST_CASE("rules: recent life events and used to") {
  check_facts({
      {"i just got an apartment with my best friend",
       {"Recently got an apartment with their best friend"}},
      {"I recently started a new job at the bank", {"Recently started a new job at the bank"}},
      {"i just adopted a puppy", {"Recently adopted a puppy"}, "other"},
      {"I bought a house last year", {"Bought a house"}},
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

TEST_CASE("rules: ongoing activities experiences and age changes") {
  check_facts({
      {"I've been teaching my siblings coding.", {"Has been teaching their siblings coding"}},
      {"i have been volunteering at the homeless shelter",
       {"Has been volunteering at the homeless shelter"},
       "interests"},
      {"I've been going to therapy", {"Has been going to therapy"}},
      {"I'm working on a new game.", {"Is working on a new game"}},
      {"I'm taking pottery classes", {"Is taking pottery classes"}, "interests"},
      {"i'm practicing guitar", {"Is practicing guitar"}},
      {"I started surfing five years ago and it's been great.", {"Started surfing"}},
      {"i have actually met taylor swift", {"Has met taylor swift"}},
      {"i just won homecoming queen", {"Won homecoming queen"}},
      {"i just turned 18", {"Is 18 years old"}, "other"},
      {"i have one dog , he's a german shepherd", {"Has one dog"}},
      {"i have a bunch of cats", {"Has a bunch of cats"}},
      {"my cats name is spook", {"Has a cat named Spook"}, "relationships"},
      {"My dog's name is Max.", {"Has a dog named Max"}},
      {"my wifes name is anna", {"Wife's name is Anna"}},
      {"i am gold medalist", {"Is gold medalist"}, "work"},
      {"i am ex military", {"Is ex military"}},
      {"i am petrified of scorpions", {"Is petrified of scorpions"}},
      {"pizza is my favorite food", {"Favorite food is pizza"}, "preferences"},
      {"mickey mouse is my favorite character .", {"Favorite character is mickey mouse"}},
      {"my favorite color happens to be red", {"Favorite color is red"}},
      {"my all time favorite toy is lite brite", {"Favorite toy is lite brite"}},
      {"it is my favorite movie", {}},
      {"you are my favorite person", {}},
      {"i have been to spain a few times", {"Has been to spain a few times"}},
      {"i have been married for 5 years and have 2 kids",
       {"Has been married for 5 years", "Has 2 kids"}},
      {"i'm 13 with an older brother", {"Is 13 years old"}, "other"},
      {"i am so tired", {}},
      {"i am here", {}},
      // not activities: feelings, passing states, fillers, and things without a referent
      {"I've been doing well", {}},
      {"i've been thinking about it", {}},
      {"i have been studying language all day", {}},
      {"I'm working on it", {}},
      {"i am taking a break", {}},
      {"i have one", {}},
      {"i won the game", {}},
      {"I started thinking about it", {}},
      {"I've been playing for a month now", {}},
      {"I've been playing a lot", {}},
      // "a" starts an object unless it measures ("a lot", "a bit")
      {"I've been learning a new language", {"Has been learning a new language"}},
      {"I started learning a new language", {"Started learning a new language"}},
      {"I've been taking pottery classes", {"Has been taking pottery classes"}, "interests"},
      {"I already started doing what you said", {}},
      {"I've been surfing for years", {"Has been surfing for years"}},
  });
}

TEST_CASE("rules: what the user is not") {
  check_facts({
      {"I'm not a fan of McDonalds", {"Is not a fan of McDonalds"}},
      {"I'm not a rich person", {"Is not a rich person"}},
      {"I'm not into marathons", {"Is not into marathons"}},
      {"I'm not very good at painting though", {"Is not good at painting"}},
      {"I am not a gardener but I am growing some peppers myself", {"Is not a gardener"}},
      {"i'm not married", {"Is not married"}},
      // passing states, doubts and lost referents stay out
      {"I'm not sure", {}},
      {"I'm not going to do that", {}},
      {"I'm not a fan of that", {}},
      {"I'm not tired", {}},
  });
}
