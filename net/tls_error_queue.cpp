// Works around a defect of CAF 0.17.6's OpenSSL module that drops healthy connections.
//
// OpenSSL requires the calling thread's error queue to be empty before SSL_read, SSL_write,
// SSL_accept, SSL_connect (or SSL_get_error misreports their result: any stale error there makes
// it answer SSL_ERROR_SSL). CAF's session (libcaf_openssl) never clears it, and every session of
// a process runs on the middleman's one I/O thread: when one peer goes away or fails its
// handshake, the errors its session leaves behind make the next read of another, healthy
// session look fatal, and CAF closes that connection too. Seen as: a client disconnecting from
// the controller dropped the links to every worker node (remote_link_unreachable).
//
// The fix interposes these four functions from the executable (the dynamic linker resolves
// libcaf_openssl's calls to a definition in the executable first): each clears the error queue
// and calls OpenSSL's own. tls_error_queue_guard_active() checks at start that the
// interposition took effect.

#include "net/tls_error_queue.hpp"

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class Fn>
Fn next_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto real = next_symbol<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto real = next_symbol<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static const auto real = next_symbol<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static const auto real = next_symbol<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

}  // extern "C"

namespace alpaserve::net {

bool tls_error_queue_guard_active() {
  // What a shared library's call to SSL_read resolves to: ours when the interposition works.
  return ::dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&SSL_read);
}

}  // namespace alpaserve::net
