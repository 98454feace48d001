// The plain-text transport refuses BASP payloads above the limits before committing memory
// (net/capped_transport.hpp): an announced 4 GB, a large first message, a message above
// max_message_bytes from a real peer; the node keeps serving and frees large read buffers.

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

#include "net/bootstrap.hpp"
#include "net/capped_transport.hpp"

using namespace alpaserve;
using namespace std::chrono_literals;

namespace {

net::runtime_settings plain_settings(size_t max_message_bytes) {
  net::runtime_settings s;
  s.max_threads = 2;
  s.heartbeat_interval_ms = 0;
  s.max_message_bytes = max_message_bytes;
  return s;
}

struct echo_node {
  net::runtime_config cfg;
  caf::actor_system sys;
  caf::actor echo;
  uint16_t port = 0;

  explicit echo_node(const net::runtime_settings& s) : cfg(s), sys(cfg) {
    echo = sys.spawn([]() -> caf::behavior {
      return {[](const std::string& x) { return std::to_string(x.size()); }};
    });
    sys.registry().put(net::registry_names::node_agent, echo);
    auto p = net::publish_actor(sys, echo, 0, "127.0.0.1", "test-node");
    REQUIRE(p);
    port = *p;
  }
  ~echo_node() { caf::anon_send_exit(echo, caf::exit_reason::user_shutdown); }
};

// Sends `text` from a client actor system; returns the reply ("" on failure).
std::string ask(uint16_t port, const std::string& text, size_t client_limit) {
  net::runtime_config cfg(plain_settings(client_limit));
  caf::actor_system sys(cfg);
  auto handle = net::lookup_remote(sys, "127.0.0.1", port, net::registry_names::node_agent, 3s);
  if (!handle) return "";
  std::string out;
  caf::scoped_actor self{sys};
  self->request(*handle, 5s, text)
      .receive([&](const std::string& r) { out = r; }, [](caf::error&) {});
  return out;
}

int raw_connect(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  if (!bytes.empty()) REQUIRE(::send(fd, bytes.data(), bytes.size(), 0) == ssize_t(bytes.size()));
  return fd;
}

// Whether the peer closes fd within `wait` (reading and dropping what it sends).
bool closed_by_peer(int fd, std::chrono::milliseconds wait) {
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto end = std::chrono::steady_clock::now() + wait;
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
  }
  return false;
}

std::string basp_header(uint8_t op, uint32_t payload_len) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<char>((payload_len >> (24 - 8 * i)) & 0xff);
  return h;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

TEST_CASE("plain text: a header announcing 4 GB is refused before memory is committed") {
  echo_node n(plain_settings(8u << 20));
  REQUIRE(ask(n.port, "hi", 8u << 20) == "2");
  const auto refused0 = net::transport_refusals().refused_oversized;
  const long before = rss_kib();
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) fds.push_back(raw_connect(n.port, basp_header(2, 0xfffffff0u)));
  for (int fd : fds) CHECK(closed_by_peer(fd, 2000ms));
  const long after = rss_kib();
  INFO("RSS " << before / 1024 << " MiB before, " << after / 1024 << " MiB after");
  CHECK(after - before < 16 * 1024);
  CHECK(net::transport_refusals().refused_oversized >= refused0 + 8);
  for (int fd : fds) ::close(fd);
  CHECK(ask(n.port, "still", 8u << 20) == "5");
}

TEST_CASE("plain text: before the handshake a payload is limited to 1 MiB") {
  echo_node n(plain_settings(64u << 20));
  const int fd = raw_connect(n.port, basp_header(1, 2u << 20));
  CHECK(closed_by_peer(fd, 2000ms));
  ::close(fd);
  const int small = raw_connect(n.port, basp_header(1, 1000));  // waits for its payload
  CHECK(!closed_by_peer(small, 300ms));
  ::close(small);
}

TEST_CASE("a real peer's message above max_message_bytes closes its connection only") {
  echo_node n(plain_settings(4u << 20));
  const auto released0 = net::transport_refusals().buffers_released;
  // 3 MiB fits (and its read buffer is given back afterwards); 5 MiB does not.
  CHECK(ask(n.port, std::string(3u << 20, 'x'), 64u << 20) == std::to_string(3u << 20));
  CHECK(net::transport_refusals().buffers_released > released0);
  const auto refused0 = net::transport_refusals().refused_oversized;
  CHECK(ask(n.port, std::string(5u << 20, 'x'), 64u << 20).empty());
  CHECK(net::transport_refusals().refused_oversized > refused0);
  CHECK(ask(n.port, "after", 4u << 20) == "5");
}
