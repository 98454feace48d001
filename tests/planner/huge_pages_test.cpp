// resize_for_overwrite: sizes and reuse (whether the kernel grants huge pages is not observable
// here and does not change any value).

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "planner/core/huge_pages.hpp"

using namespace alpaserve::planner;

TEST_CASE("resize_for_overwrite grows into a new buffer and keeps a large enough one") {
  std::vector<double> v(3, 1.0);
  resize_for_overwrite(v, size_t{1} << 20);  // 8 MiB: advised
  REQUIRE(v.size() == size_t{1} << 20);
  v.back() = 2.0;
  const double* storage = v.data();
  resize_for_overwrite(v, 1000);
  CHECK(v.size() == 1000);
  CHECK(v.data() == storage);
  resize_for_overwrite(v, size_t{1} << 20);
  CHECK(v.data() == storage);
  std::vector<uint8_t> small;
  resize_for_overwrite(small, 100);  // below 4 MiB: not advised
  CHECK(small.size() == 100);
}

TEST_CASE("advise_huge_pages accepts any pointer and size") {
  std::vector<char> buffer((size_t{5} << 20) + 123);
  advise_huge_pages(buffer.data() + 1, buffer.size() - 1);
  advise_huge_pages(buffer.data(), 10);
  advise_huge_pages(nullptr, size_t{8} << 20);
  buffer[buffer.size() / 2] = 1;
  CHECK(buffer[buffer.size() / 2] == 1);
}
