// The rule-based extractor. Token-based, no regex: a message is tokenized (contractions
// joined and expanded, so "i 'm", "i'm", "im" and "I'm" all read "i am"), split into
// sentences and clauses, and each clause that starts with the user as subject ("i", "my",
// "we") is matched against a small set of verb rules. Anything else produces nothing.
#include "extract/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "domain/fact_text.hpp"

namespace memoryd {
namespace {

using word_set = std::unordered_set<std::string_view>;

bool has(const word_set& s, std::string_view w) { return s.find(w) != s.end(); }

// ---------------------------------------------------------------------------------------
// Word lists.

const word_set& occupation_words() {
  static const word_set s = {"nurse",        "teacher",       "doctor",
                             "engineer",     "lawyer",        "attorney",
                             "accountant",   "chef",          "cook",
                             "waiter",       "waitress",      "bartender",
                             "barista",      "cashier",       "mechanic",
                             "electrician",  "plumber",       "carpenter",
                             "farmer",       "firefighter",   "fireman",
                             "policeman",    "cop",           "officer",
                             "detective",    "soldier",       "marine",
                             "pilot",        "driver",        "trucker",
                             "programmer",   "developer",     "designer",
                             "writer",       "author",        "journalist",
                             "reporter",     "editor",        "photographer",
                             "musician",     "singer",        "actor",
                             "actress",      "dancer",        "model",
                             "student",      "professor",     "librarian",
                             "scientist",    "researcher",    "therapist",
                             "counselor",    "psychologist",  "dentist",
                             "pharmacist",   "vet",           "veterinarian",
                             "surgeon",      "paramedic",     "emt",
                             "secretary",    "receptionist",  "assistant",
                             "manager",      "ceo",           "entrepreneur",
                             "salesman",     "saleswoman",    "realtor",
                             "banker",       "analyst",       "consultant",
                             "clerk",        "janitor",       "housekeeper",
                             "nanny",        "babysitter",    "tutor",
                             "coach",        "trainer",       "instructor",
                             "principal",    "athlete",       "builder",
                             "contractor",   "architect",     "welder",
                             "miner",        "fisherman",     "baker",
                             "butcher",      "tailor",        "hairdresser",
                             "hairstylist",  "stylist",       "barber",
                             "beautician",   "cosmetologist", "caregiver",
                             "caretaker",    "intern",        "freelancer",
                             "mailman",      "postman",       "lifeguard",
                             "guard",        "ranger",        "sheriff",
                             "judge",        "politician",    "pastor",
                             "priest",       "minister",      "preacher",
                             "rabbi",        "missionary",    "comedian",
                             "dj",           "producer",      "director",
                             "animator",     "technician",    "biologist",
                             "chemist",      "physicist",     "mathematician",
                             "economist",    "coder",         "administrator",
                             "housewife",    "homemaker",     "stuntman",
                             "double",       "painter",       "artist",
                             "sculptor",     "veteran",       "employee",
                             "worker",       "programer",     "surveyor",
                             "pediatrician", "nutritionist",  "dietitian",
                             "midwife",      "optometrist",   "chiropractor",
                             "psychiatrist", "physician",     "custodian",
                             "dispatcher",   "courier",       "broker",
                             "investor",     "auditor",       "lecturer",
                             "educator",     "graduate",      "undergrad",
                             "freshman",     "sophomore",     "junior",
                             "senior",       "retiree",       "boss",
                             "owner",        "supervisor",    "server",
                             "host",         "hostess",       "firefighter",
                             "astronaut",    "youtuber",      "blogger",
                             "influencer",   "streamer",      "gamer",
                             "recruiter",    "paralegal",     "cook"};
  return s;
}

const word_set& job_words() {
  static const word_set s = {"job",        "jobs",       "career",    "company", "business",
                             "office",     "boss",       "coworkers", "shift",   "shifts",
                             "salary",     "employer",   "degree",    "retired", "unemployed",
                             "work",       "works",      "working",   "clients", "customers",
                             "profession", "internship", "promotion"};
  return s;
}

const word_set& family_words() {
  static const word_set s = {"wife",
                             "husband",
                             "spouse",
                             "partner",
                             "boyfriend",
                             "girlfriend",
                             "bf",
                             "gf",
                             "fiance",
                             "fiancee",
                             "son",
                             "sons",
                             "daughter",
                             "daughters",
                             "kid",
                             "kids",
                             "child",
                             "children",
                             "baby",
                             "babies",
                             "toddler",
                             "sister",
                             "sisters",
                             "brother",
                             "brothers",
                             "sibling",
                             "siblings",
                             "mom",
                             "mother",
                             "mum",
                             "mommy",
                             "dad",
                             "father",
                             "daddy",
                             "parent",
                             "parents",
                             "grandma",
                             "grandmother",
                             "grandpa",
                             "grandfather",
                             "grandparents",
                             "grandson",
                             "granddaughter",
                             "grandkids",
                             "grandchildren",
                             "aunt",
                             "uncle",
                             "cousin",
                             "cousins",
                             "nephew",
                             "niece",
                             "nieces",
                             "nephews",
                             "twin",
                             "twins",
                             "stepson",
                             "stepdaughter",
                             "stepmom",
                             "stepdad",
                             "family",
                             "married",
                             "divorced",
                             "engaged",
                             "widow",
                             "widowed",
                             "widower",
                             "friends",
                             "friend",
                             "girlfriends",
                             "boyfriends",
                             "grandson",
                             "relationship",
                             "mothers",
                             "fathers",
                             "moms",
                             "dads",
                             "stepbrother",
                             "stepsister",
                             "grandsons",
                             "granddaughters",
                             "husbands",
                             "wives"};
  return s;
}

const word_set& pet_words() {
  static const word_set s = {
      "dog",      "dogs",      "puppy",    "puppies",  "cat",    "cats",     "kitten", "kittens",
      "pet",      "pets",      "hamster",  "hamsters", "parrot", "parrots",  "bird",   "birds",
      "rabbit",   "rabbits",   "bunny",    "bunnies",  "horse",  "horses",   "snake",  "snakes",
      "lizard",   "turtle",    "turtles",  "pig",      "pigs",   "goat",     "goats",  "chickens",
      "ferret",   "gecko",     "goldfish", "pony",     "iguana", "tortoise", "guinea", "poodle",
      "labrador", "retriever", "husky",    "beagle",   "cows",   "ducks",    "sheep"};
  return s;
}

const word_set& health_words() {
  static const word_set s = {
      "allergic",   "allergy",    "allergies",   "asthma",      "diabetes",   "diabetic",
      "cancer",     "vegan",      "vegetarian",  "pescatarian", "gluten",     "lactose",
      "celiac",     "dairy",      "meat",        "surgery",     "disease",    "condition",
      "disorder",   "anxiety",    "depression",  "adhd",        "autism",     "autistic",
      "arthritis",  "migraines",  "migraine",    "blind",       "deaf",       "wheelchair",
      "pregnant",   "sober",      "alcohol",     "smoke",       "smoking",    "cigarettes",
      "diet",       "medication", "medications", "therapy",     "injury",     "insomnia",
      "illness",    "epilepsy",   "epileptic",   "diabetic",    "allergic",   "intolerant",
      "overweight", "obese",      "paralyzed",   "disabled",    "disability", "ptsd",
      "ocd",        "bipolar",    "kidney",      "heart",       "chronic",    "pain",
      "transplant", "leukemia",   "hearing",     "sight",       "eyesight",   "colorblind",
      "keto",       "peanuts",    "peanut",      "shellfish",   "drink",      "drinking",
      "weight",     "calories",   "sugar"};
  return s;
}

const word_set& hobby_words() {
  static const word_set s = {
      "music",    "reading",     "books",      "book",       "movies",      "movie",
      "films",    "tv",          "shows",      "anime",      "games",       "video",
      "gaming",   "sports",      "sport",      "football",   "soccer",      "basketball",
      "baseball", "hockey",      "tennis",     "golf",       "guitar",      "piano",
      "drums",    "violin",      "singing",    "dancing",    "painting",    "drawing",
      "art",      "photography", "cooking",    "baking",     "hiking",      "camping",
      "fishing",  "hunting",     "swimming",   "running",    "yoga",        "gym",
      "travel",   "traveling",   "travelling", "gardening",  "knitting",    "chess",
      "poetry",   "writing",     "crafts",     "concerts",   "band",        "bands",
      "rock",     "jazz",        "rap",        "pop",        "hip",         "netflix",
      "podcasts", "puzzles",     "nature",     "outdoors",   "skiing",      "surfing",
      "biking",   "cycling",     "horseback",  "skating",    "comics",      "marvel",
      "museums",  "theater",     "theatre",    "broadway",   "opera",       "festivals",
      "workout",  "exercise",    "fitness",    "marathons",  "marathon",    "volunteering",
      "karate",   "boxing",      "wrestling",  "volleyball", "softball",    "climbing",
      "sewing",   "crochet",     "pottery",    "collecting", "songs",       "song",
      "album",    "albums",      "novels",     "mystery",    "sci",         "fantasy",
      "history",  "science",     "country",    "classical",  "metal",       "punk",
      "blues",    "vinyl",       "records",    "instrument", "instruments", "cars",
      "beach",    "ocean",       "kayaking",   "sailing",    "running",     "jogging",
      "walks",    "rugby",       "cricket",    "nfl",        "nba",         "team",
      "hobby",    "hobbies",     "singer",     "artist",     "genre",       "shows",
      "playing",  "watching",    "listening",  "dance"};
  return s;
}

const word_set& relationship_status_words() {
  static const word_set s = {"married", "single",    "divorced", "engaged",
                             "widowed", "separated", "remarried"};
  return s;
}

const word_set& diet_words() {
  static const word_set s = {"vegan", "vegetarian", "pescatarian", "pescetarian"};
  return s;
}

const word_set& number_words() {
  static const word_set s = {"one",      "two",      "three",   "four",    "five",      "six",
                             "seven",    "eight",    "nine",    "ten",     "eleven",    "twelve",
                             "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                             "nineteen", "twenty",   "thirty",  "forty",   "fifty",     "sixty",
                             "seventy",  "eighty",   "ninety",  "hundred"};
  return s;
}

const word_set& nationality_words() {
  static const word_set s = {
      "american",   "canadian",   "mexican",  "british",    "english",   "irish",   "scottish",
      "welsh",      "italian",    "french",   "german",     "spanish",   "chinese", "japanese",
      "korean",     "indian",     "russian",  "australian", "brazilian", "african", "asian",
      "hispanic",   "latino",     "latina",   "polish",     "greek",     "swedish", "dutch",
      "filipino",   "vietnamese", "nigerian", "kenyan",     "puerto",    "cuban",   "colombian",
      "portuguese", "turkish",    "egyptian", "norwegian",  "danish",    "finnish", "jamaican",
      "ukrainian",  "israeli",    "persian",  "iranian",    "pakistani", "thai",    "argentinian",
      "peruvian",   "chilean",    "austrian", "swiss",      "belgian"};
  return s;
}

// "i am X" with a bare adjective: only these (everything else is too often a passing state).
const std::unordered_map<std::string_view, std::string_view>& am_adjectives() {
  static const std::unordered_map<std::string_view, std::string_view> m = {
      {"pregnant", "health"},
      {"blind", "health"},
      {"deaf", "health"},
      {"diabetic", "health"},
      {"disabled", "health"},
      {"sober", "health"},
      {"epileptic", "health"},
      {"autistic", "health"},
      {"celiac", "health"},
      {"paralyzed", "health"},
      {"colorblind", "health"},
      {"lactose", "health"},
      {"gluten", "health"},
      {"overweight", "health"},
      {"obese", "health"},
      {"asthmatic", "health"},
      {"retired", "work"},
      {"unemployed", "work"},
      {"employed", "work"},
      {"homeschooled", "other"},
      {"tall", "other"},
      {"short", "other"},
      {"shy", "other"},
      {"introverted", "other"},
      {"extroverted", "other"},
      {"introvert", "other"},
      {"extrovert", "other"},
      {"religious", "other"},
      {"christian", "other"},
      {"catholic", "other"},
      {"muslim", "other"},
      {"jewish", "other"},
      {"atheist", "other"},
      {"buddhist", "other"},
      {"hindu", "other"},
      {"mormon", "other"},
      {"agnostic", "other"},
      {"adopted", "relationships"},
      {"bilingual", "other"},
      {"left", "other"},
      {"right", "other"},
      {"gay", "other"},
      {"straight", "other"},
      {"bisexual", "other"},
      {"transgender", "other"},
      {"vegan", "health"},
      {"vegetarian", "health"},
      {"pescatarian", "health"},
      {"pescetarian", "health"},
      {"married", "relationships"},
      {"single", "relationships"},
      {"divorced", "relationships"},
      {"engaged", "relationships"},
      {"widowed", "relationships"},
      {"separated", "relationships"},
      {"expecting", "relationships"},
      {"partly", "other"},
      {"partially", "other"},
      {"colour", "other"},
      {"color", "other"},
      {"bald", "other"},
      {"skinny", "other"},
      {"petite", "other"},
      {"blonde", "other"},
      {"blond", "other"},
      {"red", "other"},
      {"brunette", "other"},
      {"athletic", "interests"},
      {"artistic", "interests"},
      {"creative", "interests"},
      {"musical", "interests"},
      {"self", "work"},
      {"fluent", "other"},
      {"allergic", "health"},
      {"afraid", "other"},
      {"scared", "other"},
      {"terrified", "other"},
      {"petrified", "other"},
      {"deathly", "health"},
      {"frightened", "other"},
      {"good", "other"},
      {"great", "other"},
      {"bad", "other"},
      {"terrible", "other"},
      {"awful", "other"},
      {"interested", "interests"},
      {"obsessed", "interests"},
      {"addicted", "interests"},
      {"passionate", "interests"},
      {"crazy", "interests"},
      {"fascinated", "interests"},
      {"related", "relationships"},
      {"close", "relationships"},
      {"originally", "location"},
      {"currently", "other"}};
  return m;
}

// Adjectives that need a complement ("afraid of X", "good at X").
const std::unordered_map<std::string_view, word_set>& adjective_preps() {
  static const std::unordered_map<std::string_view, word_set> m = {
      {"allergic", {"to"}},
      {"afraid", {"of"}},
      {"scared", {"of"}},
      {"terrified", {"of"}},
      {"frightened", {"of"}},
      {"good", {"at", "with"}},
      {"great", {"at", "with"}},
      {"bad", {"at", "with"}},
      {"terrible", {"at", "with"}},
      {"awful", {"at"}},
      {"interested", {"in"}},
      {"obsessed", {"with"}},
      {"addicted", {"to"}},
      {"passionate", {"about"}},
      {"crazy", {"about"}},
      {"fascinated", {"by", "with"}},
      {"petrified", {"of"}},
      {"fluent", {"in"}},
      {"related", {"to"}},
      {"close", {"to", "with"}},
      {"left", {"handed"}},
      {"right", {"handed"}},
      {"self", {"employed", "taught"}},
      {"partly", {"deaf", "blind"}},
      {"partially", {"deaf", "blind"}},
      {"colour", {"blind"}},
      {"color", {"blind"}},
      {"deathly", {"allergic", "afraid"}},
      {"lactose", {"intolerant"}},
      {"gluten", {"free", "intolerant"}},
      {"currently", {"employed", "unemployed"}}};
  return m;
}

// Present-tense verbs of habits and lasting activities: "i play guitar" -> "Plays guitar".
const std::unordered_map<std::string_view, std::string_view>& habit_verbs() {
  static const std::unordered_map<std::string_view, std::string_view> m = {
      {"play", "interests"},    {"drive", "other"},         {"eat", "preferences"},
      {"drink", "health"},      {"read", "interests"},      {"write", "interests"},
      {"cook", "interests"},    {"bake", "interests"},      {"watch", "interests"},
      {"listen", "interests"},  {"collect", "interests"},   {"run", "interests"},
      {"swim", "interests"},    {"ride", "interests"},      {"teach", "work"},
      {"study", "work"},        {"volunteer", "interests"}, {"grow", "interests"},
      {"speak", "other"},       {"smoke", "health"},        {"travel", "interests"},
      {"go", "other"},          {"attend", "work"},         {"paint", "interests"},
      {"draw", "interests"},    {"sing", "interests"},      {"dance", "interests"},
      {"knit", "interests"},    {"sew", "interests"},       {"crochet", "interests"},
      {"walk", "interests"},    {"jog", "interests"},       {"hike", "interests"},
      {"fish", "interests"},    {"hunt", "interests"},      {"surf", "interests"},
      {"ski", "interests"},     {"snowboard", "interests"}, {"skate", "interests"},
      {"garden", "interests"},  {"coach", "work"},          {"train", "interests"},
      {"raise", "other"},       {"rescue", "interests"},    {"foster", "interests"},
      {"build", "interests"},   {"fix", "interests"},       {"wear", "other"},
      {"sell", "work"},         {"belong", "other"},        {"support", "interests"},
      {"follow", "interests"},  {"practice", "interests"},  {"practise", "interests"},
      {"do", "interests"},      {"make", "interests"},      {"spend", "interests"},
      {"help", "other"},        {"believe", "other"},       {"homeschool", "relationships"},
      {"tutor", "work"},        {"babysit", "work"},        {"mentor", "work"},
      {"manage", "work"},       {"lift", "interests"},      {"meditate", "interests"},
      {"pray", "other"},        {"bike", "interests"},      {"climb", "interests"},
      {"sail", "interests"},    {"box", "interests"},       {"golf", "interests"},
      {"bowl", "interests"},    {"camp", "interests"},      {"kayak", "interests"},
      {"blog", "interests"},    {"design", "work"},         {"code", "work"},
      {"program", "work"},      {"brew", "interests"},      {"grill", "interests"},
      {"farm", "work"},         {"keep", "interests"},      {"own", "other"},
      {"breed", "interests"},   {"care", "other"},          {"take", "other"},
      {"write", "interests"},   {"vote", "other"},          {"cycle", "interests"},
      {"commute", "work"},      {"attend", "work"},         {"shop", "preferences"},
      {"love", "preferences"},  {"miss", "other"},          {"wake", "other"},
      {"sleep", "health"},      {"exercise", "health"},     {"workout", "interests"},
      {"use", "other"},         {"root", "interests"},      {"cheer", "interests"},
      {"compete", "interests"}, {"race", "interests"},      {"perform", "interests"},
      {"juggle", "interests"},  {"act", "interests"},       {"sculpt", "interests"},
      {"film", "interests"},    {"record", "interests"},    {"restore", "interests"},
      {"hate", "preferences"},  {"visit", "interests"},     {"produce", "work"},
      {"donate", "other"},      {"serve", "work"},          {"deliver", "work"},
      {"repair", "work"},       {"invest", "other"},        {"host", "interests"},
      {"groom", "work"},        {"translate", "work"},      {"edit", "work"}};
  return m;
}

// Verbs of thinking and talking: "i think", "i hope", "i do know" state no lasting fact.
const word_set& mental_verbs() {
  static const word_set s = {"think",   "guess",   "mean",       "know",     "see",    "hope",
                             "feel",    "wish",    "bet",        "agree",    "doubt",  "wonder",
                             "suppose", "imagine", "understand", "believe",  "want",   "need",
                             "say",     "tell",    "ask",        "remember", "forget", "appreciate",
                             "thank",   "promise", "assume",     "hear",     "mind",   "recommend",
                             "suggest", "get",     "try",        "care",     "miss",   "apologize"};
  return s;
}

// Habit verbs that make a fact without an object: "i smoke", "i don't drink".
const word_set& intransitive_habits() {
  static const word_set s = {
      "smoke",     "drink",     "run",      "swim",     "surf",  "hunt",    "fish",       "garden",
      "knit",      "volunteer", "dance",    "sing",     "cook",  "bake",    "paint",      "draw",
      "travel",    "hike",      "meditate", "pray",     "sew",   "crochet", "jog",        "ski",
      "snowboard", "skate",     "bike",     "climb",    "sail",  "box",     "golf",       "bowl",
      "camp",      "kayak",     "blog",     "exercise", "cycle", "drive",   "homeschool", "vote",
      "write",     "read",      "workout",  "compete",  "race",  "perform"};
  return s;
}

// "hiking", "working": a verb's -ing form (not "something", "morning", "spring").
bool is_gerund(std::string_view w) {
  static const word_set nouns = {"something", "anything", "nothing", "everything", "thing",
                                 "morning",   "evening",  "spring",  "string",     "king",
                                 "ring",      "wedding",  "ceiling", "sibling",    "pudding",
                                 "darling",   "during",   "bring",   "sing",       "wing"};
  return w.size() > 4 && w.compare(w.size() - 3, 3, "ing") == 0 && !has(nouns, w);
}

// Words that cannot start an object of their own: pronouns, question words, auxiliaries.
const word_set& object_pronouns() {
  static const word_set s = {
      "it",    "that",   "this",       "you",       "your",    "yours",    "them",      "those",
      "these", "him",    "her",        "what",      "how",     "when",     "where",     "which",
      "there", "here",   "everything", "both",      "one",     "some",     "so",        "too",
      "lots",  "alot",   "much",       "all",       "yall",    "ya",       "y'all",     "he",
      "she",   "they",   "we",         "is",        "are",     "was",      "were",      "do",
      "does",  "did",    "have",       "has",       "had",     "will",     "would",     "can",
      "could", "should", "am",         "be",        "being",   "been",     "not",       "who",
      "why",   "if",     "anything",   "something", "nothing", "either",   "neither",   "whatever",
      "whats", "its",    "his",        "whom",      "ur",      "yourself", "yourselves"};
  return s;
}

// ---------------------------------------------------------------------------------------
// Tokens.

struct token {
  std::string low;   // lower-cased
  std::string orig;  // as typed
  char punct = 0;    // '.', '?', '!', ',' for punctuation tokens; 0 for words
};
using tokens = std::vector<token>;

bool is_word(const token& t) { return t.punct == 0; }

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Replaces the non-ASCII punctuation that matters (curly apostrophes, quotes, dashes,
// ellipsis, emoji) with ASCII; keeps other UTF-8 (accented letters) as word bytes.
std::string clean_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (i + len > in.size()) len = in.size() - i;
    const std::string_view seq = in.substr(i, len);
    i += len;
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(seq[1]) == 0x80) {
      const auto d = static_cast<unsigned char>(seq[2]);
      if (d == 0x98 || d == 0x99)
        out += '\'';
      else if (d == 0xA6)
        out += '.';
      else if (d == 0x93 || d == 0x94)
        out += ',';
      else
        out += ' ';
    } else if (len == 4 || c == 0xE2 || c == 0xEF) {
      out += " , ";  // emoji and symbols: a soft break
    } else if (len == 2 && c == 0xC2) {
      out += ' ';  // nbsp, inverted marks
    } else if (len == 1) {
      out += ' ';  // stray continuation byte
    } else {
      out += seq;
    }
  }
  return out;
}

const std::unordered_map<std::string_view, std::vector<std::string_view>>& expansions() {
  static const std::unordered_map<std::string_view, std::vector<std::string_view>> m = {
      {"i'm", {"i", "am"}},
      {"im", {"i", "am"}},
      {"i've", {"i", "have"}},
      {"ive", {"i", "have"}},
      {"i'd", {"i", "would"}},
      {"i'll", {"i", "will"}},
      {"don't", {"do", "not"}},
      {"dont", {"do", "not"}},
      {"doesn't", {"does", "not"}},
      {"doesnt", {"does", "not"}},
      {"didn't", {"did", "not"}},
      {"didnt", {"did", "not"}},
      {"can't", {"can", "not"}},
      {"cant", {"can", "not"}},
      {"cannot", {"can", "not"}},
      {"won't", {"will", "not"}},
      {"isn't", {"is", "not"}},
      {"isnt", {"is", "not"}},
      {"aren't", {"are", "not"}},
      {"arent", {"are", "not"}},
      {"wasn't", {"was", "not"}},
      {"wasnt", {"was", "not"}},
      {"haven't", {"have", "not"}},
      {"havent", {"have", "not"}},
      {"hasn't", {"has", "not"}},
      {"hasnt", {"has", "not"}},
      {"wouldn't", {"would", "not"}},
      {"wouldnt", {"would", "not"}},
      {"couldn't", {"could", "not"}},
      {"couldnt", {"could", "not"}},
      {"shouldn't", {"should", "not"}},
      {"ain't", {"am", "not"}},
      {"it's", {"it", "is"}},
      {"that's", {"that", "is"}},
      {"thats", {"that", "is"}},
      {"what's", {"what", "is"}},
      {"whats", {"what", "is"}},
      {"there's", {"there", "is"}},
      {"he's", {"he", "is"}},
      {"she's", {"she", "is"}},
      {"we're", {"we", "are"}},
      {"you're", {"you", "are"}},
      {"youre", {"you", "are"}},
      {"they're", {"they", "are"}},
      {"we've", {"we", "have"}},
      {"you've", {"you", "have"}},
      {"they've", {"they", "have"}},
      {"we'll", {"we", "will"}},
      {"gonna", {"going", "to"}},
      {"wanna", {"want", "to"}},
      {"u", {"you"}},
      {"ur", {"your"}},
      {"luv", {"love"}},
      {"we'd", {"we", "would"}},
      {"gotta", {"got", "to"}},
      {"i'ma", {"i", "am", "going", "to"}},
      {"fave", {"favorite"}},
      {"fav", {"favorite"}},
      {"favourite", {"favorite"}},
      {"favorit", {"favorite"}}};
  return m;
}

bool is_contraction_tail(std::string_view s) {
  return s == "m" || s == "s" || s == "re" || s == "ve" || s == "ll" || s == "d" || s == "t";
}

tokens tokenize(std::string_view message) {
  const std::string text = clean_utf8(message);
  // 1. raw words and punctuation
  struct raw {
    std::string s;
    char punct;
  };
  std::vector<raw> rs;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) rs.push_back({std::move(cur), 0});
    cur.clear();
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isalnum(c) || c >= 0x80 || c == '\'' || c == '-') {
      cur += static_cast<char>(c);
    } else if (c == '.' && !cur.empty() && std::isdigit(static_cast<unsigned char>(cur.back())) &&
               i + 1 < n && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      cur += '.';
    } else if (c == '.' || c == '!' || c == '?' || c == ';') {
      flush();
      const char p = c == ';' ? '.' : static_cast<char>(c);
      if (!rs.empty() && rs.back().punct != 0 && rs.back().punct != ',') {
        if (p == '?') rs.back().punct = '?';
      } else {
        rs.push_back({std::string(1, p), p});
      }
    } else if (c == ',' || c == ':' || c == '(' || c == ')') {
      flush();
      if (rs.empty() || rs.back().punct == 0) rs.push_back({",", ','});
    } else {
      flush();
    }
  }
  flush();

  // 2. join split contractions ("i 'm", "i ' m", "do n't"), trim quotes and dashes
  std::vector<raw> ws;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    raw& r = rs[i];
    if (r.punct != 0) {
      ws.push_back(std::move(r));
      continue;
    }
    const bool prev_word = !ws.empty() && ws.back().punct == 0;
    if (r.s == "'" || r.s == "''") {
      if (prev_word && i + 1 < rs.size() && rs[i + 1].punct == 0 &&
          is_contraction_tail(lower(rs[i + 1].s))) {
        ws.back().s += "'" + rs[i + 1].s;
        ++i;
      }
      continue;
    }
    if (prev_word && r.s.size() > 1 && r.s[0] == '\'' &&
        is_contraction_tail(lower(std::string_view(r.s).substr(1)))) {
      ws.back().s += r.s;
      continue;
    }
    if (prev_word) {  // apostrophe lost: "i m", "i ve", "don t"
      const std::string lo = lower(r.s), prev = lower(ws.back().s);
      if ((prev == "i" && (lo == "m" || lo == "ve" || lo == "ll" || lo == "d")) ||
          (lo == "t" && prev.size() > 2 && prev.back() == 'n')) {
        ws.back().s += "'" + r.s;
        continue;
      }
    }
    if (prev_word && lower(r.s) == "n't") {
      ws.back().s += r.s;
      continue;
    }
    ws.push_back(std::move(r));
  }

  tokens out;
  out.reserve(ws.size() + 4);
  for (auto& w : ws) {
    if (w.punct != 0) {
      out.push_back({w.s, w.s, w.punct});
      continue;
    }
    // a dash between spaces ends a thought: "a project - challenging but fun"
    if (w.s.find_first_not_of('-') == std::string::npos) {
      if (!out.empty() && out.back().punct == 0) out.push_back({".", ".", '.'});
      continue;
    }
    std::string s = w.s;
    while (!s.empty() && (s.back() == '\'' || s.back() == '-')) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && (s[b] == '\'' || s[b] == '-')) ++b;
    s.erase(0, b);
    if (s.empty()) continue;
    std::string lo = lower(s);
    const auto& ex = expansions();
    auto it = ex.find(lo);
    if (it != ex.end()) {
      for (std::size_t k = 0; k < it->second.size(); ++k) {
        std::string part(it->second[k]);
        // keep the typed spelling of a one-word replacement's case ("Fave" -> "Favorite")
        std::string orig = part;
        if (k == 0 && !s.empty() && std::isupper(static_cast<unsigned char>(s[0])) && part != "i")
          orig[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(orig[0])));
        if (part == "i") orig = "I";
        out.push_back({part, orig, 0});
      }
      continue;
    }
    out.push_back({std::move(lo), std::move(s), 0});
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Clauses.

struct clause {
  tokens toks;
  bool skip = false;   // question, subordinate or hypothetical
  bool coord = false;  // split off the previous clause at "and <verb>": "i" was supplied
};

const word_set& clause_starters() {
  static const word_set s = {
      "i",        "my",    "we",     "you",      "he",       "she",   "they",    "it",
      "that",     "this",  "there",  "but",      "so",       "and",   "because", "cause",
      "cuz",      "since", "though", "although", "plus",     "or",    "lol",     "haha",
      "hahaha",   "lmao",  "yes",    "no",       "well",     "oh",    "yeah",    "ok",
      "okay",     "wow",   "cool",   "nice",     "hi",       "hey",   "hello",   "thanks",
      "thank",    "do",    "does",   "did",      "are",      "is",    "can",     "what",
      "how",      "who",   "where",  "why",      "when",     "have",  "if",      "not",
      "which",    "your",  "our",    "his",      "her",      "their", "anyway",  "also",
      "actually", "sure",  "yep",    "nope",     "yea",      "great", "awesome", "sounds",
      "its",      "would", "will",   "could",    "should",   "then",  "now",     "just",
      "omg",      "hmm",   "um",     "ah",       "aww",      "same",  "true",    "right",
      "me",       "good",  "sorry",  "maybe",    "probably", "haha",  "lmfao",   "btw",
      "unless",   "while", "whereas"};
  return s;
}

// A clause that begins after one of these is subordinate: "if i had", "when i was".
const word_set& subordinators() {
  static const word_set s = {
      "if",      "when",     "whenever", "unless",   "once",     "until",   "till",      "before",
      "after",   "while",    "as",       "than",     "whether",  "what",    "where",     "how",
      "who",     "why",      "which",    "wish",     "hope",     "hoping",  "hopefully", "maybe",
      "perhaps", "probably", "pretend",  "imagine",  "suppose",  "like",    "that",      "even",
      "say",     "says",     "said",     "whatever", "wherever", "someday", "soon",      "once"};
  return s;
}

const word_set& lead_fillers() {
  static const word_set s = {
      "well",        "oh",         "ohh",         "yes",       "yeah",
      "yea",         "yep",        "yup",         "no",        "nope",
      "nah",         "lol",        "haha",        "hahaha",    "lmao",
      "lmfao",       "ok",         "okay",        "so",        "and",
      "but",         "also",       "plus",        "actually",  "honestly",
      "wow",         "nice",       "cool",        "hi",        "hello",
      "hey",         "sure",       "ah",          "um",        "uh",
      "hmm",         "because",    "cause",       "cuz",       "since",
      "though",      "anyway",     "anyways",     "true",      "same",
      "great",       "awesome",    "then",        "right",     "omg",
      "aww",         "fun",        "btw",         "oh",        "alright",
      "hehe",        "basically",  "personally",  "haha",      "ha",
      "although",    "besides",    "otherwise",   "luckily",   "unfortunately",
      "fortunately", "sadly",      "thankfully",  "currently", "now",
      "nowadays",    "recently",   "lately",      "mostly",    "mainly",
      "originally",  "definitely", "totally",     "really",    "seriously",
      "literally",   "or",         "interesting", "indeed",    "exactly",
      "absolutely",  "sweet",      "dang",        "damn",      "man",
      "dude",        "wait",       "sounds",      "congrats",  "thanks",
      "thank",       "please",     "sorry"};
  return s;
}

bool is_temporary(const tokens& t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i].low;
    if (w == "today" || w == "tonight" || w == "tomorrow" || w == "yesterday" || w == "atm" ||
        w == "rn")
      return true;
    if (w == "all" && i + 1 < t.size() &&
        (t[i + 1].low == "day" || t[i + 1].low == "night" || t[i + 1].low == "morning" ||
         t[i + 1].low == "afternoon" || t[i + 1].low == "evening"))
      return true;
    if (i + 1 < t.size()) {
      const std::string& x = t[i + 1].low;
      if (w == "right" && x == "now") return true;
      if (w == "this" &&
          (x == "morning" || x == "afternoon" || x == "evening" || x == "week" || x == "weekend"))
        return true;
      if (w == "at" && x == "the" && i + 2 < t.size() && t[i + 2].low == "moment") return true;
      if (w == "for" && x == "now") return true;
      if (w == "next" && (x == "week" || x == "month" || x == "year")) return true;
    }
  }
  return false;
}

// Base-form verbs that start a second verb phrase after "and": "... and play guitar".
bool coordinated_verb(std::string_view w) {
  static const word_set extra = {"like", "love", "enjoy", "hate", "prefer",
                                 "work", "live", "have",  "own",  "adore"};
  static const word_set noun_like = {
      "fish",   "box",  "golf",     "bowl",    "camp",  "record", "film",    "race",
      "act",    "care", "use",      "support", "help",  "garden", "program", "code",
      "design", "farm", "practice", "go",      "do",    "make",   "take",    "keep",
      "spend",  "miss", "wake",     "sleep",   "drink", "walk",   "train",   "run"};
  if (has(extra, w)) return true;
  return habit_verbs().count(w) > 0 && !has(noun_like, w);
}

// Words that put the verbs after them in the future, a plan or a possibility: "i will go to
// the gym and exercise" does not say the user exercises.
const word_set& modal_words() {
  static const word_set s = {"will", "can",    "could", "should", "might", "may",
                             "must", "going",  "gonna", "need",   "plan",  "planning",
                             "try",  "trying", "hope",  "hoping", "wanna", "gotta"};
  return s;
}

// "... and love hiking" is a verb; "self-acceptance and love theme" is a noun. After a
// preference verb that is also a noun, only what starts a verb's object counts: "to", a
// gerund, a determiner or a plural.
bool verb_not_noun(const tokens& all, std::size_t i, std::size_t end) {
  static const word_set also_nouns = {"love", "like", "hate", "work", "care", "support"};
  if (!has(also_nouns, all[i].low)) return true;
  if (i + 1 >= end || !is_word(all[i + 1])) return false;
  const std::string& w = all[i + 1].low;
  static const word_set starts = {"to", "the", "my", "a", "an", "all", "our", "most", "being"};
  return has(starts, w) || is_gerund(w) || (w.size() > 3 && w.back() == 's');
}

// The clause so far has the user as subject ("i ...", after fillers) and no negation, whose
// scope over a coordinated verb would be ambiguous ("i don't smoke and drink").
bool user_clause_without_negation(const tokens& t) {
  std::size_t b = 0;
  while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) ++b;
  if (b >= t.size() || t[b].low != "i") return false;
  for (std::size_t i = b; i < t.size(); ++i)
    if (t[i].low == "not" || t[i].low == "never" || t[i].low == "no" || t[i].low == "nor" ||
        t[i].low == "if" || t[i].low == "would" || t[i].low == "want" || t[i].low == "wish" ||
        has(modal_words(), t[i].low))
      return false;
  return true;
}

std::vector<clause> split_clauses(const tokens& all) {
  std::vector<clause> out;
  std::size_t s = 0;
  while (s < all.size()) {
    std::size_t e = s;
    while (e < all.size() && (all[e].punct == 0 || all[e].punct == ',')) ++e;
    const bool question = e < all.size() && all[e].punct == '?';
    // one sentence: [s, e)
    std::vector<clause> cs;
    cs.push_back({});
    for (std::size_t i = s; i < e; ++i) {
      const token& t = all[i];
      clause& cur = cs.back();
      if (t.punct == ',') {
        if (i + 1 < e && is_word(all[i + 1]) && has(clause_starters(), all[i + 1].low)) {
          if (!cur.toks.empty()) cs.push_back({});
        } else if (!cur.toks.empty()) {
          cur.toks.push_back(t);
        }
        continue;
      }
      // "i sing folk music and play piano": the second verb phrase is its own clause
      if ((t.low == "and" || t.low == "but") && i + 1 < e && coordinated_verb(all[i + 1].low) &&
          verb_not_noun(all, i + 1, e) && user_clause_without_negation(cur.toks)) {
        const bool sub = cur.skip;
        cs.push_back({});
        cs.back().skip = sub;
        cs.back().coord = true;
        cs.back().toks.push_back(token{"i", "i", 0});
        continue;
      }
      if (!cur.toks.empty() && (t.low == "i" || t.low == "my")) {
        const std::string& p = cur.toks.back().low;
        bool split = t.low == "i";
        if (t.low == "my")
          split = p == "and" || p == "but" || p == "so" || p == "because" || p == "cause" ||
                  p == "plus" || p == "lol" || p == "haha" || p == "also";
        if (split) {
          const bool sub = has(subordinators(), p);
          cs.push_back({});
          cs.back().skip = sub;
        }
      }
      cs.back().toks.push_back(t);
    }
    if (question)  // the asked clause, and the clauses it was coordinated from
      for (std::size_t k = cs.size(); k-- > 0;) {
        cs[k].skip = true;
        if (!cs[k].coord) break;
      }
    for (auto& c : cs)
      if (!c.toks.empty()) out.push_back(std::move(c));
    s = e + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Rendering objects.

struct ctx {
  bool all_lower = false;  // the message had no capitals: proper nouns must be guessed
  bool additive = false;   // "also", "too", "as well": the fact adds, it does not replace
};

using span = std::vector<const token*>;

const word_set& cut_words() {
  static const word_set s = {
      "you",      "your",     "yours",   "because", "cause",    "cuz",    "since",    "but",
      "although", "though",   "while",   "when",    "whenever", "if",     "unless",   "lol",
      "haha",     "hahaha",   "lmao",    "lmfao",   "omg",      "what",   "how",      "why",
      "where",    "i",        "we",      "he",      "she",      "they",   "hbu",      "wbu",
      "btw",      "anyway",   "anyways", "except",  "until",    "which",  "whereas",  "hehe",
      "xd",       "yourself", "whats",   "though",  "tho",      "unlike", "whatever", "do",
      "does",     "did",      "ever",    "besides", "ya"};
  return s;
}

const word_set& pronoun_after_conj() {
  static const word_set s = {"it",   "he",  "she",   "they", "we",  "that", "this",  "there",
                             "then", "now", "i",     "my",   "you", "your", "those", "these",
                             "his",  "her", "their", "our",  "its", "is",   "was",   "am"};
  return s;
}

const word_set& trailing_drop() {
  static const word_set s = {
      "really",    "just",  "also",       "so",         "too",        "though",    "tho",
      "lol",       "haha",  "either",     "anyway",     "anyways",    "now",       "right",
      "ok",        "okay",  "yes",        "yeah",       "actually",   "honestly",  "basically",
      "lately",    "btw",   "and",        "or",         "but",        "with",      "to",
      "the",       "a",     "an",         "of",         "that",       "who",       "as",
      "for",       "in",    "at",         "on",         "like",       "my",        "their",
      "when",      "than",  "about",      "is",         "are",        "was",       "its",
      "from",      "by",    "very",       "more",       "most",       "this",      "these",
      "those",     "then",  "plus",       "some",       "much",       "well",      "still",
      "again",     "there", "here",       "it",         "too",        "much",      "nowadays",
      "currently", "these", "days",       "definitely", "totally",    "hehe",      "being",
      "am",        "be",    "were",       "all",        "ever",       "sometimes", "kinda",
      "pretty",    "quite", "even",       "any",        "having",     "had",       "has",
      "have",      "will",  "originally", "would",      "can",        "could",     "should",
      "them",      "much",  "before",     "since",      "especially", "ones"};
  return s;
}

// A verb that shows a new subject has started a statement of its own.
bool is_finite_verb(const std::string& w) {
  static const word_set s = {"is",    "was",    "are",   "were",  "has",   "had",  "does",
                             "did",   "will",   "would", "can",   "could", "gets", "seems",
                             "looks", "sounds", "makes", "keeps", "shows", "goes", "comes"};
  return has(s, w);
}

// "pizza, pizza is good", "a small girl it shows their powers": a subject followed by a
// finite verb begins the next thought, inside an object the clause splitter let through.
bool starts_statement(const tokens& t, std::size_t i) {
  if (i + 1 >= t.size() || !is_word(t[i + 1]) || !is_finite_verb(t[i + 1].low)) return false;
  static const word_set subjects = {"it", "there", "that", "this", "everything", "nothing"};
  return has(subjects, t[i].low) || (i > 0 && t[i - 1].punct == ',');
}

// Removes a trailing "<how long> ago": the fact is what happened, not when.
void drop_time_ago(span& o) {
  auto back_in = [&](const word_set& s) { return !o.empty() && has(s, o.back()->low); };
  static const word_set long_words = {"too", "so", "not", "very"};
  static const word_set units = {"second", "seconds", "minute", "minutes", "hour",  "hours",
                                 "day",    "days",    "week",   "weeks",   "month", "months",
                                 "year",   "years",   "decade", "decades", "while"};
  static const word_set numbers = {"one", "two",   "three", "four", "five",
                                   "six", "seven", "eight", "nine", "ten"};
  static const word_set vague = {"a", "an", "few", "couple", "of", "several", "many", "some"};
  static const word_set qualifiers = {"about", "almost", "over", "nearly", "just", "only"};
  o.pop_back();  // "ago"
  if (back_in({"long"})) {
    o.pop_back();
    while (back_in(long_words)) o.pop_back();
    return;
  }
  if (!back_in(units)) return;
  o.pop_back();
  if (back_in(numbers) ||
      (!o.empty() && std::isdigit(static_cast<unsigned char>(o.back()->low[0]))))
    o.pop_back();  // one count only: "their new one two days ago" keeps "one"
  else
    while (back_in(vague)) o.pop_back();
  while (back_in(qualifiers)) o.pop_back();
}

// A time that "last", "this" or "on" can name: "last week", "on Friday", "this season".
bool drop_when_unit(std::string_view w) {
  static const word_set units = {"week",     "weekend",  "month",     "year",     "night",
                                 "monday",   "tuesday",  "wednesday", "thursday", "friday",
                                 "saturday", "sunday",   "summer",    "winter",   "spring",
                                 "fall",     "semester", "season",    "time"};
  return has(units, w);
}

// Removes a trailing "last week", "last Friday", "on Friday", "this past weekend": the fact is
// what happened, not when. True if something was removed.
bool drop_when(span& o) {
  static const word_set days = {"monday", "tuesday",  "wednesday", "thursday",
                                "friday", "saturday", "sunday"};
  if (o.size() < 3 || !drop_when_unit(o.back()->low)) return false;
  const std::string& p = o[o.size() - 2]->low;
  std::size_t n = 0;
  if (p == "last" || p == "past") n = 2;
  if (p == "on" && has(days, o.back()->low)) n = 2;
  if (n == 2 && o.size() >= 4 && (o[o.size() - 3]->low == "this" || o[o.size() - 3]->low == "the"))
    n = 3;  // "this past weekend", "the last year"
  if (n == 0 || o.size() <= n + 1) return false;
  o.resize(o.size() - n);
  return true;
}

// Words whose removal from the end leaves an object missing its own object: "to take it all
// in", "more about it", "going there". Such an object refers to something said before; the
// fact would be unreadable without it, so the rule gives no fact.
const word_set& dangling_words() {
  static const word_set s = {"with",  "to",    "for",  "about", "from", "of",   "in",
                             "at",    "on",    "by",   "it",    "them", "this", "these",
                             "those", "there", "here", "him",   "her"};
  return s;
}

// After a trailing "<preposition> <pronoun>" was trimmed, is what is left still complete?
// "listen to classical music [on it]" is; "love working [on them]", "like to shop [in
// them]", "am allergic [to them]", "have four [of them]" are not.
bool incomplete_after_trim(const span& o) {
  if (o.empty()) return true;
  const std::string& last = o.back()->low;
  if (is_gerund(last)) return true;
  if (o.size() >= 2 && o[o.size() - 2]->low == "to") return true;
  if (adjective_preps().count(last) || am_adjectives().count(last)) return true;
  if (o.size() == 1 && (all_digits(last) || has(number_words(), last))) return true;
  static const word_set open_ends = {"under",   "into",   "over",   "through", "without", "onto",
                                     "towards", "around", "behind", "near",    "after"};
  return has(open_ends, last);
}

// The object span: tokens [b, t.size()) cut at the start of the next thought and trimmed.
// An object that was left dangling by the trim comes back empty.
span object_span(const tokens& t, std::size_t b) {
  span o;
  auto capitalized = [](const token& x) {
    return is_word(x) && !x.orig.empty() && x.orig[0] >= 'A' && x.orig[0] <= 'Z';
  };
  for (std::size_t i = b; i < t.size(); ++i) {
    const token& x = t[i];
    // a name addressed at the end: "love the quote, Sam" (but "Paris, France" stays)
    if (!o.empty() && x.punct == ',' && i + 1 < t.size() && capitalized(t[i + 1]) &&
        (i + 2 >= t.size() || !is_word(t[i + 2])) && !capitalized(*o.back()))
      break;
    // "to be honest", "tbh", "in fact": a comment on the statement, not part of it
    if (!o.empty() &&
        ((x.low == "to" && i + 2 < t.size() && t[i + 1].low == "be" && t[i + 2].low == "honest") ||
         (x.low == "in" && i + 1 < t.size() && t[i + 1].low == "fact") || x.low == "tbh" ||
         x.low == "imo" || x.low == "honestly"))
      break;
    if (!o.empty() && is_word(x)) {
      if (has(cut_words(), x.low) || starts_statement(t, i)) {
        // "a cooking class to learn [how ...]": the purpose lost its object
        if (o.size() >= 3 && o[o.size() - 2]->low == "to" &&
            !has(object_pronouns(), o.back()->low) &&
            !adjective_preps().count(o[o.size() - 3]->low) &&
            !am_adjectives().count(o[o.size() - 3]->low))
          o.resize(o.size() - 2);
        break;
      }
      if ((x.low == "and" || x.low == "so" || x.low == "or" || x.low == "but") &&
          i + 1 < t.size() && has(pronoun_after_conj(), t[i + 1].low))
        break;
      if (x.low == "which" ||
          (x.low == "that" && i + 1 < t.size() && (t[i + 1].low == "is" || t[i + 1].low == "was")))
        break;
    }
    if (o.empty() && !is_word(x)) continue;
    o.push_back(&x);
  }
  // trailing fillers and dangling function words
  bool dangling = false;
  bool of_complement = false;
  while (!o.empty()) {
    const token& x = *o.back();
    if (!is_word(x) || has(trailing_drop(), x.low)) {
      dangling |= has(dangling_words(), x.low);
      of_complement |= x.low == "of";  // "a big fan of [those]", "part of [it]"
      o.pop_back();
      continue;
    }
    if (x.low == "lot" && o.size() >= 2 && o[o.size() - 2]->low == "a") {
      o.resize(o.size() - 2);
      continue;
    }
    if (x.low == "ago") {  // "two days ago", "about three months ago", "not too long ago"
      drop_time_ago(o);
      continue;
    }
    if (drop_when(o)) continue;  // "last week", "on Friday"
    break;
  }
  if (dangling && (of_complement || incomplete_after_trim(o))) o.clear();
  return o;
}

std::size_t word_count(const span& o) {
  std::size_t n = 0;
  for (auto* t : o)
    if (is_word(*t)) ++n;
  return n;
}

void capitalize_first(std::string& s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
}

std::string third_person(const token& t) {
  const std::string& w = t.low;
  if (w == "my" || w == "our") return "their";
  if (w == "me" || w == "us") return "them";
  if (w == "myself" || w == "ourselves") return "themselves";
  if (w == "mine" || w == "ours") return "theirs";
  if (w == "i") return "they";
  return t.orig;
}

const word_set& place_stop() {
  static const word_set s = {
      "a",         "an",           "the",          "my",          "their",
      "our",       "this",         "that",         "some",        "home",
      "town",      "city",         "country",      "house",       "apartment",
      "farm",      "suburbs",      "area",         "place",       "state",
      "village",   "neighborhood", "school",       "hospital",    "night",
      "nights",    "college",      "university",   "restaurant",  "store",
      "shop",      "office",       "bank",         "factory",     "mall",
      "bakery",    "hotel",        "company",      "firm",        "library",
      "church",    "downtown",     "ranch",        "countryside", "rural",
      "small",     "big",          "large",        "tiny",        "local",
      "two",       "one",          "same",         "middle",      "north",
      "south",     "east",         "west",         "northern",    "southern",
      "eastern",   "western",      "upstate",      "central",     "coast",
      "mountains", "woods",        "beach",        "island",      "lake",
      "river",     "gas",          "grocery",      "daycare",     "nursing",
      "pet",       "car",          "law",          "tech",        "retail",
      "fast",      "food",         "warehouse",    "hair",        "salon",
      "coffee",    "pizza",        "construction", "vet",         "zoo",
      "museum",    "military",     "army",         "navy",        "police",
      "fire",      "here",         "there",        "nowhere",     "another",
      "other",     "old",          "tall",         "cabin",       "trailer",
      "condo",     "dorm",         "basement",     "studio",      "loft",
      "tent",      "van",          "boat",         "street",      "road",
      "hometown",  "capital",      "department",   "call",        "center",
      "clinic",    "lab",          "startup",      "agency",      "nonprofit",
      "non",       "kindergarten", "elementary",   "high",        "middle",
      "grade",     "local",        "family",       "parents",     "moms",
      "dads"};
  return s;
}

const word_set& name_stop() {
  static const word_set s = {
      "and",   "with",  "for",    "near",   "in",       "on",    "by",    "since", "because",
      "now",   "but",   "so",     "the",    "a",        "of",    "at",    "to",    "as",
      "for",   "where", "who",    "which",  "when",     "while", "area",  "with",  "or",
      "years", "year",  "months", "part",   "full",     "is",    "was",   "right", "outside",
      "just",  "too",   "also",   "though", "downtown", "city",  "state", "area"};
  return s;
}

// Words to capitalize as a guessed proper noun (lower-case input only).
std::vector<bool> guess_place(const span& o, std::size_t from) {
  std::vector<bool> cap(o.size(), false);
  if (from >= o.size()) return cap;
  if (has(place_stop(), o[from]->low)) return cap;
  for (std::size_t i = from; i < o.size(); ++i) {
    if (!is_word(*o[i]) || has(name_stop(), o[i]->low) || all_digits(o[i]->low)) break;
    cap[i] = true;
  }
  // "new york city" yes, "new jersey" yes; but a guessed run longer than 3 words is prose
  std::size_t n = 0;
  for (bool b : cap) n += b;
  if (n > 3) std::fill(cap.begin(), cap.end(), false);
  return cap;
}

std::string render(const span& o, const ctx& c, const std::vector<bool>* cap = nullptr) {
  std::string out;
  for (std::size_t i = 0; i < o.size(); ++i) {
    const token& t = *o[i];
    if (t.punct == ',') {
      out += ',';
      continue;
    }
    if (!is_word(t)) continue;
    // "the us" is the country, not the pronoun
    std::string w =
        (t.low == "us" && i > 0 && o[i - 1]->low == "the") ? std::string("US") : third_person(t);
    const bool after_name = i > 0 && (o[i - 1]->low == "named" || o[i - 1]->low == "called");
    if (c.all_lower && ((cap && (*cap)[i]) || after_name || has(nationality_words(), t.low)))
      capitalize_first(w);
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Categories.

std::string classify(const span& o, std::string_view dflt) {
  if (dflt == "location" || dflt == "health" || dflt == "work") return std::string(dflt);
  bool health = false, family = false, work = false, hobby = false;
  for (auto* t : o) {
    const std::string& w = t->low;
    health |= has(health_words(), w);
    family |= has(family_words(), w);
    work |= has(occupation_words(), w) || has(job_words(), w);
    hobby |= has(hobby_words(), w);
  }
  if (health && dflt != "interests") return "health";
  if (family) return "relationships";
  if (work) return "work";
  if (hobby && dflt != "relationships") return "interests";
  return std::string(dflt);
}

// ---------------------------------------------------------------------------------------
// Rules.

constexpr std::size_t max_object_words = 12;

struct rule_result {
  bool ok = false;
  extracted_fact f;
};

rule_result make(std::string text, std::string category) {
  rule_result r;
  if (text.empty()) return r;
  capitalize_first(text);
  r.ok = true;
  r.f.text = std::move(text);
  r.f.category = std::move(category);
  return r;
}

// Words that carry no content of their own: an object made only of these ("with
// regularly", "everywhere", "after") says nothing.
bool content_free(const std::string& w) {
  static const word_set s = {
      "everywhere", "anywhere",   "somewhere",  "often",      "everyday",   "after",
      "before",     "during",     "anymore",    "together",   "around",     "again",
      "almost",     "later",      "soon",       "best",       "less",       "alone",
      "not",        "no",         "regularly",  "daily",      "weekly",     "usually",
      "constantly", "frequently", "normally",   "generally",  "especially", "exactly",
      "certainly",  "hopefully",  "mostly",     "absolutely", "completely", "probably",
      "something",  "someone",    "somebody",   "things",     "stuff",      "anything",
      "everything", "everyone",   "especially", "ones"};
  return has(s, w) || has(trailing_drop(), w);
}

bool object_ok(const span& o, std::size_t max_words = max_object_words) {
  const std::size_t n = word_count(o);
  if (n < 1 || n > max_words) return false;
  if (is_finite_verb(o.front()->low)) return false;  // "love makes writing fun"
  const std::string& first = o.front()->low;
  // "a book i read last year reminds me": a relative clause, its object came before "i"
  if ((first == "last" || first == "this" || first == "next") && o.size() > 1 &&
      drop_when_unit(o[1]->low))
    return false;
  // "obsessed with the way [they create ...]": the rest was cut
  if (o.size() >= 2 && o.back()->low == "way" && o[o.size() - 2]->low == "the") return false;
  // "love seeing them eat fruit", "a big fan of those": about something said before
  static const word_set anaphora = {"it", "them", "they", "those", "these", "him", "he", "she"};
  for (std::size_t i = 0; i < o.size(); ++i) {
    const bool it_job =
        o[i]->low == "it" && i > 0 && (o[i - 1]->low == "in" || o[i - 1]->low == "the");
    if (has(anaphora, o[i]->low) && !it_job) return false;  // "works in it": IT
  }
  for (auto* x : o)
    if (is_word(*x) && !content_free(x->low)) return true;
  return false;
}

std::string conjugate(std::string_view v) {
  std::string s(v);
  if (s == "have") return "has";
  if (s == "do") return "does";
  if (s == "go") return "goes";
  if (s.size() >= 2) {
    const char a = s[s.size() - 2], b = s.back();
    if (b == 'y' && a != 'a' && a != 'e' && a != 'o' && a != 'u') {
      s.pop_back();
      return s + "ies";
    }
    if (b == 's' || b == 'x' || b == 'z' || (a == 's' && b == 'h') || (a == 'c' && b == 'h'))
      return s + "es";
  }
  return s + "s";
}

bool is_participle(std::string_view w) {
  static const word_set irregular = {
      "been",   "seen",    "done",      "gone",       "had",       "got",       "gotten", "made",
      "heard",  "known",   "taken",     "given",      "written",   "eaten",     "driven", "flown",
      "grown",  "met",     "won",       "lost",       "found",     "thought",   "bought", "brought",
      "taught", "read",    "become",    "come",       "left",      "kept",      "said",   "told",
      "felt",   "spent",   "sent",      "built",      "ridden",    "swum",      "sung",   "begun",
      "broken", "chosen",  "forgotten", "fallen",     "worn",      "put",       "always", "ever",
      "just",   "already", "also",      "finally",    "recently",  "since",     "run",    "played",
      "never",  "really",  "actually",  "definitely", "seriously", "literally", "only",   "even",
      "hit",    "tried",   "learned",   "learnt",     "started",   "shared"};
  if (has(irregular, w)) return true;
  static const word_set ed_nouns = {"hundred", "bed",   "red",   "shed",  "sled", "need",
                                    "seed",    "speed", "breed", "weed",  "feed", "bread",
                                    "bred",    "steed", "tweed", "greed", "creed"};
  return w.size() >= 4 && w.substr(w.size() - 2) == "ed" && !has(ed_nouns, w);
}

// Activities that mean something without an object: "i've been surfing", "started knitting".
const word_set& activities_alone() {
  static const word_set s = {
      "surfing",   "swimming", "hiking",      "running",    "jogging",       "biking",
      "cycling",   "dancing",  "singing",     "painting",   "drawing",       "knitting",
      "gardening", "coding",   "programming", "blogging",   "streaming",     "volunteering",
      "baking",    "cooking",  "reading",     "writing",    "skateboarding", "skiing",
      "climbing",  "fishing",  "meditating",  "journaling", "sketching",     "sculpting",
      "boxing",    "kayaking", "camping",     "traveling",  "travelling",    "studying"};
  return s;
}

// Activities that say something only with an object: "i've been teaching [my siblings
// coding]", not "i've been playing [for a month]".
const word_set& activities_with_object() {
  static const word_set s = {"teaching", "learning",   "practicing",    "practising",  "training",
                             "playing",  "collecting", "taking",        "mentoring",   "coaching",
                             "tutoring", "designing",  "building",      "researching", "dating",
                             "saving",   "raising",    "attending",     "going",       "doing",
                             "working",  "exploring",  "experimenting", "creating",    "making",
                             "growing",  "recording",  "performing",    "fostering",   "competing"};
  return s;
}

// The category an activity gives when its object does not decide: mostly interests.
std::string activity_category(std::string_view g) {
  static const std::unordered_map<std::string_view, std::string_view> m = {
      {"teaching", "work"},        {"studying", "work"},         {"mentoring", "work"},
      {"coaching", "work"},        {"tutoring", "work"},         {"working", "work"},
      {"dating", "relationships"}, {"raising", "relationships"}, {"fostering", "relationships"},
      {"saving", "other"},         {"attending", "other"},       {"going", "other"}};
  auto it = m.find(g);
  return it == m.end() ? "interests" : std::string(it->second);
}

// "taking pottery classes", "taking a course in French": classes within three words.
bool takes_classes(const tokens& t, std::size_t p) {
  for (std::size_t q = p + 1; q < t.size() && q <= p + 3; ++q)
    if (t[q].low == "class" || t[q].low == "classes" || t[q].low == "lessons" ||
        t[q].low == "course" || t[q].low == "courses")
      return true;
  return false;
}

// The gerund at t[p] has a real object after it, or needs none.
bool activity_with_object(const tokens& t, std::size_t p) {
  if (has(activities_alone(), t[p].low)) return true;
  if (p + 1 >= t.size() || !is_word(t[p + 1])) return false;
  const std::string& w = t[p + 1].low;
  // "a lot", "a bit", "a while" measure; "a new language" is an object
  if (w == "a" && p + 2 < t.size() &&
      (t[p + 2].low == "lot" || t[p + 2].low == "bit" || t[p + 2].low == "while" ||
       t[p + 2].low == "little" || t[p + 2].low == "few"))
    return false;
  static const word_set no_object = {"for",     "since",  "lately",   "recently", "so",    "too",
                                     "real",    "really", "hard",     "again",    "more",  "non",
                                     "nonstop", "what",   "this",     "that",     "these", "those",
                                     "things",  "stuff",  "something"};
  return !has(no_object, w);
}

// After "i have": "Has two dogs", "Does not have kids".
rule_result have_rule(const tokens& t, std::size_t p, bool neg, const ctx& c) {
  if (p < t.size() && t[p].low == "got") ++p;
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w2 = p + 2 < t.size() ? t[p + 2].low : std::string();
  if (w0 == "to" || w0 == "not") return {};
  // "the support i've got from friends", "the connection i have with my siblings": a
  // relative clause whose object came before "i"
  static const word_set preps = {"from", "with", "for", "about", "in",
                                 "on",   "at",   "by",  "of",    "into"};
  if (has(preps, w0)) return {};
  if (w0 == "been" && !neg) {
    if (w1 == "a" || w1 == "an" || w1 == "to" || has(relationship_status_words(), w1) ||
        has(diet_words(), w1)) {
      span o = object_span(t, p);
      if (!object_ok(o, max_object_words + 1)) return {};
      std::string cat = classify(o, w1 == "to" ? "interests" : "other");
      if (has(relationship_status_words(), w1)) cat = "relationships";
      if (has(diet_words(), w1)) cat = "health";
      return make("has " + render(o, c), cat);
    }
    return {};
  }
  if (w0 == "never") return {};  // "has never been to X": rarely worth remembering
  if (w0 == "never" && !neg) {
    if (!is_participle(w1) || w1 == "never" || w1 == "ever") return {};
    span o = object_span(t, p);
    if (!object_ok(o, max_object_words + 1) || word_count(o) < 3) return {};
    return make("has " + render(o, c), classify(o, "other"));
  }
  // "i have actually met taylor swift", "i've won two medals": experiences worth keeping
  static const word_set experienced = {"met",       "won",      "visited",   "climbed",
                                       "published", "traveled", "travelled", "completed"};
  {
    std::size_t q = p;
    while (q < t.size() && (t[q].low == "actually" || t[q].low == "already" || t[q].low == "also" ||
                            t[q].low == "even" || t[q].low == "once"))
      ++q;
    if (q < t.size() && has(experienced, t[q].low) && !neg) {
      if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return {};
      span o = object_span(t, q);
      if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
      return make("has " + render(o, c), classify(o, "other"));
    }
  }
  if (is_participle(w0)) return {};
  // "one dog" is a count; "one" alone refers back ("i have one")
  const bool one_of = w0 == "one" && p + 1 < t.size() && is_word(t[p + 1]) &&
                      !has(object_pronouns(), w1) && w1 != "of";
  if (has(object_pronouns(), w0) && !one_of) return {};
  static const word_set bad_first = {
      "fun",     "plans",  "homework", "class",  "time",    "work",      "school",   "questions",
      "faith",   "hope",   "enough",   "lunch",  "dinner",  "breakfast", "practice", "church",
      "company", "guests", "company",  "people", "friends", "issues",    "trouble",  "problems",
      "ideas",   "hopes",  "news",     "to",     "tons",    "like",      "dreams",   "yet",
      "still",   "luck",   "mixed",    "more",   "less",    "kinda",     "literally"};
  if (bad_first.count(w0) && !neg) return {};
  static const word_set bad_second = {
      "question", "idea",     "clue",  "feeling", "chance",      "look",  "try",        "point",
      "meeting",  "date",     "test",  "exam",    "appointment", "cold",  "headache",   "problem",
      "doubt",    "blast",    "day",   "night",   "weekend",     "week",  "party",      "interview",
      "game",     "lot",      "bunch", "ton",     "couple",      "break", "dream",      "flight",
      "feeling",  "hangover", "fever", "reason",  "tough",       "hard",  "rough",      "busy",
      "long",     "crazy",    "quick", "few",     "way",         "sense", "preference", "thing",
      "favorite", "say"};
  if ((w0 == "a" || w0 == "an" || w0 == "no" || w0 == "the") && bad_second.count(w1)) {
    // "a lot of friends" is fine, "a lot of fun" / "a lot of work" is not
    if (!((w1 == "lot" || w1 == "bunch" || w1 == "couple" || w1 == "ton") && w2 == "of" &&
          p + 3 < t.size() &&
          (has(family_words(), t[p + 3].low) || has(pet_words(), t[p + 3].low))))
      return {};
  }
  // "great news", "a funny story", "some exciting news": something to tell, not to keep
  static const word_set told = {"news", "story", "stories", "update", "updates", "idea", "ideas"};
  if (has(told, w0) || has(told, w1) ||
      (has(told, w2) && (w0 == "a" || w0 == "an" || w0 == "some")))
    return {};
  if ((w0 == "a" || w0 == "an") &&
      (w1 == "good" || w1 == "great" || w1 == "nice" || w1 == "wonderful" || w1 == "lovely" ||
       w1 == "fun" || w1 == "bad") &&
      (w2 == "day" || w2 == "time" || w2 == "night" || w2 == "weekend" || w2 == "week" ||
       w2 == "one" || w2 == "point" || w2 == "idea" || w2 == "question" || w2 == "feeling"))
    return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (word_count(o) == 1 && (o[0]->low == "one" || o[0]->low == "some" || o[0]->low == "any" ||
                             o[0]->low == "no" || o[0]->low == "a" || o[0]->low == "two" ||
                             o[0]->low == "three" || o[0]->low == "many" || all_digits(o[0]->low)))
    return {};
  bool pet = false;
  for (auto* x : o) pet |= has(pet_words(), x->low);
  std::string cat = classify(o, "other");
  if (pet && cat != "health") cat = "relationships";  // "a dog named X" is family
  return make(std::string(neg ? "does not have " : "has ") + render(o, c), cat);
}

// "i like/love/enjoy/prefer/hate ..." (neg: "i don't like").
rule_result pref_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                      const std::string& adv, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  // "love and acceptance should be ...": the noun "love", not the verb
  if (w0 == "and" || w0 == "or" || w0 == "but" || w0 == "than") return {};
  if (has(object_pronouns(), w0) || w0 == "ur" || w0 == "hearing" || w0 == "talking" ||
      w0 == "chatting" || w0 == "meeting" || (w0 == "reading" && w1 == "about") || w0 == "when" ||
      w0 == "how" ||
      (w0 == "the" &&
       (w1 == "idea" || w1 == "sound" || w1 == "name" || w1 == "way" || w1 == "fact")))
    return {};
  if (w0 == "to") {
    static const word_set bad = {"hear",  "know", "see",  "say",   "talk",  "chat", "meet",
                                 "think", "be",   "do",   "get",   "have",  "help", "try",
                                 "go",    "make", "come", "learn", "visit", "tell", "ask"};
    if (bad.count(w1) && (p + 2 >= t.size() || !is_word(t[p + 2]) ||
                          has(object_pronouns(), t[p + 2].low) || t[p + 2].low == "about"))
      return {};
  }
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (word_count(o) == 1 && (o[0]->low == "to" || o[0]->low == "a" || o[0]->low == "the"))
    return {};
  std::string head;
  if (neg) {
    head = "does not " + std::string(verb) + " ";
  } else {
    std::string v = conjugate(verb);
    head = adv.empty() ? v + " " : adv + " " + v + " ";
  }
  std::string dflt = "preferences";
  const bool positive = !neg && verb != "hate" && verb != "dislike" && verb != "detest";
  if (positive && (w0 == "to" || (w0.size() > 4 && w0.substr(w0.size() - 3) == "ing")))
    dflt = "interests";
  std::string cat = classify(o, dflt);
  if (!positive && cat == "interests") cat = "preferences";
  return make(head + render(o, c), cat);
}

rule_result work_rule(const tokens& t, std::size_t p, bool neg, const ctx& c) {
  if (p >= t.size()) {
    if (neg) return make("does not work", "work");
    return {};
  }
  const std::string& w0 = t[p].low;
  if (w0 == "out") {
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    return make(std::string(neg ? "does not work " : "works ") + render(o, c), "interests");
  }
  static const word_set bad = {"there", "here", "too",  "so", "hard", "tomorrow", "today",
                               "it",    "that", "with", "on", "for",  "at",       "as"};
  if (has(object_pronouns(), w0) && w0 != "two") return {};
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  if ((w0 == "with" || w0 == "on" || w0 == "for" || w0 == "at" || w0 == "as") &&
      (w1.empty() || has(object_pronouns(), w1)))
    return {};
  if ((w0 == "there" || w0 == "here" || w0 == "too" || w0 == "so" || w0 == "tomorrow")) return {};
  (void)bad;
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  std::vector<bool> cap;
  const std::vector<bool>* capp = nullptr;
  if (w0 == "at" || w0 == "for") {
    cap = guess_place(o, 1);
    capp = &cap;
  }
  return make(std::string(neg ? "does not work " : "works ") + render(o, c, capp), "work");
}

rule_result live_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& w0 = t[p].low;
  static const word_set where = {"in",    "on",     "near", "at",       "by",  "outside",
                                 "close", "around", "just", "downtown", "off", "right"};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  if (w0 == "with") {
    if (word_count(o) < 2 || has(object_pronouns(), o[1]->low)) return {};
    return make("lives " + render(o, c), "relationships");
  }
  if (w0 == "alone" || (w0 == "by" && p + 1 < t.size() && t[p + 1].low == "myself"))
    return make("lives alone", "other");
  if (!has(where, w0) || word_count(o) < 2) return {};
  if (has(object_pronouns(), o[1]->low)) return {};
  for (std::size_t i = 2; i < o.size(); ++i)
    if (o[i]->low == "with") {  // "in Seattle with my husband": the place is the value
      o.resize(i);
      break;
    }
  std::size_t from = 1;
  while (from < o.size() && (o[from]->low == "in" || o[from]->low == "to" ||
                             o[from]->low == "outside" || o[from]->low == "of"))
    ++from;
  auto cap = guess_place(o, from);
  return make("lives " + render(o, c, &cap), "location");
}

// "moved to X" -> "Lives in X".
rule_result moved_rule(const tokens& t, std::size_t p, const ctx& c) {
  while (p < t.size() &&
         (t[p].low == "here" || t[p].low == "back" || t[p].low == "over" || t[p].low == "out" ||
          t[p].low == "away" || t[p].low == "down" || t[p].low == "up" || t[p].low == "recently"))
    ++p;
  if (p >= t.size() || t[p].low != "to") return {};
  ++p;
  if (p >= t.size() || has(object_pronouns(), t[p].low)) return {};
  span o = object_span(t, p);
  static const word_set when = {"last",   "recently", "about", "around", "few", "couple", "years",
                                "months", "weeks",    "since", "after",  "for", "in",     "two",
                                "three",  "a",        "with",  "from",   "back"};
  for (std::size_t i = 1; i < o.size(); ++i)
    if (has(when, o[i]->low) || all_digits(o[i]->low)) {  // "to Denver last year"
      o.resize(i);
      break;
    }
  if (!object_ok(o, 8)) return {};
  auto cap = guess_place(o, 0);
  return make("lives in " + render(o, c, &cap), "location");
}

rule_result am_rule(const tokens& t, std::size_t p, const ctx& c) {
  static const word_set fill = {
      "also",       "really",    "just",    "actually", "still",       "currently", "now",
      "definitely", "basically", "totally", "so",       "very",        "pretty",    "quite",
      "kinda",      "literally", "always",  "truly",    "originally",  "extremely", "super",
      "happily",    "proudly",   "mostly",  "mainly",   "technically", "officially"};
  bool neg = false;
  while (p < t.size() && (has(fill, t[p].low) || t[p].low == "not")) {
    if (t[p].low == "not") neg = true;
    ++p;
  }
  if (p >= t.size()) return {};
  if (neg && !has(relationship_status_words(), t[p].low) && !has(diet_words(), t[p].low) &&
      !(t[p].low == "a" && p + 1 < t.size() && has(diet_words(), t[p + 1].low)))
    return {};
  const std::string head = neg ? "is not " : "is ";
  const std::string& w0 = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w2 = p + 2 < t.size() ? t[p + 2].low : std::string();

  // age
  if (all_digits(w0) || has(number_words(), w0)) {
    std::size_t q = p;
    std::string num;
    while (q < t.size() && (all_digits(t[q].low) || has(number_words(), t[q].low))) {
      if (!num.empty()) num += ' ';
      num += t[q].low;
      ++q;
    }
    const std::string a = q < t.size() ? t[q].low : std::string();
    const std::string b = q + 1 < t.size() ? t[q + 1].low : std::string();
    const bool digits = all_digits(w0);
    if ((a == "years" || a == "year" || a == "yrs" || a == "yr") && (b == "old" || b == "young"))
      return neg ? rule_result{} : make("is " + num + " years old", "other");
    if (digits && q == p + 1 &&
        (a.empty() || q >= t.size() || !is_word(t[q]) || a == "and" || a == "with")) {
      const int v = std::stoi(w0.size() > 3 ? std::string("999") : w0);
      if (v >= 5 && v <= 110 && !neg) return make("is " + num + " years old", "other");
    }
    if (a == "feet" || a == "foot" || a == "ft") {
      span o = object_span(t, p);
      if (object_ok(o, 5)) return make(head + render(o, c), "other");
    }
    return {};
  }
  // lower-case chat drops articles: "i am gold medalist", "i am ex military"
  if (!neg && w0 != "a" && w0 != "an" && w0 != "the" && !has(object_pronouns(), w0) &&
      !is_gerund(w0) && !is_participle(w0)) {
    span o = object_span(t, p);
    const std::size_t n = word_count(o);
    static const word_set extra = {"medalist", "olympian", "military", "survivor", "marine"};
    if (n >= 2 && n <= 3 && is_word(*o.back()) &&
        (has(occupation_words(), o.back()->low) || has(extra, o.back()->low)) &&
        (w0 == "ex" || w0 == "former" || has(occupation_words(), w0) || word_count(o) == 2) &&
        object_ok(o))
      return make(head + render(o, c), "work");
  }
  if (w0 == "a" || w0 == "an") {
    if (w1.empty() || w1 == "little" || w1 == "bit" || w1 == "lot" || w1 == "few" || w1 == "mess" ||
        w1 == "wreck" || w1 == "tad" || w1 == "while" || w1 == "sucker" || w1 == "natural")
      return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    {  // "i'm a huge fan!": a reaction unless it says of what ("a coffee lover" is fine)
      static const word_set fans = {"fan", "lover", "fanatic", "buff", "junkie", "enthusiast"};
      static const word_set intensifiers = {"a",    "an",   "big",   "huge", "massive", "total",
                                            "true", "real", "great", "die",  "hard",    "biggest"};
      bool only_intensifiers = has(fans, o.back()->low);
      for (std::size_t i = 0; i + 1 < o.size(); ++i)
        only_intensifiers &= !is_word(*o[i]) || has(intensifiers, o[i]->low);
      if (only_intensifiers) return {};
    }
    bool occ = false, fam = false, diet = false, fan = false;
    for (auto* x : o) {
      occ |= has(occupation_words(), x->low);
      fam |= has(family_words(), x->low);
      diet |= has(diet_words(), x->low);
      fan |= x->low == "fan" || x->low == "lover" || x->low == "fanatic" || x->low == "nerd" ||
             x->low == "geek" || x->low == "buff" || x->low == "junkie" || x->low == "enthusiast";
    }
    std::string cat = "other";
    if (diet)
      cat = "health";
    else if (fan)
      cat = classify(o, "interests");
    else if (fam)
      cat = "relationships";
    else if (occ)
      cat = "work";
    else
      cat = classify(o, "other");
    return make(head + render(o, c), cat);
  }
  if (w0 == "the") {
    static const word_set ok = {"oldest",    "youngest", "middle", "only",  "eldest",  "baby",
                                "first",     "second",   "third",  "owner", "manager", "captain",
                                "president", "ceo",      "head",   "lead",  "founder", "coach"};
    if (!ok.count(w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    std::string cat = classify(o, "other");
    if (w1 == "oldest" || w1 == "youngest" || w1 == "middle" || w1 == "eldest" || w1 == "baby" ||
        (w1 == "only" && w2 == "child"))
      cat = "relationships";
    return make(head + render(o, c), cat);
  }
  if (w0 == "from") {
    if (w1.empty() || has(object_pronouns(), w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o, 8)) return {};
    auto cap = guess_place(o, 1);
    return make(head + render(o, c, &cap), "location");
  }
  if (w0 == "into") {
    if (w1.empty() || has(object_pronouns(), w1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o)) return {};
    return make(head + render(o, c), classify(o, "interests"));
  }
  if (w0 == "in") {
    static const word_set ok = {
        "college",    "school",  "university",   "grad",      "army",         "navy",    "military",
        "marines",    "air",     "band",         "choir",     "relationship", "grade",   "med",
        "law",        "nursing", "medical",      "high",      "wheelchair",   "love",    "recovery",
        "remission",  "therapy", "construction", "sales",     "marketing",    "finance", "retail",
        "healthcare", "it",      "tech",         "insurance", "real",         "charge"};
    bool hit = false;
    for (std::size_t q = p + 1; q < t.size() && q < p + 5; ++q) hit |= ok.count(t[q].low) > 0;
    if (!hit || w1 == "it" || (w1 == "the" && w2 == "mood")) return {};
    span o = object_span(t, p);
    if (!object_ok(o, 8)) return {};
    std::string cat = "work";
    for (auto* x : o) {
      if (x->low == "relationship" || x->low == "love") cat = "relationships";
      if (x->low == "wheelchair" || x->low == "recovery" || x->low == "remission" ||
          x->low == "therapy")
        cat = "health";
      if (x->low == "band" || x->low == "choir") cat = "interests";
    }
    return make(head + render(o, c), cat);
  }
  // "i am working at X", "i'm living in X"
  if (w0 == "working" && (w1 == "as" || w1 == "at" || w1 == "for" || w1 == "in") && !neg)
    return work_rule(t, p + 1, false, c);
  if (w0 == "living" && !neg) return live_rule(t, p + 1, c);
  // "i'm working on a new game": a project that goes on
  if (w0 == "working" && w1 == "on" && !neg) {
    static const word_set thing_start = {"a",    "an",      "my",  "our", "the",
                                         "some", "another", "new", "two", "three"};
    const bool gerund = is_gerund(w2);
    if (!has(thing_start, w2) && !gerund) return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 3) return {};
    return make(head + render(o, c), classify(o, "interests"));
  }
  static const std::unordered_map<std::string_view, std::string_view> progressive = {
      {"studying", "work"},
      {"majoring", "work"},
      {"learning", "interests"},
      {"training", "interests"},
      {"saving", "other"},
      {"attending", "work"},
      {"raising", "relationships"},
      {"writing", "interests"},
      {"homeschooling", "relationships"},
      {"expecting", "relationships"},
      {"volunteering", "interests"},
      {"pursuing", "work"},
      {"planning", "other"},
      {"getting", "other"},
      {"going", "work"},
      {"teaching", "work"},
      {"running", "work"},
      {"building", "interests"},
      {"recovering", "health"},
      {"trying", "other"},
      {"looking", "work"},
      {"practicing", "interests"},
      {"practising", "interests"},
      {"mentoring", "work"},
      {"coaching", "work"},
      {"tutoring", "work"},
      {"fostering", "relationships"},
      {"taking", "interests"}};
  auto pit = progressive.find(w0);
  if (pit != progressive.end() && !neg) {
    if (w0 == "going" &&
        !(w1 == "to" && (w2 == "school" || w2 == "college" || w2 == "university" || w2 == "grad" ||
                         w2 == "law" || w2 == "med" || w2 == "nursing")))
      return {};
    if (w0 == "getting" && w1 != "married" && w1 != "divorced") return {};
    if (w0 == "planning" || w0 == "trying") return {};
    if (w0 == "looking" && w1 != "for") return {};
    if (w0 == "taking" && !takes_classes(t, p)) return {};
    if (w0 == "running" && w1 != "a" && w1 != "my" && w1 != "marathons") return {};
    if (w1.empty() || has(object_pronouns(), w1) || w1 == "up") return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 2) return {};
    return make(head + render(o, c), classify(o, pit->second));
  }
  auto ait = am_adjectives().find(w0);
  if (ait == am_adjectives().end() && !has(nationality_words(), w0)) return {};
  std::string cat = ait != am_adjectives().end() ? std::string(ait->second) : "other";
  auto prep = adjective_preps().find(w0);
  if (prep != adjective_preps().end()) {
    const bool bare_ok =
        relationship_status_words().count(w0) || w0 == "allergic" || w0 == "good" || w0 == "great";
    if (!prep->second.count(w1)) {
      if (w0 == "good" || w0 == "great" || w0 == "bad" || w0 == "terrible" || w0 == "awful" ||
          w0 == "close" || w0 == "related" || w0 == "left" || w0 == "right" || w0 == "currently" ||
          w0 == "crazy" || w0 == "self" || w0 == "afraid" || w0 == "scared" || w0 == "terrified" ||
          w0 == "frightened" || w0 == "interested" || w0 == "obsessed" || w0 == "addicted" ||
          w0 == "passionate" || w0 == "fascinated" || w0 == "fluent" || w0 == "partly" ||
          w0 == "partially" || w0 == "colour" || w0 == "color" || w0 == "deathly" ||
          w0 == "lactose" || w0 == "gluten" || !bare_ok)
        return {};
    }
    if (w0 == "good" || w0 == "great") cat = classify(object_span(t, p + 2), "interests");
  }
  if (w0 == "expecting" || w0 == "originally") return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  // bare adjectives take a short complement only ("married with two kids", "deaf in one ear")
  if (prep == adjective_preps().end() && word_count(o) > 6) return {};
  if (has(relationship_status_words(), w0)) cat = "relationships";
  std::vector<bool> cap;
  if (w0 == "fluent" && c.all_lower) {
    cap.assign(o.size(), false);
    for (std::size_t i = 2; i < o.size(); ++i)
      if (o[i]->low != "and" && o[i]->low != "in" && is_word(*o[i])) cap[i] = true;
  }
  return make(head + render(o, c, cap.empty() ? nullptr : &cap), cat);
}

rule_result habit_rule(const tokens& t, std::size_t p, std::string_view verb, bool neg,
                       const std::string& adv, const ctx& c) {
  auto it = habit_verbs().find(verb);
  if (it == habit_verbs().end()) return {};
  const std::string w0 = p < t.size() && is_word(t[p]) ? t[p].low : std::string();
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  std::string v = neg ? "does not " + std::string(verb) : conjugate(verb);
  if (!adv.empty() && !neg) v = adv + " " + v;
  if (w0.empty()) {
    if (!has(intransitive_habits(), verb)) return {};
    return make(v, it->second == "preferences" ? std::string("other") : std::string(it->second));
  }
  if (has(object_pronouns(), w0) && !(w0 == "a" || w0 == "one")) return {};
  if (verb == "go" && (w0 == "home" || w0 == "back" || w0 == "out" || w0 == "there" ||
                       w0 == "with" || w0 == "now" || w0 == "for" ||
                       (w0 == "to" && (w1 == "bed" || w1 == "sleep" ||
                                       (w1 == "the" && p + 2 < t.size() &&
                                        (t[p + 2].low == "store" || t[p + 2].low == "bathroom" ||
                                         t[p + 2].low == "mall")) ||
                                       has(object_pronouns(), w1) || w1 == "see"))))
    return {};
  if (verb == "do" &&
      (w0 == "not" || w0 == "too" || w0 == "like" || w0 == "love" || w0 == "have" ||
       w0 == "enjoy" || w0 == "know" || w0 == "think" || w0 == "agree" || w0 == "the" ||
       w0 == "my" || w0 == "a" || w0 == "so" || w0 == "well" || w0 == "okay" || w0 == "ok" ||
       w0 == "alright" || w0 == "good" || w0 == "fine" || w0 == "great" || w0 == "nothing" ||
       w0 == "for" || w0 == "to" || w0 == "as" || has(mental_verbs(), w0) || w0 == "it" ||
       w0 == "that" || w0 == "this" || w0 == "that" || w0 == "what"))
    return {};
  // "i go to church", "i go hiking"; not "i go wild", "i go twice a day"
  if (verb == "go" && w0 != "to" && !is_gerund(w0)) return {};
  if (verb == "make" && (w0 == "sure" || w0 == "a" || w0 == "the" || w0 == "time")) return {};
  if (verb == "take" && !(w0 == "care" || w0 == "classes" || w0 == "lessons")) return {};
  if (verb == "care" && !(w0 == "for")) return {};
  if (verb == "help" && w0 != "out" && w0 != "my" && w0 != "people" && w0 != "kids" && w0 != "at" &&
      w0 != "with")
    return {};
  if (verb == "believe" && w0 != "in") return {};
  if (verb == "keep" && w0 != "bees" && w0 != "chickens" && w0 != "a" && w0 != "fish") return {};
  if (verb == "use" && w0 != "a") return {};
  if (verb == "miss" || verb == "wake" || verb == "sleep" || verb == "love" || verb == "hate")
    return {};
  if (verb == "listen" && w0 != "to") return {};
  if (verb == "spend" && !(w0 == "a" || w0 == "my" || w0 == "most" || w0 == "lots" || w0 == "all" ||
                           w0 == "time" || w0 == "weekends"))
    return {};
  if (verb == "read" &&
      (w0 == "about" || w0 == "that" || w0 == "somewhere" || w0 == "an" || w0 == "the"))
    return {};
  if (verb == "play" && (w0 == "with" && has(object_pronouns(), w1))) return {};
  span o = object_span(t, p);
  if (!object_ok(o)) return {};
  std::string dflt(it->second);
  if (verb == "eat" || verb == "drink") {
    bool health = neg;
    for (auto* x : o)
      health |= x->low == "meat" || x->low == "gluten" || x->low == "dairy" || x->low == "pork" ||
                x->low == "beef" || x->low == "sugar" || x->low == "alcohol" ||
                x->low == "kosher" || x->low == "halal" || x->low == "healthy" ||
                x->low == "organic";
    dflt = health ? "health" : "preferences";
  }
  std::string cat = classify(o, dflt);
  if (verb == "go" && cat == "other") cat = classify(o, "interests");
  if (dflt == "health") cat = "health";
  return make(v + " " + render(o, c), cat);
}

const word_set& verb_fillers() {
  static const word_set s = {
      "also",     "just",       "really",    "only",      "still",      "actually", "definitely",
      "totally",  "absolutely", "truly",     "currently", "now",        "recently", "kinda",
      "honestly", "literally",  "seriously", "mostly",    "personally", "simply",   "basically",
      "finally",  "even",       "def",       "probably",  "generally",  "mainly",   "lately",
      "sure",     "100",        "too",       "so",        "already",    "certainly"};
  return s;
}

const word_set& freq_adverbs() {
  static const word_set s = {"always",    "usually",      "often",    "sometimes", "never",
                             "rarely",    "occasionally", "normally", "regularly", "constantly",
                             "typically", "frequently",   "seldom"};
  return s;
}

// "i just got a puppy", "i recently started a new job", "i adopted a cat": lasting changes.
rule_result life_event_rule(const tokens& t, std::size_t p, bool recent, const ctx& c) {
  static const word_set always = {"adopted", "bought", "founded", "opened", "joined"};
  static const word_set when_recent = {"got",     "started", "began", "finished", "graduated",
                                       "retired", "quit",    "lost",  "became"};
  const std::string& v = t[p].low;
  // "i started surfing five years ago": a new activity, however long ago
  const std::string g = p + 1 < t.size() ? t[p + 1].low : std::string();
  const bool new_activity = (v == "started" || v == "began") && is_gerund(g) && g != "thinking" &&
                            g != "feeling" && g != "wondering" && g != "getting";
  if (new_activity) {
    if (!activity_with_object(t, p + 1)) return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 2) return {};
    return make(std::string(recent ? "recently " : "") + render(o, c), classify(o, "interests"));
  }
  if (!has(always, v) && !(recent && has(when_recent, v))) return {};
  const std::string w0 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string w1 = p + 2 < t.size() ? t[p + 2].low : std::string();
  if (w0.empty()) {
    if (v == "retired" || v == "graduated") return make("recently " + v, "work");
    return {};
  }
  static const word_set starts = {"a",     "an",      "my",       "our",     "two",
                                  "three", "four",    "new",      "first",   "from",
                                  "as",    "working", "teaching", "school",  "college",
                                  "grad",  "married", "engaged",  "divorced"};
  if (!has(starts, w0) && !all_digits(w0)) return {};
  if (w0 == "from" && v != "graduated") return {};
  if (w0 == "as" && v != "started" && v != "retired") return {};
  if ((w0 == "married" || w0 == "engaged" || w0 == "divorced") && v != "got") return {};
  static const word_set vague = {
      "little", "bit",    "lot",      "call",   "text",    "chance", "few",   "couple", "new",
      "good",   "great",  "job",      "second", "ticket",  "cold",   "flu",   "break",  "minute",
      "moment", "letter", "question", "laugh",  "feeling", "idea",   "email", "message"};
  if ((w0 == "a" || w0 == "an") && has(vague, w1) &&
      !(w1 == "new" && p + 3 < t.size() && is_word(t[p + 3]) && t[p + 3].low != "one") &&
      !(w1 == "job" || w1 == "second"))
    return {};
  span o = object_span(t, p);
  if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
  for (auto* x : o)
    if (x->low == "today" || x->low == "yesterday") return {};
  std::string cat = classify(o, "other");
  bool pet = false;
  for (auto* x : o) pet |= has(pet_words(), x->low);
  if (pet && cat == "interests") cat = "other";
  return make(std::string(recent ? "recently " : "") + render(o, c), cat);
}

// "i've been teaching my siblings coding", "i've been volunteering at the shelter": an
// activity that goes on. Verbs of feeling, waiting and trying are not activities.
rule_result been_doing_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  if (!has(activities_alone(), v) && !has(activities_with_object(), v)) return {};
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  static const word_set not_activity = {"well",    "good",   "okay",  "ok",  "great", "fine",
                                        "alright", "better", "worse", "so",  "much",  "nothing",
                                        "some",    "a",      "all",   "the", "up",    "through"};
  if (has(not_activity, w1) && (v == "doing" || v == "going" || v == "making" || v == "taking"))
    return {};
  if (v == "going" && w1 != "to") return {};
  if (v == "working" && w1 != "on") return {};
  if (v == "taking" && !takes_classes(t, p)) return {};
  if (v == "making" && w1 != "music" && w1 != "jewelry" && w1 != "pottery" && w1 != "art")
    return {};
  if (!w1.empty() && has(object_pronouns(), w1)) return {};
  if (!activity_with_object(t, p)) return {};
  span o = object_span(t, p);
  if (!object_ok(o) || word_count(o) < 2) return {};
  return make("has been " + render(o, c), classify(o, activity_category(v)));
}

// "i used to be a painter", "i used to live in Ohio": a past state, kept as such.
rule_result used_to_rule(const tokens& t, std::size_t p, const ctx& c) {
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  const std::string w1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  if (w1.empty() || has(object_pronouns(), w1) || w1 == "to") return {};
  std::string dflt;
  if (v == "be")
    dflt = "other";
  else if (v == "live")
    dflt = "location";
  else if (v == "work")
    dflt = "work";
  else if (v == "have" || v == "own")
    dflt = "other";
  else if (habit_verbs().count(v) && !has(mental_verbs(), v) && v != "go" && v != "do" &&
           v != "make" && v != "take")
    dflt = std::string(habit_verbs().at(v));
  else
    return {};
  span o = object_span(t, p);
  if (!object_ok(o, max_object_words + 1) || word_count(o) < 2) return {};
  std::string cat = classify(o, dflt == "preferences" ? "other" : dflt);
  if (v == "be") {
    for (auto* x : o)
      if (has(occupation_words(), x->low)) cat = "work";
  }
  return make("used to " + render(o, c), cat);
}

rule_result i_rule(const tokens& t, ctx& c) {
  std::size_t p = 1;
  std::string adv;
  bool neg = false;
  bool recent = false;
  auto skip_fillers = [&] {
    while (p < t.size()) {
      const std::string& w = t[p].low;
      if (has(verb_fillers(), w)) {
        if (w == "also" || w == "too") c.additive = true;
        if (w == "just" || w == "recently" || w == "finally") recent = true;
        ++p;
      } else if (has(freq_adverbs(), w)) {
        adv = t[p].low;
        ++p;
      } else if (w == "do" && p + 1 < t.size() &&
                 (t[p + 1].low == "like" || t[p + 1].low == "love" || t[p + 1].low == "enjoy" ||
                  t[p + 1].low == "have" || t[p + 1].low == "work" || t[p + 1].low == "live")) {
        ++p;  // emphatic "i do like"
      } else {
        break;
      }
    }
  };
  skip_fillers();
  if (p >= t.size()) return {};
  if ((t[p].low == "do" || t[p].low == "does") && p + 1 < t.size() && t[p + 1].low == "not") {
    neg = true;
    adv.clear();
    p += 2;
    skip_fillers();
  }
  if (p >= t.size()) return {};
  const bool never = adv == "never";
  if (never) adv.clear();
  const std::string v = t[p].low;
  const std::string v1 = p + 1 < t.size() ? t[p + 1].low : std::string();
  const std::string v2 = p + 2 < t.size() ? t[p + 2].low : std::string();

  if (v == "am" && !neg) return am_rule(t, p + 1, c);
  if (v == "have") {
    if (p + 1 < t.size() && t[p + 1].low == "not") return have_rule(t, p + 2, true, c);
    if (never) return {};
    if (v1 == "been" && v2 == "living") return live_rule(t, p + 3, c);
    if (v1 == "been" && v2 == "working" && p + 3 < t.size() && t[p + 3].low != "on")
      return work_rule(t, p + 3, false, c);
    if (v1 == "been" && !neg && is_gerund(v2)) return been_doing_rule(t, p + 2, c);
    return have_rule(t, p + 1, neg, c);
  }
  if (v == "own" && !never) {
    rule_result r = have_rule(t, p + 1, neg, c);
    if (!r.ok) return r;
    // "Has X" -> "Owns X"
    const std::string& s = r.f.text;
    r.f.text =
        neg ? "Does not own" + s.substr(std::string("Does not have").size()) : "Owns" + s.substr(3);
    return r;
  }
  static const word_set prefs = {"like",  "love",   "enjoy",  "prefer",  "hate", "dislike",
                                 "adore", "detest", "loathe", "despise", "mind", "likes",
                                 "loves", "enjoys", "looove", "loove"};
  if (prefs.count(v)) {
    std::string verb = v;
    if (verb == "likes" || verb == "loves" || verb == "enjoys") verb.pop_back();
    if (verb == "looove" || verb == "loove") verb = "love";
    if (verb == "mind" && !neg) return {};
    if (never) return pref_rule(t, p + 1, verb, true, adv, c);
    return pref_rule(t, p + 1, verb, neg, adv, c);
  }
  if (v == "can" && !never) {
    std::size_t q = p + 1;
    bool cneg = neg;
    if (q < t.size() && t[q].low == "not") {
      cneg = true;
      ++q;
    }
    if (q >= t.size()) return {};
    const std::string cv = t[q].low;
    if (cneg && (cv == "stand" || cv == "stand" || cv == "tolerate")) {
      if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return {};
      span o = object_span(t, q + 1);
      if (!object_ok(o)) return {};
      return make("cannot " + cv + " " + render(o, c), classify(o, "preferences"));
    }
    if (!habit_verbs().count(cv) || cv == "go" || cv == "do" || cv == "make" || cv == "take" ||
        cv == "help" || cv == "use" || cv == "spend" || cv == "care" || cv == "keep" ||
        cv == "love" || cv == "hate" || cv == "miss" || cv == "sleep" || cv == "wake")
      return {};
    if (q + 1 >= t.size() || has(object_pronouns(), t[q + 1].low)) return {};
    span o = object_span(t, q + 1);
    if (!object_ok(o)) return {};
    auto it = habit_verbs().find(cv);
    return make((cneg ? "cannot " : "can ") + cv + " " + render(o, c),
                classify(o, it->second == "preferences" ? "health" : it->second));
  }
  if (v == "work" || v == "works") {
    if (never) return {};
    return work_rule(t, p + 1, neg, c);
  }
  if (v == "live") {
    if (neg || never) return {};
    return live_rule(t, p + 1, c);
  }
  if ((v == "moved" || v == "relocated") && !neg && !never) return moved_rule(t, p + 1, c);
  if (neg) return habit_rule(t, p + 1, v, true, {}, c);  // "i don't eat meat"
  if (never) {
    rule_result r = habit_rule(t, p + 1, v, false, {}, c);  // "i never smoke"
    if (r.ok) r.f.text = "Never " + lower(r.f.text.substr(0, 1)) + r.f.text.substr(1);
    return r;
  }
  if (v == "got" && relationship_status_words().count(v1)) return make("is " + v1, "relationships");
  // "i just turned 18", "i turned forty years old": the age now
  if (v == "turned" && (all_digits(v1) || has(number_words(), v1))) return am_rule(t, p + 1, c);
  // "i won homecoming queen", "i won a marathon": an achievement
  if (v == "won" && !v1.empty() && !has(object_pronouns(), v1) && v1 != "the" && v1 != "some") {
    span o = object_span(t, p);
    if (object_ok(o, 10) && word_count(o) >= 2) return make(render(o, c), classify(o, "other"));
  }
  if (rule_result r = life_event_rule(t, p, recent, c); r.ok) return r;
  if (v == "used" && v1 == "to") return used_to_rule(t, p + 2, c);
  if (v == "got" && (v1 == "a" || v1 == "an") && p + 2 < t.size() &&
      (has(pet_words(), t[p + 2].low) || (p + 3 < t.size() && has(pet_words(), t[p + 3].low)))) {
    span o = object_span(t, p + 1);
    if (!object_ok(o, 8)) return {};
    return make("has " + render(o, c), "other");
  }
  if (v == "grew" && v1 == "up") {
    if (v2 != "in" && v2 != "on" && v2 != "near" && v2 != "around" && v2 != "outside" && v2 != "by")
      return {};
    span o = object_span(t, p + 2);
    if (!object_ok(o, 8) || word_count(o) < 2 || has(object_pronouns(), o[1]->low)) return {};
    auto cap = guess_place(o, 1);
    return make("grew up " + render(o, c, &cap), "location");
  }
  if (v == "was" && (v1 == "born" || v1 == "raised") &&
      (v2 == "in" || v2 == "on" || v2 == "by" || v2 == "and")) {
    span o = object_span(t, p + 1);
    if (!object_ok(o, 8) || word_count(o) < 3 || has(object_pronouns(), o[2]->low)) return {};
    auto cap = guess_place(o, 2);
    std::string cat = classify(o, "location");
    if (v2 == "by") cat = classify(o, "relationships");
    return make("was " + render(o, c, &cap), cat);
  }
  if (v == "graduated" && v1 == "from") {
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 3) return {};
    return make(render(o, c), "work");
  }
  if (v == "went" && v1 == "to") {
    bool school = false;
    for (std::size_t q = p + 2; q < t.size() && q < p + 6; ++q)
      school |= t[q].low == "school" || t[q].low == "college" || t[q].low == "university" ||
                t[q].low == "grad" || t[q].low == "harvard" || t[q].low == "yale";
    if (!school) return {};
    span o = object_span(t, p);
    if (!object_ok(o) || word_count(o) < 3) return {};
    return make(render(o, c), "work");
  }
  // wishes and plans ("i want to", "i plan to") are not facts yet: no rule
  return habit_rule(t, p + 1, v, false, adv, c);
}

rule_result my_rule(const tokens& t, const ctx& c) {
  // "my <subject> is|are <value>"
  std::size_t k = 1;
  while (k < t.size() && k <= 5 && t[k].low != "is" && t[k].low != "are") {
    if (!is_word(t[k]) || t[k].low == "and" || t[k].low == "was" || t[k].low == "were" ||
        t[k].low == "has" || t[k].low == "have" || t[k].low == "will" || t[k].low == "would")
      return {};
    ++k;
  }
  if (k >= t.size() || k == 1 || k > 5) return {};
  std::size_t v = k + 1;
  static const word_set fill = {"also",       "really",  "just",      "actually",
                                "definitely", "still",   "currently", "now",
                                "probably",   "totally", "always"};
  while (v < t.size() && has(fill, t[v].low)) ++v;
  if (v >= t.size()) return {};
  const std::string verb = t[k].low;
  const std::string s0 = t[1].low;
  const std::string val0 = t[v].low;
  const std::string val1 = v + 1 < t.size() ? t[v + 1].low : std::string();
  if (val0 == "not" || (has(object_pronouns(), val0) && val0 != "one")) return {};
  span subj;
  for (std::size_t i = 1; i < k; ++i) subj.push_back(&t[i]);
  std::string subj_text = render(subj, c);
  span val = object_span(t, v);
  if (!object_ok(val)) return {};

  // favorites
  if (s0 == "favorite" || s0 == "favourite") {
    if (k == 2) return {};
    bool interest = false;
    static const word_set ints = {
        "music",  "band",  "song",    "singer",   "artist",  "book",   "author",     "movie",
        "film",   "show",  "sport",   "team",     "game",    "hobby",  "activity",   "genre",
        "bands",  "songs", "books",   "movies",   "shows",   "sports", "games",      "hobbies",
        "player", "tv",    "series",  "musician", "writer",  "actor",  "actress",    "thing",
        "things", "place", "places",  "pastime",  "artists", "rapper", "instrument", "athlete",
        "anime",  "video", "painter", "composer", "poet",    "novel"};
    for (auto* x : subj) interest |= ints.count(x->low) > 0;
    if (word_count(val) > 8) return {};
    return make(subj_text + " " + verb + " " + render(val, c),
                interest ? "interests" : "preferences");
  }
  if (k == 2 && s0 == "name" && verb == "is") {
    if (word_count(val) > 3) return {};
    std::vector<bool> cap(val.size(), true);
    return make("name is " + render(val, c, &cap), "other");
  }
  // "my wife's name is anna"; "my dogs name is max" -> "Has a dog named Max"
  const bool apostrophe = s0.size() > 2 && s0.compare(s0.size() - 2, 2, "'s") == 0;
  const bool bare_s = !apostrophe && s0.size() > 3 && s0.back() == 's' &&
                      (has(pet_words(), s0.substr(0, s0.size() - 1)) ||
                       has(family_words(), s0.substr(0, s0.size() - 1)));
  if (k == 3 && t[2].low == "name" && verb == "is" && (apostrophe || bare_s)) {
    if (word_count(val) > 3) return {};
    std::vector<bool> cap(val.size(), true);
    const std::string rel = s0.substr(0, s0.size() - (apostrophe ? 2 : 1));
    if (has(pet_words(), rel)) {
      return make("has a " + rel + " named " + render(val, c, &cap), "relationships");
    }
    if (bare_s) subj_text = rel + "'s name";
    std::string cat = has(family_words(), rel) ? "relationships" : "other";
    if (!has(family_words(), rel) && !has(pet_words(), rel)) return {};
    return make(subj_text + " is " + render(val, c, &cap), cat);
  }
  const std::string& head = t[k - 1].low;  // the noun: "my older sister" -> sister
  if (has(family_words(), head) || has(pet_words(), head)) {
    if (head == "friend" || head == "friends") return {};
    if (head == "family" && val0 != "from" && val0 != "in") return {};
    static const word_set ok = {
        "a",        "an",       "from",     "in",      "retired",  "married",   "divorced",
        "engaged",  "single",   "named",    "called",  "twins",    "vegan",     "vegetarian",
        "allergic", "deaf",     "blind",    "both",    "pregnant", "expecting", "serving",
        "studying", "deployed", "disabled", "adopted", "older",    "younger",   "also",
        "two",      "three",    "four",     "five",    "six",      "seven",     "eight",
        "nine",     "ten",      "my"};
    if (!ok.count(val0) && !all_digits(val0)) return {};
    if ((val0 == "a" || val0 == "an") &&
        (val1 == "little" || val1 == "bit" || val1 == "lot" || val1 == "pain" || val1 == "mess"))
      return {};
    if (all_digits(val0) || has(number_words(), val0)) {
      // ages: "my son is 5" ok, "my kids are 5 and 7" ok
    }
    std::string cat = has(pet_words(), head) ? "other" : "relationships";
    return make(subj_text + " " + verb + " " + render(val, c), cat);
  }
  static const std::unordered_map<std::string_view, std::string_view> others = {
      {"job", "work"},          {"occupation", "work"},  {"profession", "work"},
      {"career", "work"},       {"hobby", "interests"},  {"hobbies", "interests"},
      {"passion", "interests"}, {"dream", "other"},      {"goal", "other"},
      {"birthday", "other"},    {"major", "work"},       {"hair", "other"},
      {"eyes", "other"},        {"religion", "other"},   {"diet", "health"},
      {"height", "other"},      {"nickname", "other"},   {"hometown", "location"},
      {"heritage", "other"},    {"background", "other"}, {"specialty", "work"}};
  auto it = others.find(head);
  if (it == others.end() || k > 3) return {};
  if ((head == "job" || head == "career" || head == "occupation" || head == "profession") &&
      !(val0 == "a" || val0 == "an" || val0 == "in" || val0 == "at" || val0 == "with" ||
        val0 == "being" || val0 == "teaching" || val0 == "working" || val0 == "nursing"))
    return {};
  if ((head == "dream" || head == "goal") &&
      !(val0 == "to" || val0 == "a" || val0 == "an" || val0 == "being"))
    return {};
  if ((head == "hair" || head == "eyes") && word_count(val) > 3) return {};
  std::vector<bool> cap;
  if (head == "hometown" || head == "nickname") cap.assign(val.size(), true);
  return make(subj_text + " " + verb + " " + render(val, c, cap.empty() ? nullptr : &cap),
              std::string(it->second));
}

rule_result we_rule(const tokens& t, const ctx& c) {
  std::size_t p = 1;
  while (p < t.size() && (t[p].low == "just" || t[p].low == "recently" || t[p].low == "also" ||
                          t[p].low == "both" || t[p].low == "actually"))
    ++p;
  if (p >= t.size()) return {};
  const std::string& v = t[p].low;
  if (v == "have") {
    rule_result r = have_rule(t, p + 1, false, c);
    if (!r.ok) return {};
    bool fam = false;
    for (std::size_t q = p + 1; q < t.size(); ++q)
      fam |= has(family_words(), t[q].low) || has(pet_words(), t[q].low);
    if (!fam) return {};
    return r;
  }
  if (v == "live") return live_rule(t, p + 1, c);
  if (v == "moved" || v == "relocated") return moved_rule(t, p + 1, c);
  if (v == "are" && p + 1 < t.size() && (t[p + 1].low == "married" || t[p + 1].low == "engaged")) {
    span o = object_span(t, p + 1);
    if (!object_ok(o, 6)) return {};
    return make("is " + render(o, c), "relationships");
  }
  return {};
}

extracted_fact finish(rule_result r, const ctx& c) {
  extracted_fact f = std::move(r.f);
  f.slot = slot_of(f.text);
  if (c.additive && (f.slot == "occupation" || f.slot == "employer" || f.slot == "location" ||
                     f.slot == "hometown"))
    f.slot.clear();
  return f;
}

std::vector<std::string> norm_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || u >= 0x80) {
      cur += static_cast<char>(std::tolower(u));
    } else if (ch == '\'') {
      // "wife's" -> "wife", "s"
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Rewrites the other ways of naming a favorite into "my favorite <what> is <value>":
// "pizza is my favorite food", "my favorite color happens to be red", "my all time
// favorite toy is lite brite".
void canonical_favorite(tokens& t) {
  auto fav = [](const std::string& w) { return w == "favorite" || w == "favourite"; };
  if (t.size() >= 4 && t[0].low == "my") {
    // "my all time favorite", "my absolute favorite", "my very favorite"
    std::size_t k = 1;
    while (k < t.size() && k <= 3 &&
           (t[k].low == "all" || t[k].low == "time" || t[k].low == "absolute" ||
            t[k].low == "very" || t[k].low == "most"))
      ++k;
    if (k > 1 && k < t.size() && fav(t[k].low))
      t.erase(t.begin() + 1, t.begin() + static_cast<std::ptrdiff_t>(k));
    // "happens to be" / "has to be" -> "is"
    for (std::size_t i = 2; i + 2 < t.size(); ++i)
      if ((t[i].low == "happens" || t[i].low == "has") && t[i + 1].low == "to" &&
          t[i + 2].low == "be") {
        t[i] = token{"is", "is", 0};
        t.erase(t.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                t.begin() + static_cast<std::ptrdiff_t>(i) + 3);
        break;
      }
    return;
  }
  // "<value> is|are my favorite <what>"
  std::size_t k = 1;
  while (k < t.size() && k <= 4 && t[k].low != "is" && t[k].low != "are") ++k;
  if (k > 4 || k + 3 >= t.size() || t[k + 1].low != "my" || !fav(t[k + 2].low)) return;
  for (std::size_t i = 0; i < k; ++i)
    if (!is_word(t[i]) || has(object_pronouns(), t[i].low) || t[i].low == "and" ||
        t[i].low == "i" || t[i].low == "my")
      return;
  std::size_t e = k + 3;
  while (e < t.size() && e < k + 6 && is_word(t[e]) && !has(cut_words(), t[e].low)) ++e;
  if (e == k + 3) return;
  tokens out;
  out.push_back(token{"my", "my", 0});
  out.push_back(t[k + 2]);
  for (std::size_t i = k + 3; i < e; ++i) out.push_back(t[i]);
  out.push_back(token{"is", "is", 0});
  for (std::size_t i = 0; i < k; ++i) out.push_back(t[i]);
  t = std::move(out);
}

// Relatives and pets worth a fact when the user mentions them as theirs ("my wife and i",
// "walking my two dogs"). Parents, cousins and friends are left out: nearly everyone has
// them, so "Has a mom" tells nothing.
const word_set& implied_nouns() {
  static const word_set s = {
      "wife",     "husband",      "spouse",    "boyfriend",     "girlfriend", "fiance",
      "fiancee",  "son",          "sons",      "daughter",      "daughters",  "kid",
      "kids",     "child",        "children",  "sister",        "sisters",    "brother",
      "brothers", "twins",        "grandkids", "grandchildren", "grandson",   "granddaughter",
      "stepson",  "stepdaughter", "dog",       "dogs",          "puppy",      "cat",
      "cats",     "kitten",       "hamster",   "parrot",        "rabbit",     "bunny",
      "horse",    "horses",       "snake",     "lizard",        "turtle",     "turtles",
      "ferret",   "gecko",        "goldfish",  "pony",          "iguana",     "tortoise"};
  return s;
}

// "dogs" -> "dog", "children" -> "child" (the plurals implied_nouns() holds).
std::string singular_of(std::string_view w) {
  if (w.size() >= 8 && w.compare(w.size() - 8, 8, "children") == 0)
    return std::string(w.substr(0, w.size() - 3));
  if (w.size() > 3 && w.back() == 's') return std::string(w.substr(0, w.size() - 1));
  return std::string(w);
}

// Does a fact's text name the relative or pet ("Has two dogs" names "dog")?
bool names_noun(std::string_view fact_text, std::string_view singular) {
  for (const std::string& w : norm_words(fact_text))
    if (singular_of(w) == singular) return true;
  return false;
}

// "my wife and i", "walking my two dogs", "my dog Max": a relative or pet the user has,
// mentioned in passing. Gives "Has a wife", "Has two dogs", "Has a dog named Max".
void implied_relations(const tokens& t, const ctx& c, std::vector<extracted_fact>& out) {
  static const word_set mods = {
      "new",    "little", "older", "younger", "big",   "baby",    "oldest", "youngest", "eldest",
      "middle", "twin",   "pet",   "adult",   "grown", "teenage", "step",   "two",      "three",
      "four",   "five",   "six",   "seven",   "eight", "nine",    "ten"};
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].low != "my") continue;
    std::size_t j = i + 1;
    std::vector<const token*> ms;
    while (j < t.size() && ms.size() < 2 && (has(mods, t[j].low) || all_digits(t[j].low)))
      ms.push_back(&t[j++]);
    if (j >= t.size() || !is_word(t[j])) continue;
    std::string w = t[j].low;
    bool possessive = false;  // "my dog's name", "my sisters cat"
    if (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0) {
      w.resize(w.size() - 2);
      possessive = true;
    }
    if (!has(implied_nouns(), w)) continue;
    const std::string singular = singular_of(w);
    const bool next_is_noun = j + 1 < t.size() && is_word(t[j + 1]) &&
                              (t[j + 1].low == "name" || t[j + 1].low == "names" ||
                               has(family_words(), t[j + 1].low) || has(pet_words(), t[j + 1].low));
    if (next_is_noun) possessive = true;
    // "my dog walker", "my horse painting": the noun names something else
    static const word_set compound = {
        "walker",    "walkers",   "sitter",  "food",   "toy",     "toys",    "show",     "shows",
        "painting",  "paintings", "drawing", "photo",  "photos",  "picture", "pictures", "pic",
        "video",     "costume",   "lover",   "lovers", "person",  "people",  "park",     "bed",
        "treats",    "hair",      "fur",     "years",  "days",    "school",  "room",     "friendly",
        "sculpture", "book",      "books",   "class",  "classes", "team",    "game",     "games"};
    if (!possessive && j + 1 < t.size() && has(compound, t[j + 1].low)) continue;
    bool counted = false;
    for (auto* m : ms) counted |= all_digits(m->low) || has(number_words(), m->low);
    const bool plural = counted || (!possessive && w != singular);
    std::string text = "has ";
    if (!plural)
      text += (ms.empty() ? "a "
                          : (std::string("aeiou").find(ms[0]->low[0]) != std::string::npos ? "an "
                                                                                           : "a "));
    for (auto* m : ms) text += m->low + " ";
    text += plural ? w : singular;
    // "my dog Max": a capitalized word after a pet is its name (typed case only)
    if (!plural && !c.all_lower && j + 1 < t.size() && has(pet_words(), singular) &&
        is_word(t[j + 1]) && !t[j + 1].orig.empty() && t[j + 1].orig[0] >= 'A' &&
        t[j + 1].orig[0] <= 'Z' && t[j + 1].low != "i")
      text += " named " + t[j + 1].orig;
    bool known = false;
    for (const auto& f : out) known |= names_noun(f.text, singular);
    if (known) continue;
    extracted_fact f;
    f.text = std::move(text);
    capitalize_first(f.text);
    f.category = "relationships";
    f.implied_noun = singular;
    out.push_back(std::move(f));
  }
}

}  // namespace

std::vector<extracted_fact> extract_facts(std::string_view message) {
  std::vector<extracted_fact> out;
  if (message.empty()) return out;
  ctx base;
  base.all_lower = true;
  for (char ch : message)
    if (ch >= 'A' && ch <= 'Z') {
      base.all_lower = false;
      break;
    }
  const tokens toks = tokenize(message);
  for (clause& cl : split_clauses(toks)) {
    if (cl.skip) continue;
    tokens& t = cl.toks;
    // leading discourse markers
    std::size_t b = 0;
    while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) {
      // "me too i have" / "me neither"
      ++b;
    }
    if (b + 1 < t.size() && t[b].low == "me" &&
        (t[b + 1].low == "too" || t[b + 1].low == "neither" || t[b + 1].low == "either"))
      b += 2;
    while (b < t.size() && (!is_word(t[b]) || has(lead_fillers(), t[b].low))) ++b;
    if (b >= t.size()) continue;
    const token t0_before = b > 0 ? t[b - 1] : token{};
    if (b > 0) t.erase(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(b));
    if (t.size() < 2) continue;
    if (is_temporary(t)) continue;
    ctx c = base;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i].low == "too" && i + 1 == t.size()) c.additive = true;
      if (t[i].low == "as" && i + 1 < t.size() && t[i + 1].low == "well") c.additive = true;
    }
    // dropped subject: "dont like crowds", "love hiking", "just moved to Boston"; but not a
    // noun ("nice work, Maria", "so much love everywhere"), an imperative ("enjoy yourself")
    // or a reaction to what the other side showed ("love the colors", "love that")
    static const word_set dropped = {"love", "hate", "enjoy", "moved", "live", "work"};
    static const word_set praise = {"nice", "great", "good", "awesome", "cool", "amazing",
                                    "hard", "much",  "so",   "true",    "fun"};
    static const word_set pointing = {"the", "this", "that", "these", "those", "your", "yours"};
    const bool noun_use = b > 0 && is_word(t0_before) && has(praise, t0_before.low);
    if ((has(dropped, t[0].low) && is_word(t[1]) && !noun_use && !has(pointing, t[1].low)) ||
        (t[0].low == "do" && t[1].low == "not") || (t[0].low == "just" && t[1].low == "moved"))
      t.insert(t.begin(), token{"i", "i", 0});
    canonical_favorite(t);
    rule_result r;
    if (t[0].low == "i")
      r = i_rule(t, c);
    else if (t[0].low == "my")
      r = my_rule(t, c);
    else if (t[0].low == "we")
      r = we_rule(t, c);
    if (!r.ok) continue;
    extracted_fact f = finish(std::move(r), c);
    const std::string key = normalize_fact_text(f.text);
    if (key.empty()) continue;
    bool dup = false;
    for (const auto& e : out) dup |= normalize_fact_text(e.text) == key;
    if (!dup) out.push_back(std::move(f));
  }
  implied_relations(toks, base, out);
  return out;
}

std::string slot_of(std::string_view fact_text) {
  const std::vector<std::string> w = norm_words(fact_text);
  if (w.size() < 2) return {};
  auto at = [&](std::size_t i) -> const std::string& {
    static const std::string empty;
    return i < w.size() ? w[i] : empty;
  };
  const std::string& a = w[0];
  const std::string& b = w[1];
  if (a == "lives") {
    static const word_set where = {"in",    "on",     "near",     "at",   "by", "outside",
                                   "close", "around", "downtown", "just", "off"};
    if (has(where, b)) return "location";
    return {};
  }
  if (a == "works") {
    if (b == "as") return "occupation";
    if (b == "at" || b == "for") return "employer";
    return {};
  }
  if (a == "name" && b == "is") return "name";
  if (a == "birthday" && b == "is") return "birthday";
  if (a == "major" && b == "is") return "major";
  if ((a == "job" || a == "occupation" || a == "profession") && b == "is") return "occupation";
  if (a == "favorite" || a == "favourite") {
    std::string slot = "favorite";
    for (std::size_t i = 1; i < w.size() && i < 5; ++i) {
      if (w[i] == "is" || w[i] == "are") return i > 1 ? slot : std::string();
      slot += "_" + w[i];
    }
    return {};
  }
  if (at(1) == "s" && at(2) == "name" && at(3) == "is") {
    static const word_set single = {"wife",       "husband", "spouse",  "partner", "boyfriend",
                                    "girlfriend", "fiance",  "fiancee", "mom",     "mother",
                                    "dad",        "father",  "mum"};
    if (has(single, a)) return a + "_name";
    return {};
  }
  if (a == "is") {
    std::size_t i = 1;
    if (at(i) == "originally" || at(i) == "currently" || at(i) == "now") ++i;
    const std::string& x = at(i);
    if (x == "from") return "hometown";
    if (has(relationship_status_words(), x)) return "relationship_status";
    if (x == "in" && at(i + 1) == "a" && at(i + 2) == "relationship") return "relationship_status";
    if (has(diet_words(), x) && w.size() <= i + 2) return "diet";
    if ((x == "a" || x == "an") && has(diet_words(), at(i + 1)) && w.size() == i + 2) return "diet";
    if (x == "retired" || x == "unemployed") return "occupation";
    // age: "is 25 years old", "is twenty five years old"
    if (w.size() >= 4 && w[w.size() - 2] == "years" && w.back() == "old") {
      bool num = true;
      for (std::size_t j = i; j + 2 < w.size(); ++j)
        num &= all_digits(w[j]) || has(number_words(), w[j]);
      if (num && w.size() - 2 > i) return "age";
    }
    if ((x == "a" || x == "an") && w.size() <= i + 5) {
      bool occ = false, other = false;
      for (std::size_t j = i + 1; j < w.size(); ++j) {
        occ |= has(occupation_words(), w[j]);
        other |= w[j] == "fan" || w[j] == "of" || w[j] == "and" || w[j] == "who" ||
                 w[j] == "former" || w[j] == "retired" || w[j] == "part" || w[j] == "aspiring" ||
                 w[j] == "future" || has(family_words(), w[j]) || w[j] == "boss" ||
                 w[j] == "owner" || w[j] == "graduate" || w[j] == "host";
      }
      if (occ && !other) return "occupation";
    }
  }
  return {};
}

extraction_output rule_extractor::extract(const extraction_input& in) {
  extraction_output out;
  struct entry {
    std::string norm;
    std::string slot;
    std::string fact_id;  // a given fact
    int op = -1;          // or the op (add or update) that holds it now
  };
  std::vector<entry> state;
  state.reserve(in.facts.size() + in.messages.size());
  for (const fact& f : in.facts)
    state.push_back({normalize_fact_text(f.text), slot_of(f.text), f.id, -1});
  for (const extraction_message& m : in.messages) {
    for (extracted_fact& ef : extract_facts(m.content)) {
      const std::string n = normalize_fact_text(ef.text);
      if (n.empty()) continue;
      bool known = false;
      for (const entry& e : state) known |= e.norm == n;
      if (!ef.implied_noun.empty())  // "Has a wife" adds nothing to "Wife's name is Anna"
        for (const entry& e : state) known |= names_noun(e.norm, ef.implied_noun);
      if (known) continue;
      entry* holder = nullptr;
      if (!ef.slot.empty())
        for (entry& e : state)
          if (e.slot == ef.slot) {
            holder = &e;
            break;
          }
      if (holder != nullptr && holder->op >= 0) {
        fact_op& op = out.ops[static_cast<std::size_t>(holder->op)];
        op.text = ef.text;
        op.category = ef.category;
        op.observed_at = m.created_at;
        op.source_ids = {m.id};
        holder->norm = n;
        continue;
      }
      fact_op op;
      op.text = ef.text;
      op.category = ef.category;
      op.observed_at = m.created_at;
      op.source_ids = {m.id};
      if (holder != nullptr) {
        op.kind = "update";
        op.fact_id = holder->fact_id;
        holder->norm = n;
        holder->op = static_cast<int>(out.ops.size());
        out.ops.push_back(std::move(op));
        continue;
      }
      op.kind = "add";
      state.push_back({n, ef.slot, {}, static_cast<int>(out.ops.size())});
      out.ops.push_back(std::move(op));
    }
  }
  return out;
}

}  // namespace memoryd
