#pragma once
// Helpers for the config tests: parse a snippet and look for the issue a rule must produce.

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "config/config_parser.hpp"

namespace alpaserve::config::testing {

// Every issue the strict parser reports for `text` (empty when it parses).
inline std::vector<config_issue> issues_of(std::string_view text,
                                           const validation_hooks& hooks = {},
                                           const std::string& file = "cluster.toml") {
  try {
    (void)parse_cluster_config(text, file, hooks);
  } catch (const config_error& e) {
    return e.issues();
  }
  return {};
}

inline std::string describe(const std::vector<config_issue>& issues) {
  std::string out;
  for (const auto& i : issues) out += "  " + i.to_string() + "\n";
  return out.empty() ? "  (no issues)\n" : out;
}

// The one issue for `key` at `line` whose problem contains `fragment`; fails the test if absent.
inline config_issue require_issue(const std::vector<config_issue>& issues, int line,
                                  const std::string& key, const std::string& fragment) {
  INFO("issues:\n" << describe(issues));
  INFO("wanted line " << line << ", key " << key << ", problem containing '" << fragment << "'");
  for (const auto& i : issues) {
    if (i.line == line && i.key == key && i.problem.find(fragment) != std::string::npos) return i;
  }
  FAIL("issue not reported");
  return {};
}

// A valid two-node cluster; tests append or replace lines to break one rule at a time.
// Line numbers matter: tests name them.
inline constexpr std::string_view valid_cluster =
    "[[nodes]]\n"                                                             // 1
    "name = \"a\"\n"                                                          // 2
    "host = \"127.0.0.1\"\n"                                                  // 3
    "port = 7000\n"                                                           // 4
    "roles = [\"controller\", \"worker\"]\n"                                  // 5
    "devices = [{ kind = \"emulated-v100\", count = 2, memory_gib = 13 }]\n"  // 6
    "\n"                                                                      // 7
    "[[nodes]]\n"                                                             // 8
    "name = \"b\"\n"                                                          // 9
    "host = \"127.0.0.1\"\n"                                                  // 10
    "port = 7001\n"                                                           // 11
    "devices = [{ kind = \"emulated-v100\", count = 2, memory_gib = 13 }]\n"  // 12
    "\n"                                                                      // 13
    "[[models]]\n"                                                            // 14
    "name = \"m0\"\n"                                                         // 15
    "type = \"bert-1.3b\"\n"                                                  // 16
    "slo_ms = 500\n"                                                          // 17
    "rate = 1\n"                                                              // 18
    "\n"                                                                      // 19
    "[[models]]\n"                                                            // 20
    "name = \"m1\"\n"                                                         // 21
    "type = \"bert-2.6b\"\n"                                                  // 22
    "slo_scale = 5\n"                                                         // 23
    "rate = 0.5\n"                                                            // 24
    "cv = 3\n";                                                               // 25

// `text` with line `line` (1-based) replaced by `replacement` (may hold several lines).
inline std::string replace_line(std::string text, int line, const std::string& replacement) {
  size_t begin = 0;
  for (int i = 1; i < line; ++i) begin = text.find('\n', begin) + 1;
  const size_t end = text.find('\n', begin);
  return text.replace(begin, end - begin, replacement);
}

inline std::string with_line(int line, const std::string& replacement) {
  return replace_line(std::string(valid_cluster), line, replacement);
}

}  // namespace alpaserve::config::testing
