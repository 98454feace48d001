#pragma once
// TLS material of a cluster (no CAF here, only OpenSSL): a private cluster CA (EC P-256,
// self-signed, CA:TRUE) and certificates signed by it for every node and for clients (EC P-256,
// serverAuth + clientAuth: every peer is both). Files are PEM; private keys are written with mode
// 0600; every file is written to a temporary file in the same folder and renamed into place.
//
// CAF 0.17.6's OpenSSL module checks a peer's certificate against the CA but never its host
// name, so any certificate the CA signed is accepted from anywhere: use one CA per cluster and
// keep its key (ca.key) off the nodes.
//
// validate_material() is what every node and client runs at start (CAF re-reads the files on
// every connection and would only fail there): the files exist and can be read, parse, the key
// matches the certificate, the certificate chains to the CA, both are valid now, and the CA is a
// CA. Every problem names the file it is about.

#include <stdexcept>
#include <string>
#include <vector>

namespace alpaserve::net::tls {

// Thrown by the generators (cannot write, CA unusable). what() names the file.
class tls_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct validity {
  long long not_before_s = -300;              // relative to now (a little clock skew)
  long long not_after_s = 825LL * 24 * 3600;  // relative to now
};

// Writes a new self-signed CA: certificate to `cert_path`, key to `key_path` (0600). The common
// name is "<cluster_name> alpaserve CA". Throws tls_error.
void write_ca(const std::string& cert_path, const std::string& key_path,
              const std::string& cluster_name, const validity& valid = {});

// Writes a new key and a certificate for `common_name` signed by the CA in ca_cert_path /
// ca_key_path. Throws tls_error (naming the CA files when they cannot be used).
void write_signed(const std::string& ca_cert_path, const std::string& ca_key_path,
                  const std::string& cert_path, const std::string& key_path,
                  const std::string& common_name, const validity& valid = {});

struct material {
  std::string ca_file;      // PEM CA certificate(s) peers are verified against
  std::string certificate;  // PEM certificate this process presents
  std::string key;          // PEM private key of `certificate`
  std::string passphrase;   // of `key`; empty = unencrypted
};

// Every problem of the material, each "path: problem"; empty when usable. Never prompts for a
// passphrase.
[[nodiscard]] std::vector<std::string> check_material(const material& m);

// The subject common name of a PEM certificate file; empty when unreadable.
[[nodiscard]] std::string certificate_common_name(const std::string& cert_path);

}  // namespace alpaserve::net::tls
