#pragma once
// The workaround for CAF 0.17.6's OpenSSL module leaving errors on OpenSSL's per-thread error
// queue, which makes it close healthy connections (net/tls_error_queue.cpp).

namespace alpaserve::net {

// True when libcaf_openssl's calls to SSL_read / SSL_write / SSL_accept / SSL_connect go through
// the versions that clear the error queue first. runtime_config refuses TLS without it.
[[nodiscard]] bool tls_error_queue_guard_active();

}  // namespace alpaserve::net
