#include <catch2/catch.hpp>

#include "actors/window_schedule.hpp"

using alpaserve::actors::window_schedule;

namespace {

window_schedule three_windows() {
  window_schedule w;
  w.schedule.start_times = {0.2, 10.0, 20.0};
  w.schedule.placements.resize(3);
  return w;
}

}  // namespace

TEST_CASE("window schedule: nothing is due before the clock starts") {
  window_schedule w = three_windows();
  CHECK(w.clock(100.0) == 0.0);
  CHECK(w.due(100.0) == 0);
  CHECK_FALSE(w.switch_due(100.0));
  CHECK_FALSE(w.until_next(100.0));
}

TEST_CASE("window schedule: each start is due once, measured from the clock's zero") {
  window_schedule w = three_windows();
  w.zero = 1000.0;  // monotonic seconds when the first generation served
  CHECK(w.clock(1004.0) == Approx(4.0));
  CHECK_FALSE(w.switch_due(1004.0));
  REQUIRE(w.until_next(1004.0));
  CHECK(*w.until_next(1004.0) == Approx(6.0));
  CHECK(w.next_index(1004.0) == 1);
  REQUIRE(w.switch_due(1010.0));
  CHECK(*w.switch_due(1010.0) == 1);
  // While window 1 is realized nothing else is due.
  w.switching = 1;
  CHECK_FALSE(w.switch_due(1011.0));
  w.switching.reset();
  w.serving = 1;
  CHECK_FALSE(w.switch_due(1011.0));
  CHECK(*w.until_next(1011.0) == Approx(9.0));
  CHECK(w.next_index(1011.0) == 2);
  CHECK(*w.switch_due(1020.5) == 2);
  w.serving = 2;
  CHECK_FALSE(w.switch_due(1030.0));
  CHECK_FALSE(w.until_next(1030.0));  // the last window lasts
  CHECK(w.next_index(1030.0) == 0);
}

TEST_CASE("window schedule: starts passed during a long switch are skipped to the one in force") {
  window_schedule w = three_windows();
  w.zero = 0.0;
  w.serving = 0;
  // A recovery ran from 9 s to 25 s: window 1's start passed meanwhile.
  REQUIRE(w.switch_due(25.0));
  CHECK(*w.switch_due(25.0) == 2);
}
