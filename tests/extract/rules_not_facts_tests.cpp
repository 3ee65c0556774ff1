// Messages that state no fact: negatives (questions, hypotheticals, temporary states, other
// people, the past), small talk (at most 0.1 facts per message), replies, reactions, plans
// and objects that lost their referent.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "extract/rules.hpp"
#include "tests/extract/rules_test_util.hpp"

using namespace memoryd;
using memoryd::testing::check_facts;

TEST_CASE("rules: negatives") {
  check_facts({
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
      // ("I want to be a doctor" is a wish kept as a fact: rules_plans_tests.cpp)
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

TEST_CASE("rules: replies reactions and plans are not facts") {
  check_facts({
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

TEST_CASE("rules: an object that lost its referent gives no fact") {
  check_facts({
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
      // "yet" is no object ("Does not have yet"), though it stays in one
      {"I haven't yet. I want to soon though.", {}},
      {"I haven't found anything I love yet.", {}},
      {"I don't have any children yet.", {"Does not have any children yet"}},
      // a discourse marker is not part of the object
      {"I love guitar, however I can't really play it.", {"Loves guitar"}},
  });
}
