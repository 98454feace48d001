#include "planner/policy/policy_registry.hpp"

#include <cmath>
#include <regex>

#include "planner/core/input_error.hpp"
#include "planner/policy/policy_mp_equal.hpp"
#include "planner/policy/policy_mp_greedy.hpp"
#include "planner/policy/policy_mp_round_robin.hpp"
#include "planner/policy/policy_mp_search.hpp"
#include "planner/policy/policy_ours.hpp"
#include "planner/policy/policy_sr_greedy.hpp"
#include "planner/policy/policy_sr_replace.hpp"
#include "planner/policy/policy_sr_search.hpp"

namespace alpaserve::planner {
namespace {

std::string valid_names() {
  std::string s;
  for (const auto& n : policy_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

[[noreturn]] void unknown(const std::string& name, const std::string& why) {
  throw input_error("policy", name, why + "; valid policies: " + valid_names());
}

// A positive integer that fits an int, or -1.
int positive_int(const std::string& s) {
  if (s.empty() || s.size() > 6) return -1;
  const int v = std::stoi(s);
  return v > 0 ? v : -1;
}

}  // namespace

std::vector<std::string> policy_names() {
  return {"sr-greedy",          "sr-search",      "sr-replace-<seconds>",
          "mp-greedy-<stages>", "mp-round-robin", "mp-equal-<pp>-<op>",
          "mp-search",          "mp-search-sep",  "ours"};
}

std::unique_ptr<placement_policy> make_policy(const std::string& name,
                                              const policy_options& options) {
  if (name == "sr-greedy") return std::make_unique<policy_sr_greedy>(options);
  if (name == "sr-search") return std::make_unique<policy_sr_search>(options);
  if (name == "mp-round-robin") return std::make_unique<policy_mp_round_robin>(options);
  if (name == "mp-search") return std::make_unique<policy_mp_search>(false, options);
  if (name == "mp-search-sep") return std::make_unique<policy_mp_search>(true, options);
  if (name == "ours") return std::make_unique<policy_ours>(options);
  std::smatch match;
  static const std::regex replace_re(R"(sr-replace-([0-9]+(\.[0-9]+)?))");
  static const std::regex greedy_re(R"(mp-greedy-([0-9]+))");
  static const std::regex equal_re(R"(mp-equal-([0-9]+)-([0-9]+))");
  if (std::regex_match(name, match, replace_re)) {
    const double interval = std::stod(match[1].str());
    if (!(interval > 0) || !std::isfinite(interval))
      unknown(name, "the replacement interval must be a positive number of seconds");
    return std::make_unique<policy_sr_replace>(interval, options);
  }
  if (std::regex_match(name, match, greedy_re)) {
    const int k = positive_int(match[1].str());
    if (k < 1) unknown(name, "the stage count must be a positive integer");
    return std::make_unique<policy_mp_greedy>(k, options);
  }
  if (std::regex_match(name, match, equal_re)) {
    const int pp = positive_int(match[1].str());
    const int op = positive_int(match[2].str());
    if (pp < 1 || op < 1) unknown(name, "pp and op must be positive integers");
    return std::make_unique<policy_mp_equal>(pp, op, options);
  }
  unknown(name, "unknown policy");
}

bool is_known_policy(const std::string& name) {
  try {
    (void)make_policy(name);
    return true;
  } catch (const input_error&) {
    return false;
  }
}

}  // namespace alpaserve::planner
