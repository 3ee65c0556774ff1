// Wishes, plans and experiences (extract/rules/plans.cpp): the turn-level gold keeps them as
// facts about the person; the fact keeps the mood, so nothing wished reads as done.
#include <catch2/catch.hpp>

#include "extract/rules.hpp"
#include "tests/extract/rules_test_util.hpp"

using memoryd::testing::check_facts;

TEST_CASE("rules: wishes and plans") {
  check_facts({
      {"I want to see the new Stephen King adaptation.",
       {"Wants to see the new Stephen King adaptation"}},
      {"I want to be a doctor", {"Wants to be a doctor"}},
      {"I'm planning to visit my parents", {"Is planning to visit their parents"}},
      {"I plan on opening a bakery", {"Plans on opening a bakery"}},
      {"I'm thinking about getting a puppy", {"Is thinking about getting a puppy"}},
      {"I was thinking of getting a dog as a pet.", {"Is thinking of getting a dog as a pet"}},
      {"I am going to Italy in the spring.", {"Is going to Italy in the spring"}},
  });
}

TEST_CASE("rules: what is not a plan") {
  check_facts({
      // politeness and wishes for the partner, measured to be mostly wrong
      {"I'd love to try it sometime", {}},
      {"I would love to visit Japan someday.", {}},
      {"I hope to see you soon", {}},
      // reactions, talk, a lost referent
      {"I want to know more about it", {}},
      {"I want to hear all about your trip", {}},
      {"i want to go there", {}},
      {"I'm going to be honest", {}},
      {"I'm going to have to try that", {}},
      {"I was thinking about that", {}},
      // negated, or in a question
      {"I don't want to move to Texas", {}},
      {"Do you want to go hiking?", {}},
      {"I want to go hiking tomorrow", {}},  // a passing state
  });
}

TEST_CASE("rules: experiences and what the user was") {
  check_facts({
      {"I've never been to Europe.", {"Has never been to Europe"}},
      {"No I have never done any charity work before.", {"Has never done any charity work"}},
      {"I have never been out of the state", {"Has never been out of the state"}},
      {"I was a nurse for ten years", {"Was a nurse for ten years"}},
      // nothing experienced, a moment rather than a role
      {"i have never heard of it", {}},
      {"I've never thought about that", {}},
      {"I was a kid back then", {}},
      {"I was a little nervous", {}},
  });
}
