// Synthetic facts and questions for the search and fact-write benchmarks: template sentences
// over word lists, drawn with a skew (a few words are common, most are rare, as in real facts),
// from a seeded generator so runs are comparable.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace memoryd::bench {

class fact_corpus {
 public:
  explicit fact_corpus(std::uint64_t seed) : rng_(seed) {}

  std::string fact() {
    switch (rng_() % 8) {
      case 0:
        return "Likes " + pick(k_things) + " and " + pick(k_things);
      case 1:
        return "Has a " + pick(k_animals) + " named " + pick(k_names);
      case 2:
        return "Works as a " + pick(k_jobs) + " in " + pick(k_places);
      case 3:
        return "Went " + pick(k_activities) + " in " + pick(k_places) + " last " + pick(k_times);
      case 4:
        return "Is learning to " + pick(k_skills) + " with a " + pick(k_relations);
      case 5:
        return "Their " + pick(k_relations) + " " + pick(k_names) + " loves " + pick(k_things);
      case 6:
        return "Is allergic to " + pick(k_things) + " and avoids " + pick(k_things);
      default:
        return "Plans to visit " + pick(k_places) + " to go " + pick(k_activities) + " with " +
               pick(k_names);
    }
  }

  std::string question() {
    switch (rng_() % 6) {
      case 0:
        return "What does she think about " + pick(k_things) + "?";
      case 1:
        return "What is the name of her " + pick(k_animals) + "?";
      case 2:
        return "Where did she go " + pick(k_activities) + "?";
      case 3:
        return "Does her " + pick(k_relations) + " like " + pick(k_things) + "?";
      case 4:
        return "Has she been to " + pick(k_places) + "?";
      default:
        return "Is she learning to " + pick(k_skills) + "?";
    }
  }

 private:
  // Index skewed towards the front: u^2 puts half the draws in the first 30% of the list.
  const std::string& pick(const std::vector<std::string>& list) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return list[static_cast<std::size_t>(u * u * static_cast<double>(list.size()))];
  }

  std::mt19937_64 rng_;
  inline static const std::vector<std::string> k_things = {
      "coffee",   "tea",          "jazz",         "peanuts",     "hiking",        "pizza",
      "sushi",    "chess",        "novels",       "gardening",   "football",      "opera",
      "cheese",   "chocolate",    "mangoes",      "yoga",        "podcasts",      "poetry",
      "pottery",  "cycling",      "swimming",     "photography", "knitting",      "baking",
      "camping",  "painting",     "sculpture",    "astronomy",   "birdwatching",  "karaoke",
      "salsa",    "ballet",       "tacos",        "ramen",       "curry",         "lasagna",
      "pancakes", "strawberries", "shellfish",    "gluten",      "dairy",         "eggs",
      "almonds",  "kiwis",        "horror films", "comedies",    "documentaries", "anime",
      "vinyl",    "board games",  "crosswords",   "sudoku",      "origami",       "surfing",
      "skiing",   "climbing",     "kayaking",     "fishing",     "running",       "tennis",
      "golf",     "basketball",   "volleyball",   "rugby"};
  inline static const std::vector<std::string> k_animals = {
      "dog",   "cat",    "parrot", "hamster",    "rabbit",   "horse",    "goldfish", "turtle",
      "snake", "lizard", "ferret", "guinea pig", "cockatoo", "tortoise", "pony",     "canary"};
  inline static const std::vector<std::string> k_names = {
      "Max",    "Bella",  "Luna",    "Charlie", "Oscar",  "Milo",    "Daisy",
      "Rocky",  "Coco",   "Ruby",    "Leo",     "Zoe",    "Finn",    "Nala",
      "Otis",   "Pepper", "Hazel",   "Ziggy",   "Maple",  "Juniper", "Biscuit",
      "Clover", "Mochi",  "Pickles", "Waffles", "Nugget", "Pumpkin", "Sprout"};
  inline static const std::vector<std::string> k_jobs = {
      "nurse",      "teacher",     "engineer",    "chef",       "lawyer",
      "designer",   "pilot",       "plumber",     "accountant", "architect",
      "pharmacist", "librarian",   "electrician", "journalist", "veterinarian",
      "dentist",    "firefighter", "barista",     "carpenter",  "translator"};
  inline static const std::vector<std::string> k_places = {
      "Boston",  "Paris",   "Tokyo",     "Lisbon",    "Denver",  "Oslo",   "Austin",
      "Rome",    "Seattle", "Berlin",    "Madrid",    "Toronto", "Sydney", "Dublin",
      "Prague",  "Vienna",  "Chicago",   "Miami",     "Kyoto",   "Cairo",  "Lima",
      "Nairobi", "Hanoi",   "Reykjavik", "Edinburgh", "Montreal"};
  inline static const std::vector<std::string> k_activities = {
      "hiking",  "skiing",     "camping",  "surfing", "sailing",
      "diving",  "climbing",   "kayaking", "fishing", "cycling",
      "running", "snorkeling", "rafting",  "skating", "birdwatching"};
  inline static const std::vector<std::string> k_times = {"week", "month",  "summer", "winter",
                                                          "year", "spring", "weekend"};
  inline static const std::vector<std::string> k_skills = {"paint",
                                                           "cook",
                                                           "swim",
                                                           "dance",
                                                           "sing",
                                                           "knit",
                                                           "code",
                                                           "draw",
                                                           "sail",
                                                           "ski",
                                                           "play the guitar",
                                                           "play the piano",
                                                           "speak Spanish",
                                                           "speak Japanese",
                                                           "juggle",
                                                           "bake"};
  inline static const std::vector<std::string> k_relations = {
      "sister", "brother", "mother", "father",      "friend",   "cousin",    "daughter",
      "son",    "aunt",    "uncle",  "grandmother", "neighbor", "colleague", "partner"};
};

}  // namespace memoryd::bench
