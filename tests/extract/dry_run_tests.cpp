#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "extract/dry_run.hpp"
#include "extract/llm_backend.hpp"
#include "extract/rules.hpp"
#include "tests/support/fake_llm.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("dry run: output format and bad lines") {
  rule_extractor ex;
  std::istringstream in(
      "{\"id\": \"r1\", \"user_id\": \"u\", \"messages\": [\"i love hiking\", "
      "{\"content\": \"I work at Google\", \"created_at\": 5, \"id\": \"x\"}], \"gold\": 1}\n"
      "not json\n"
      "\n"
      "{\"id\": \"r2\", \"messages\": \"oops\"}\n"
      "{\"user_id\": \"u3\", \"messages\": [\"hey how are you\"]}\n"
      "{\"id\": 7, \"messages\": [{\"created_at\": 1}]}\n");
  std::ostringstream out, err;
  CHECK(run_dry_run(in, out, err, ex) == 1);
  CHECK(out.str() ==
        "{\"id\":\"r1\",\"facts\":[{\"text\":\"Loves hiking\",\"category\":\"interests\"},"
        "{\"text\":\"Works at Google\",\"category\":\"work\"}]}\n"
        "{\"id\":\"u3\",\"facts\":[]}\n");
  const std::string e = err.str();
  CHECK(e.find("line 2") != std::string::npos);
  CHECK(e.find("line 4") != std::string::npos);
  CHECK(e.find("line 6") != std::string::npos);
  CHECK(e.find("line 3") == std::string::npos);  // blank lines are skipped silently
}

TEST_CASE("dry run: an assistant turn is context, never mined") {
  // The rules do not use the context; the record's facts come from the user's words only.
  rule_extractor ex;
  std::istringstream in(
      "{\"id\": \"c\", \"messages\": [{\"role\": \"assistant\", \"content\": \"I have a "
      "dog named Max. Are you married?\"}, {\"role\": \"user\", \"content\": \"No, not yet. "
      "I love hiking\"}]}\n");
  std::ostringstream out, err;
  CHECK(run_dry_run(in, out, err, ex) == 0);
  CHECK(out.str() == "{\"id\":\"c\",\"facts\":[{\"text\":\"Loves hiking\",\"category\":"
                     "\"interests\"}]}\n");
}

TEST_CASE("dry run: all good returns 0") {
  rule_extractor ex;
  std::istringstream in("{\"id\": \"a\", \"messages\": []}\n");
  std::ostringstream out, err;
  CHECK(run_dry_run(in, out, err, ex) == 0);
  CHECK(out.str() == "{\"id\":\"a\",\"facts\":[]}\n");
  CHECK(err.str().empty());
}

TEST_CASE("dry run: regression over the dialogue file") {
  const std::string dir = std::string(MEMORYD_SOURCE_DIR) + "/tests/data/";
  std::istringstream in(read_file(dir + "extract_dialogues.jsonl"));
  const std::string expected = read_file(dir + "extract_dialogues.expected.jsonl");
  rule_extractor ex;
  std::ostringstream out, err;
  CHECK(run_dry_run(in, out, err, ex) == 0);
  CHECK(err.str().empty());
  // line by line for readable failures
  std::istringstream a(out.str()), b(expected);
  std::string la, lb;
  int n = 0;
  while (std::getline(b, lb)) {
    ++n;
    INFO("line " << n);
    REQUIRE(std::getline(a, la));
    CHECK(la == lb);
  }
  CHECK_FALSE(std::getline(a, la));
  CHECK(n == 18);
}

TEST_CASE("dry run: a failed extraction prints its error and exits 1", "[dry_run][extract_llm]") {
  fake_llm fake;
  fake.push(openai_reply(R"({"operations": [{"op": "add", "text": "Likes tea"}]})"));
  fake.push(openai_reply("I'm not sure what you mean."));
  fake.push(error_reply(401, "invalid api key"));
  llm_options o;
  o.provider = "openai";
  o.base_url = fake.url() + "/v1";
  o.model = "m";
  llm_extractor ex(o);
  std::istringstream in(
      "{\"id\": \"ok\", \"messages\": [\"I like tea\"]}\n"
      "{\"id\": \"garbage\", \"messages\": [\"hm\"]}\n"
      "{\"id\": \"denied\", \"messages\": [\"hm\"]}\n");
  std::ostringstream out, err;
  CHECK(run_dry_run(in, out, err, ex) == 1);
  std::istringstream lines(out.str());
  std::string line;
  REQUIRE(std::getline(lines, line));
  CHECK(line == R"({"id":"ok","facts":[{"text":"Likes tea","category":"other"}]})");
  REQUIRE(std::getline(lines, line));
  CHECK(line ==
        R"({"id":"garbage","facts":[],"error":"unparseable: no JSON found in the answer"})");
  REQUIRE(std::getline(lines, line));
  CHECK(line.find(R"({"id":"denied","facts":[],"error":"permanent: )") == 0);
  CHECK(line.find("401") != std::string::npos);
  CHECK_FALSE(std::getline(lines, line));
  const std::string e = err.str();
  CHECK(e.find("line 1") == std::string::npos);
  CHECK(e.find("line 2: unparseable: no JSON found in the answer") != std::string::npos);
  CHECK(e.find("line 3: permanent: ") != std::string::npos);
}
