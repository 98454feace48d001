#include <catch2/catch.hpp>

#include "metrics/registry.hpp"
#include "metrics/sliding_ratio.hpp"

using namespace alpaserve::metrics;

TEST_CASE("sliding_ratio: ratio of good events, nullopt when empty") {
  sliding_ratio w(10, 10);
  CHECK(w.window_s() == 10);
  CHECK_FALSE(w.ratio(0).has_value());
  w.record(1.0, true);
  w.record(1.5, true, 2);
  w.record(2.0, false);
  REQUIRE(w.ratio(2.0).has_value());
  CHECK(*w.ratio(2.0) == Approx(0.75));
  CHECK(w.in_window(2.0).total == 4);
  CHECK(w.in_window(2.0).good == 3);
}

TEST_CASE("sliding_ratio: events leave the window as time passes") {
  sliding_ratio w(10, 10);  // 1 s buckets; the window is the current bucket and the 9 before it
  w.record(0.5, true);      // bucket 0
  w.record(5.2, false);     // bucket 5
  CHECK(*w.ratio(5.2) == Approx(0.5));
  CHECK(*w.ratio(9.99) == Approx(0.5));  // bucket 9: buckets 0..9 still in
  CHECK(*w.ratio(10.0) == Approx(0.0));  // bucket 10: bucket 0 has left, only the miss is left
  CHECK(w.in_window(10.0).total == 1);
  CHECK(w.in_window(14.9).total == 1);
  CHECK_FALSE(w.ratio(15.0).has_value());  // bucket 5 has left too
  // Querying does not erase: the past is still visible from an earlier "now".
  CHECK(w.in_window(5.5).total == 2);
}

TEST_CASE("sliding_ratio: a reused slot forgets its old bucket") {
  sliding_ratio w(4, 4);
  w.record(1.5, true);   // bucket 1, slot 1
  w.record(5.5, false);  // bucket 5, slot 1 again: bucket 1 is gone
  CHECK(w.in_window(5.5).total == 1);
  CHECK(*w.ratio(5.5) == 0.0);
  CHECK(w.dropped() == 0);
}

TEST_CASE("sliding_ratio: late events are kept inside the window, dropped outside") {
  sliding_ratio w(10, 10);
  w.record(20.5, true);
  w.record(18.0, false);  // 2.5 s late, inside the window
  CHECK(w.in_window(20.5).total == 2);
  w.record(10.5, true);  // bucket 10 <= 20 - 10: outside
  w.record(3.0, true);
  CHECK(w.dropped() == 2);
  CHECK(w.in_window(20.5).total == 2);
  CHECK(*w.ratio(20.5) == Approx(0.5));
}

TEST_CASE("sliding_ratio: fractional bucket widths and negative clocks") {
  sliding_ratio w(1.0, 4);  // 0.25 s buckets
  w.record(-0.1, true);     // bucket -1
  w.record(0.6, false);     // bucket 2
  CHECK(w.in_window(0.6).total == 2);
  CHECK(w.in_window(0.75).total == 1);  // bucket 3: bucket -1 has left
}

TEST_CASE("sliding_ratio: bad arguments are refused") {
  CHECK_THROWS_AS(sliding_ratio(0, 10), metrics_error);
  CHECK_THROWS_AS(sliding_ratio(-1, 10), metrics_error);
  CHECK_THROWS_AS(sliding_ratio(10, 0), metrics_error);
}
