// TLS material: a generated CA and certificates validate; every broken combination is refused
// with a message naming the file at fault.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "net/tls_material.hpp"
#include "tls_test_support.hpp"

namespace fs = std::filesystem;
using namespace alpaserve::net::tls;
using alpaserve::tests::temp_dir;

namespace {

std::string all(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

bool mentions(const std::vector<std::string>& problems, const std::string& file,
              const std::string& what) {
  for (const auto& p : problems)
    if (p.rfind(file + ": ", 0) == 0 && p.find(what) != std::string::npos) return true;
  return false;
}

int mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

}  // namespace

TEST_CASE("a generated CA and node certificate validate, keys are 0600") {
  temp_dir d("tls-material-ok");
  const auto ca = d.file("ca.pem"), ca_key = d.file("ca.key");
  write_ca(ca, ca_key, "test");
  write_signed(ca, ca_key, d.file("n.pem"), d.file("n.key"), "node-a");
  CHECK(mode_of(ca_key) == 0600);
  CHECK(mode_of(d.file("n.key")) == 0600);
  CHECK(mode_of(ca) == 0644);
  CHECK(mode_of(d.file("n.pem")) == 0644);
  const auto problems = check_material({ca, d.file("n.pem"), d.file("n.key"), ""});
  INFO(all(problems));
  CHECK(problems.empty());
  CHECK(certificate_common_name(d.file("n.pem")) == "node-a");
  CHECK(certificate_common_name(ca) == "test alpaserve CA");
  // No temporary files are left behind.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 4);
}

TEST_CASE("a certificate from another CA is refused, naming the certificate") {
  temp_dir d("tls-material-wrong-ca");
  write_ca(d.file("ca.pem"), d.file("ca.key"), "good");
  write_ca(d.file("other.pem"), d.file("other.key"), "evil");
  write_signed(d.file("other.pem"), d.file("other.key"), d.file("n.pem"), d.file("n.key"), "n");
  const auto problems = check_material({d.file("ca.pem"), d.file("n.pem"), d.file("n.key"), ""});
  INFO(all(problems));
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, d.file("n.pem"), "does not chain to the CA in " + d.file("ca.pem")));
  CHECK(mentions(problems, d.file("n.pem"), "unable to get local issuer certificate"));
}

TEST_CASE("an expired certificate and a CA not yet valid are refused") {
  temp_dir d("tls-material-expired");
  write_ca(d.file("ca.pem"), d.file("ca.key"), "t");
  validity expired;
  expired.not_before_s = -2 * 86400;
  expired.not_after_s = -86400;
  write_signed(d.file("ca.pem"), d.file("ca.key"), d.file("old.pem"), d.file("old.key"), "old",
               expired);
  auto problems = check_material({d.file("ca.pem"), d.file("old.pem"), d.file("old.key"), ""});
  INFO(all(problems));
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, d.file("old.pem"), "certificate expired on "));

  validity future;
  future.not_before_s = 86400;
  write_ca(d.file("future.pem"), d.file("future.key"), "f", future);
  write_signed(d.file("future.pem"), d.file("future.key"), d.file("n.pem"), d.file("n.key"), "n");
  problems = check_material({d.file("future.pem"), d.file("n.pem"), d.file("n.key"), ""});
  INFO(all(problems));
  CHECK(mentions(problems, d.file("future.pem"), "CA certificate not valid before "));
}

TEST_CASE("a key that does not belong to the certificate is refused, naming the key") {
  temp_dir d("tls-material-mismatch");
  write_ca(d.file("ca.pem"), d.file("ca.key"), "t");
  write_signed(d.file("ca.pem"), d.file("ca.key"), d.file("a.pem"), d.file("a.key"), "a");
  write_signed(d.file("ca.pem"), d.file("ca.key"), d.file("b.pem"), d.file("b.key"), "b");
  const auto problems = check_material({d.file("ca.pem"), d.file("a.pem"), d.file("b.key"), ""});
  INFO(all(problems));
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, d.file("b.key"), "does not match the certificate " + d.file("a.pem")));
}

TEST_CASE("missing, unreadable and malformed files are named") {
  temp_dir d("tls-material-files");
  write_ca(d.file("ca.pem"), d.file("ca.key"), "t");
  write_signed(d.file("ca.pem"), d.file("ca.key"), d.file("n.pem"), d.file("n.key"), "n");
  SECTION("missing") {
    const auto problems =
        check_material({d.file("nope.pem"), d.file("n.pem"), d.file("n.key"), ""});
    INFO(all(problems));
    REQUIRE(problems.size() == 1);
    CHECK(mentions(problems, d.file("nope.pem"), "cannot read: No such file or directory"));
  }
  SECTION("a folder") {
    const auto problems = check_material({d.file("ca.pem"), d.path(), d.file("n.key"), ""});
    CHECK(mentions(problems, d.path(), "cannot read: is a folder"));
  }
  SECTION("not PEM") {
    std::ofstream(d.file("junk.pem")) << "hello\n";
    const auto problems =
        check_material({d.file("junk.pem"), d.file("junk.pem"), d.file("junk.pem"), ""});
    INFO(all(problems));
    CHECK(mentions(problems, d.file("junk.pem"), "not a PEM certificate"));
    CHECK(mentions(problems, d.file("junk.pem"), "not a PEM private key"));
  }
  SECTION("a leaf certificate as the CA") {
    const auto problems = check_material({d.file("n.pem"), d.file("n.pem"), d.file("n.key"), ""});
    INFO(all(problems));
    CHECK(mentions(problems, d.file("n.pem"), "not a CA certificate"));
  }
  SECTION("unreadable") {
    if (::geteuid() == 0) return;  // root reads mode-0 files
    ::chmod(d.file("n.key").c_str(), 0);
    const auto problems = check_material({d.file("ca.pem"), d.file("n.pem"), d.file("n.key"), ""});
    CHECK(mentions(problems, d.file("n.key"), "cannot read: Permission denied"));
  }
  SECTION("no file given") {
    const auto problems = check_material({d.file("ca.pem"), "", d.file("n.key"), ""});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "certificate: no file given");
  }
}

TEST_CASE("a CA that is not a CA, or a CA key that does not match, cannot sign") {
  temp_dir d("tls-material-sign");
  write_ca(d.file("ca.pem"), d.file("ca.key"), "t");
  write_ca(d.file("ca2.pem"), d.file("ca2.key"), "t2");
  write_signed(d.file("ca.pem"), d.file("ca.key"), d.file("n.pem"), d.file("n.key"), "n");
  CHECK_THROWS_WITH(
      write_signed(d.file("n.pem"), d.file("n.key"), d.file("x.pem"), d.file("x.key"), "x"),
      d.file("n.pem") + ": not a CA certificate");
  CHECK_THROWS_WITH(
      write_signed(d.file("ca.pem"), d.file("ca2.key"), d.file("x.pem"), d.file("x.key"), "x"),
      d.file("ca2.key") + ": does not match the CA certificate " + d.file("ca.pem"));
  CHECK_THROWS_WITH(
      write_signed(d.file("none.pem"), d.file("ca.key"), d.file("x.pem"), d.file("x.key"), "x"),
      d.file("none.pem") + ": cannot read: No such file or directory");
  CHECK(!fs::exists(d.file("x.pem")));
  CHECK(!fs::exists(d.file("x.key")));
  CHECK_THROWS_WITH(write_ca(d.file("no/such/dir/ca.pem"), d.file("no/such/dir/ca.key"), "t"),
                    Catch::Contains(d.file("no/such/dir/ca.key") + ": cannot write"));
}
