#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "extract/dry_run.hpp"
#include "extract/rules.hpp"

using namespace memoryd;

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
