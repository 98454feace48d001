#include "net/capped_transport.hpp"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/detail/socket_guard.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/openssl/session.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace alpaserve::net {
namespace {

namespace io = caf::io;
namespace network = caf::io::network;
using network::native_socket;

std::atomic<size_t> pending_bytes{0};  // payloads above small_read_bytes being read, all peers
std::atomic<uint64_t> refused_oversized{0};
std::atomic<uint64_t> refused_budget{0};
std::atomic<uint64_t> buffers_released{0};
std::atomic<uint64_t> tls_session_failures{0};

// One warning per refusal for the first few, then one per 1000: a flood of hostile connections
// must not become a flood of log lines.
bool should_log(uint64_t count) {
  return count <= 10 || count % 1000 == 0;
}

std::string peer_of(native_socket fd) {
  auto addr = network::remote_addr_of_fd(fd);
  auto port = network::remote_port_of_fd(fd);
  if (!addr || !port) return "unknown peer";
  return *addr + ":" + std::to_string(*port);
}

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The TLS read/write policy of a stream: CAF's OpenSSL session does the work.
class tls_policy {
 public:
  explicit tls_policy(caf::openssl::session_ptr session) : session_(std::move(session)) {}
  network::rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    return session_->read_some(result, fd, buf, len);
  }
  network::rw_state write_some(size_t& result, native_socket fd, const void* buf, size_t len) {
    return session_->write_some(result, fd, buf, len);
  }
  bool must_read_more(native_socket fd, size_t threshold) {
    return session_->must_read_more(fd, threshold);
  }

 private:
  caf::openssl::session_ptr session_;
};

// A scribe (one BASP connection) over Policy's stream that checks every BASP header before
// CAF's broker sees it. It mirrors the broker's framing: a 32-byte header, then payload_len
// bytes when that is > 0.
template <class Policy>
class capped_scribe final : public io::scribe {
 public:
  template <class... Ts>
  capped_scribe(network::default_multiplexer& mpx, native_socket fd, const message_limits& limits,
                Ts&&... policy_args)
      : io::scribe(network::conn_hdl_from_socket(fd)),
        limits_(limits),
        stream_(mpx, fd, std::forward<Ts>(policy_args)...) {}

  ~capped_scribe() override { release(); }

  void configure_read(io::receive_policy::config config) override {
    if (refused_) return;
    // Second line of defence (the header check below comes first): never let the stream size
    // its buffer beyond what this connection may read now.
    const size_t want = config.second;
    if (want > current_limit()) {
      refuse_later(want, false);
      return;
    }
    if (want > limits_.small_read_bytes) {
      if (!reserve(want)) {
        refuse_later(want, true);
        return;
      }
    } else {
      release();
    }
    configured_ = want;
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
      // TLS: an empty first write drives the handshake (as CAF's OpenSSL module does).
      if constexpr (!std::is_same_v<Policy, caf::policy::tcp>) stream_.force_empty_write(this);
    }
  }

  bool consume(caf::execution_unit* ctx, const void* buf, size_t num_bytes) override {
    if (!refused_) {
      const bool header = !awaiting_payload_;
      uint8_t op = 0;
      uint32_t payload_len = 0;
      if (header && num_bytes == io::basp::header_size) {
        const auto* p = static_cast<const unsigned char*>(buf);
        op = p[0];
        payload_len = read_be32(p + 4);
        if (payload_len > current_limit()) {
          refuse_now(payload_len);
        } else if (payload_len > 0) {
          awaiting_payload_ = true;
          pending_op_ = op;
        }
      } else if (!header) {
        awaiting_payload_ = false;
        op = pending_op_;
      }
      if (!refused_) {
        const bool ok = io::scribe::consume(ctx, buf, num_bytes);
        const bool message_done = !awaiting_payload_;
        if (message_done && is_handshake(op)) handshake_seen_ = true;
        if (!awaiting_payload_ && configured_ <= io::basp::header_size) shrink_buffer();
        if (!refused_) return ok;
      }
    }
    // Closing here is what the stream does on a read error: the broker gets connection_closed
    // and forgets the connection; the stream stops reading and closes the socket.
    ::shutdown(stream_.fd(), SHUT_RDWR);
    io_failure(ctx, network::operation::read);
    return false;
  }

  void ack_writes(bool enable) override { stream_.ack_writes(enable); }
  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }
  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }
  void flush() override { stream_.flush(this); }
  std::string addr() const override {
    auto x = network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string();
  }
  uint16_t port() const override {
    auto x = network::remote_port_of_fd(stream_.fd());
    return x ? *x : uint16_t{0};
  }
  void add_to_loop() override { stream_.activate(this); }
  void remove_from_loop() override { stream_.passivate(); }

 private:
  static bool is_handshake(uint8_t op) {
    return op == static_cast<uint8_t>(io::basp::message_type::server_handshake) ||
           op == static_cast<uint8_t>(io::basp::message_type::client_handshake);
  }

  size_t current_limit() const {
    return handshake_seen_ ? limits_.max_message_bytes : limits_.first_message_bytes;
  }

  bool reserve(size_t bytes) {
    release();
    auto now = pending_bytes.fetch_add(bytes) + bytes;
    if (now > limits_.pending_budget_bytes) {
      pending_bytes.fetch_sub(bytes);
      return false;
    }
    reserved_ = bytes;
    return true;
  }

  void release() {
    if (reserved_ == 0) return;
    pending_bytes.fetch_sub(reserved_);
    reserved_ = 0;
  }

  // A buffer grown for a large payload would stay allocated for the connection's lifetime.
  void shrink_buffer() {
    auto& rd = stream_.rd_buf();
    if (rd.capacity() <= limits_.small_read_bytes) return;
    std::vector<char>().swap(rd);
    buffers_released.fetch_add(1);
  }

  void refuse_now(uint64_t announced) {
    refused_ = true;
    auto n = refused_oversized.fetch_add(1) + 1;
    if (should_log(n))
      spdlog::warn(
          "BASP: {} announced a {}-byte message (limit {} {}); connection closed ({} refused so "
          "far)",
          peer_of(stream_.fd()), announced, current_limit(),
          handshake_seen_ ? "bytes, [caf] max_message_bytes" : "bytes before the handshake", n);
  }

  // Inside CAF's broker (configure_read is called from its handler) the connection cannot be
  // torn down; shutting the socket down makes the stream's next read fail, which CAF handles
  // like a peer that hung up.
  void refuse_later(size_t wanted, bool budget) {
    refused_ = true;
    auto n = (budget ? refused_budget : refused_oversized).fetch_add(1) + 1;
    if (should_log(n))
      spdlog::warn("BASP: read of {} bytes from {} refused ({}); connection closed", wanted,
                   peer_of(stream_.fd()),
                   budget ? "pending-message budget exhausted" : "above the message limit");
    ::shutdown(stream_.fd(), SHUT_RDWR);
  }

  message_limits limits_;
  network::stream_impl<Policy> stream_;
  bool launched_ = false;
  bool refused_ = false;
  bool awaiting_payload_ = false;
  bool handshake_seen_ = false;
  uint8_t pending_op_ = 0;
  size_t configured_ = 0;
  size_t reserved_ = 0;
};

using plain_scribe = capped_scribe<caf::policy::tcp>;
using tls_scribe = capped_scribe<tls_policy>;

// Accepts connections and hands each to the broker as a capped scribe.
class capped_doorman final : public network::doorman_impl {
 public:
  capped_doorman(network::default_multiplexer& mpx, native_socket fd, bool tls,
                 const message_limits& limits)
      : network::doorman_impl(mpx, fd), tls_(tls), limits_(limits) {}

  bool new_connection() override {
    if (detached()) return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard guard{fd};
    (void)network::nonblocking(fd, true);
    (void)network::keepalive(fd, true);
    io::scribe_ptr scribe;
    if (tls_) {
      auto session = caf::openssl::make_session(parent()->system(), fd, true);
      if (session == nullptr) {
        auto n = tls_session_failures.fetch_add(1) + 1;
        if (should_log(n))
          spdlog::warn(
              "TLS: cannot set up a session for an accepted connection; closed ({} so far)", n);
        return false;
      }
      scribe = caf::make_counted<tls_scribe>(mpx, fd, limits_, std::move(session));
    } else {
      scribe = caf::make_counted<plain_scribe>(mpx, fd, limits_);
    }
    guard.release();  // the scribe's stream owns the socket now
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

 private:
  bool tls_;
  message_limits limits_;
};

network::default_multiplexer& mpx_of(caf::actor_system& system) {
  return static_cast<network::default_multiplexer&>(system.middleman().backend());
}

caf::actor basp_broker(caf::actor_system& system) {
  return system.middleman().named_broker<io::basp_broker>(caf::atom("BASP"));
}

}  // namespace

transport_counters transport_refusals() {
  return {refused_oversized.load(), refused_budget.load(), buffers_released.load()};
}

caf::expected<uint16_t> capped_publish(caf::actor_system& system, const caf::actor& whom,
                                       uint16_t port, const char* bind, bool reuse, bool tls,
                                       const message_limits& limits) {
  if (bind != nullptr && bind[0] == '\0') bind = nullptr;
  auto fd = network::new_tcp_acceptor_impl(port, bind, reuse);
  if (!fd) return std::move(fd.error());
  io::doorman_ptr doorman = caf::make_counted<capped_doorman>(mpx_of(system), *fd, tls, limits);
  const uint16_t bound = doorman->port();
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(whom);
  std::set<std::string> sigs;  // a dynamically typed handle, as middleman().publish sends it
  caf::anon_send(basp_broker(system), caf::publish_atom::value, std::move(doorman), bound,
                 std::move(ptr), std::move(sigs));
  return bound;
}

caf::expected<caf::node_id> capped_connect(caf::actor_system& system, const std::string& host,
                                           uint16_t port, bool tls, const message_limits& limits) {
  auto fd = network::new_tcp_connection(host, port);
  if (!fd) return std::move(fd.error());
  caf::detail::socket_guard guard{*fd};
  (void)network::nonblocking(*fd, true);
  (void)network::keepalive(*fd, true);
  io::scribe_ptr scribe;
  if (tls) {
    auto session = caf::openssl::make_session(system, *fd, false);
    if (!session) return caf::make_error(caf::sec::cannot_connect_to_node);
    scribe = caf::make_counted<tls_scribe>(mpx_of(system), *fd, limits, std::move(session));
  } else {
    scribe = caf::make_counted<plain_scribe>(mpx_of(system), *fd, limits);
  }
  guard.release();
  caf::expected<caf::node_id> result{caf::make_error(caf::sec::cannot_connect_to_node)};
  caf::scoped_actor self{system};
  // The broker answers once the BASP handshake is done (or the connection failed); a peer that
  // accepts but never answers is given up on.
  self->request(basp_broker(system), std::chrono::seconds(30), caf::connect_atom::value,
                std::move(scribe), port)
      .receive(
          [&](caf::node_id& nid, caf::strong_actor_ptr&, std::set<std::string>&) {
            if (nid)
              result = std::move(nid);
            else
              result = caf::make_error(caf::sec::cannot_connect_to_node);
          },
          [&](caf::error& err) { result = std::move(err); });
  return result;
}

void capped_unpublish(caf::actor_system& system, const caf::actor& whom, uint16_t port) {
  caf::scoped_actor self{system};
  self->request(basp_broker(system), std::chrono::seconds(5), caf::unpublish_atom::value,
                whom.address(), port)
      .receive([] {}, [](const caf::error&) {});
}

}  // namespace alpaserve::net
