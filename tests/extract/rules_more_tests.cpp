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

TEST_CASE("rules: a relative or pet mentioned as the user's own is a fact") {
  check_rows({
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

TEST_CASE("rules: an object that lost its referent gives no fact") {
  check_rows({
      // a trailing pronoun or preposition was trimmed and left the object incomplete
      {"cars are my thing . i love working on them .", {}},
      {"Interesting! Love to hear more about it.", {}},
      {"i am allergic to them but i do it anyway", {}},
      {"i have four of them", {}},
      {"Whenever I can, I love going for walks to take it all in.", {}},
      // ... but a complete object before an adjunct "on it", "for that" stays
      {"my tractor is red , i listen to classical music on it .", {"Listens to classical music"}},
      {"reading is good to relax , i also like to take bubble baths for that",
       {"Likes to take bubble baths"}},
      // an object that refers to something said before
      {"I love seeing them eat fruit - they get so hyped!", {}},
      {"I'm a big fan of those.", {}},
      // IT, the trade, is not a pronoun
      {"i work in it from home", {"Works in it from home"}},
      // nothing but function words and adverbs
      {"yes i do after all i am a engineer .", {"Is a engineer"}},
      {"I do have my gaming group I play with regularly.", {"Has their gaming group"}},
      {"So much energy and love everywhere!", {}},
      {"Plus, love makes writing even more fun.", {}},
  });
}

TEST_CASE("rules: replies, reactions and plans are not facts") {
  check_rows({
      {"Nice work, Maria! Let's get to work!", {}},
      {"Enjoy yourself!", {}},
      {"Love the colors and the chilled-out sunset vibe.", {}},
      {"love hiking !", {"Loves hiking"}},  // a dropped subject is still the user
      {"I have great news!", {}},
      {"I've got a funny story.", {}},
      {"I've hit a sore spot lately.", {}},
      {"I've even exchanged contacts with a few.", {}},
      {"I'm grateful for all the support I've got from friends and mentors.", {}},
      {"Starting tomorrow, I will go to the gym and exercise regularly.", {}},
      // a name addressed at the end and "to be honest" are not part of the object
      {"I love the quote, Sam.", {"Loves the quote"}},
      {"I don't like bowling itself, to be honest.", {"Does not like bowling itself"}},
      {"I live in Paris, France.", {"Lives in Paris, France"}},
      {"i live near disney world in florida , in fact i own a house there .",
       {"Lives near Disney World in florida", "Owns a house"}},
      {"i recently moved to the us", {"Lives in the US"}},
      // a noun that looks like a verb
      {"Love and acceptance should be everyone's right.", {}},
      {"I love the self-acceptance and love theme.", {"Loves the self-acceptance and love theme"}},
      {"i have a dog and love cats", {"Has a dog", "Loves cats"}},
      // a reaction, a vague object, a relative clause whose object came before "i"
      {"I'm a huge fan!", {}},
      {"i am a coffee lover", {"Is a coffee lover"}},
      {"I'm working on something new.", {}},
      {"A book I read last year reminds me to always pursue my dreams.", {}},
      {"I'm obsessed with the way they build worlds.", {}},
      {"I have a small garden as well ya know", {"Has a small garden"}},
  });
}

TEST_CASE("rules: ongoing activities, experiences and age changes") {
  check_rows({
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

TEST_CASE("rules: a dash ends a thought, and when it happened is not part of what") {
  check_rows({
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
