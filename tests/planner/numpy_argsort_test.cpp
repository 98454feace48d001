// planner::numpy_argsort against numpy.argsort itself: tests/planner/data/numpy_argsort_cases.txt
// holds inputs and NumPy 1.24's outputs (written by gen_numpy_argsort_cases.py next to it). Tie
// orders are what the reference's greedy fill depends on, so every index must match, not only the
// sortedness; the sizes straddle the insertion-sort threshold (partitions of <= 16 elements),
// and four inputs from McIlroy's quicksort adversary reach the heapsort fallback.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "planner/core/numpy_argsort.hpp"

using namespace alpaserve::planner;

namespace {

struct argsort_case {
  std::string dtype;  // "f64" or "i64"
  std::vector<double> f64;
  std::vector<int64_t> i64;
  std::vector<int> expected;
};

std::vector<argsort_case> read_cases() {
  const std::string path =
      std::string(ALPASERVE_SOURCE_DIR) + "/tests/planner/data/numpy_argsort_cases.txt";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<argsort_case> cases;
  std::string values_line, order_line;
  while (std::getline(in, values_line) && std::getline(in, order_line)) {
    argsort_case c;
    std::istringstream values(values_line);
    size_t n = 0;
    values >> c.dtype >> n;
    std::string token;
    for (size_t i = 0; i < n && values >> token; ++i) {
      if (c.dtype == "f64")
        c.f64.push_back(token == "nan" ? std::nan("") : std::stod(token));
      else
        c.i64.push_back(std::stoll(token));
    }
    REQUIRE(c.f64.size() + c.i64.size() == n);
    std::istringstream order(order_line);
    for (int i; order >> i;) c.expected.push_back(i);
    REQUIRE(c.expected.size() == n);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

TEST_CASE("numpy argsort equals NumPy 1.24's argsort index for index (recorded cases)") {
  const auto cases = read_cases();
  REQUIRE(cases.size() == 583);
  size_t around_threshold = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const argsort_case& c = cases[k];
    const std::vector<int> got = c.dtype == "f64" ? numpy_argsort(c.f64) : numpy_argsort(c.i64);
    INFO("case " << k << " (" << c.dtype << ", n = " << c.expected.size() << ")");
    CHECK(got == c.expected);  // every mismatching case is reported
    if (c.expected.size() >= 15 && c.expected.size() <= 18) ++around_threshold;
  }
  REQUIRE(around_threshold >= 20);
}

TEST_CASE("numpy argsort: 17 equal values are partitioned once, not insertion sorted") {
  // numpy insertion-sorts only while pr - pl <= 15; 17 elements get one median-of-three
  // partition, which moves equal keys (numpy.argsort(np.full(17, 0.5)) on NumPy 1.24).
  const std::vector<double> v(17, 0.5);
  REQUIRE(numpy_argsort(v) ==
          std::vector<int>{0, 14, 13, 12, 11, 10, 9, 15, 8, 6, 5, 4, 3, 2, 1, 7, 16});
  const std::vector<double> w(16, 0.5);  // 16 still go straight to insertion sort: stable
  std::vector<int> identity(16);
  for (int i = 0; i < 16; ++i) identity[static_cast<size_t>(i)] = i;
  REQUIRE(numpy_argsort(w) == identity);
}
