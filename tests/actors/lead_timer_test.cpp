// The emulated stage's timer: the lateness estimate it learns its lead from, and lead_timer's
// arm / tick / spin decisions, on a fake clock.

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "actors/lead_timer.hpp"

using namespace alpaserve;
using actors::lateness_estimate;
using actors::lead_timer;

TEST_CASE("lateness_estimate: tracks the 90th percentile of lateness within its clamp") {
  lateness_estimate e;
  CHECK(e.q90() == actors::min_timer_lead_s);
  // Uniform lateness over [0, 0.8 ms] (a low-discrepancy sequence): the 90th percentile is
  // 0.72 ms; the stochastic approximation settles within a few steps (20 µs) of it.
  for (int i = 0; i < 40000; ++i) {
    const double u = std::fmod(i * 0.6180339887, 1.0);
    e.observe(u * 0.8e-3);
  }
  CHECK(e.q90() == Approx(0.72e-3).margin(40e-6));
  // Punctual timers pull the lead down to the minimum, very late ones up to the maximum.
  for (int i = 0; i < 40000; ++i) e.observe(0.0);
  CHECK(e.q90() == actors::min_timer_lead_s);
  for (int i = 0; i < 40000; ++i) e.observe(0.05);
  CHECK(e.q90() == actors::max_timer_lead_s);
}

namespace {

struct armed {
  double delay_s;
  uint64_t token;
};

}  // namespace

TEST_CASE("lead_timer: arms the owner's timer early by the lead, learns lateness, fires once") {
  double clock = 10.0;
  std::vector<armed> arms;
  lead_timer t(
      [&](double d, uint64_t token) {
        arms.push_back({d, token});
      },
      [&] { return clock; });
  int fired = 0;
  double fired_at = 0;
  t.call_at(11.0, [&] {
    ++fired;
    fired_at = clock;
  });
  REQUIRE(arms.size() == 1);
  CHECK(arms[0].delay_s == Approx(1.0 - actors::min_timer_lead_s).margin(1e-12));
  CHECK(fired == 0);
  CHECK(t.pending() == 1);

  // The owner's timer fires 0.5 ms late (past the due time): the callback runs now, and the
  // lead grows because the timer was later than the estimate.
  clock = 10.0 + arms[0].delay_s + 0.5e-3;
  t.on_tick(arms[0].token);
  CHECK(fired == 1);
  CHECK(fired_at == clock);
  CHECK(t.pending() == 0);
  CHECK(t.lateness().q90() > actors::min_timer_lead_s);

  // A stale tick (the run already finished) changes nothing.
  const double lead = t.lateness().q90();
  t.on_tick(arms[0].token);
  CHECK(fired == 1);
  CHECK(t.lateness().q90() == lead);
}

TEST_CASE("lead_timer: a tick that comes early arms again for the rest") {
  double clock = 0.0;
  std::vector<armed> arms;
  lead_timer t(
      [&](double d, uint64_t token) {
        arms.push_back({d, token});
      },
      [&] { return clock; });
  bool fired = false;
  t.call_at(2.0, [&] { fired = true; });
  REQUIRE(arms.size() == 1);
  clock = 1.0;  // far too early (a coarse owner timer): more than the lead is still left
  t.on_tick(arms[0].token);
  CHECK_FALSE(fired);
  REQUIRE(arms.size() == 2);
  CHECK(arms[1].token == arms[0].token);
  CHECK(arms[1].delay_s == Approx(1.0 - t.lateness().q90()).margin(1e-12));
  clock = 2.0;
  t.on_tick(arms[1].token);
  CHECK(fired);
}

TEST_CASE("lead_timer: less than the lead left is waited out before call_at returns") {
  // A clock that advances 10 µs per reading: the spin ends once the due time is reached.
  double clock = 5.0;
  int arms = 0;
  lead_timer t([&](double, uint64_t) { ++arms; }, [&] { return clock += 10e-6; });
  double fired_at = -1;
  const double due = 5.0 + 100e-6;  // below the 200 µs minimum lead
  t.call_at(due, [&] { fired_at = clock; });
  CHECK(arms == 0);
  CHECK(fired_at >= due);
  CHECK(fired_at < due + 30e-6);
  CHECK(t.pending() == 0);
}

TEST_CASE("lead_timer: needs a way to arm the owner's timer") {
  CHECK_THROWS_WITH(lead_timer(lead_timer::arm_fn{}), Catch::Contains("arm"));
}
