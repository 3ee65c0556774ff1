// Where a fact begins and ends: clauses and sentences, where an object ends, dashes, time
// phrases and the length cap.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"
#include "tests/extract/rules_test_util.hpp"

using namespace memoryd;
using memoryd::testing::check_facts;

TEST_CASE("rules: clauses and sentences") {
  check_facts({
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
      // the period of an abbreviation before a name does not end the sentence
      {"I like Mt. Ember. Where do you bike?", {"Likes Mt. Ember"}},
      {"My teacher is Mrs. Ohtani and I live in St. Louis.", {"Lives in St. Louis"}},
      // ... but it does when the abbreviation is not capitalized as a title
      {"I saw the dr. My favorite color is blue.", {"Favorite color is blue"}},
  });
}

TEST_CASE("rules: an object ends where a new statement or a time phrase begins") {
  check_facts({
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

TEST_CASE("rules: a dash ends a thought and when it happened is not part of what") {
  check_facts({
      {"I'm working on a project - challenging but fulfilling.", {"Is working on a project"}},
      {"i love hiking - do you?", {"Loves hiking"}},
      {"I won my first video game tournament last week - so exciting!",
       {"Won their first video game tournament"}},
      {"I won my fourth video game tournament on Friday!",
       {"Won their fourth video game tournament"}},
      {"I joined a book club this past weekend", {"Joined a book club"}},
      {"I'm taking a cooking class to learn how to make pasta", {"Is taking a cooking class"}},
      {"i am allergic to them but i do it anyway", {}},
      {"I love my self-care routine", {"Loves their self-care routine"}},
  });
}

TEST_CASE("rules: length cap") {
  check_facts({
      {"i like to go to the store on the corner every single day with my best friend "
       "from high school",
       {}},
      // Both sides of the cap: an object of up to 12 words is kept, from 13 on it is not.
      {"i like to go to the store on the corner every single day",
       {"Likes to go to the store on the corner every single day"}},
      {"i like to go to the store on the corner every single day with my best", {}},
      {"i like fresh warm homemade bread with sweet butter from the little farm",
       {"Likes fresh warm homemade bread with sweet butter from the little farm"}},
      {"i like fresh warm homemade bread with sweet butter from the little farm shop",
       {"Likes fresh warm homemade bread with sweet butter from the little farm shop"}},
      {"i like fresh warm homemade bread with sweet butter from the little farm shop owners", {}},
      {"i like fresh warm homemade bread with sweet butter from the little farm shop in town", {}},
  });
}
