#include "net/tls_material.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace alpaserve::net::tls {
namespace {

struct free_bio {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct free_pkey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct free_x509 {
  void operator()(X509* x) const { X509_free(x); }
};
struct free_store {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct free_store_ctx {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct free_bn {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct free_ext {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using bio_ptr = std::unique_ptr<BIO, free_bio>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, free_pkey>;
using x509_ptr = std::unique_ptr<X509, free_x509>;
using store_ptr = std::unique_ptr<X509_STORE, free_store>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, free_store_ctx>;
using bn_ptr = std::unique_ptr<BIGNUM, free_bn>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, free_ext>;

// The oldest error on OpenSSL's queue as text (and the queue cleared), or `fallback`.
std::string openssl_error(const char* fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// Reads a whole file; on failure returns nullopt and sets `problem` ("cannot read: reason").
std::optional<std::string> read_file(const std::string& path, std::string& problem) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    problem = "cannot read: is a folder";
    return std::nullopt;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem = std::string("cannot read: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = std::string("cannot read: ") + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Writes `data` to `path` atomically: a temporary file in the same folder (created with `mode`),
// fsync, rename over `path`.
void write_atomically(const std::string& path, const std::string& data, mode_t mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());  // mode 0600
  if (fd < 0) throw tls_error(path + ": cannot write: " + std::strerror(errno));
  auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw tls_error(path + ": cannot write (" + what + "): " + reason);
  };
  if (::fchmod(fd, mode) != 0) fail("chmod");
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmpl.c_str());
    throw tls_error(path + ": cannot write (close): " + reason);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmpl.c_str());
    throw tls_error(path + ": cannot write (rename): " + reason);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

pkey_ptr new_ec_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) throw tls_error("cannot generate an EC P-256 key: " + openssl_error("unknown error"));
  return key;
}

std::string pem_of(const X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    throw tls_error("cannot encode a certificate: " + openssl_error("unknown error"));
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

std::string pem_of(const EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw tls_error("cannot encode a private key: " + openssl_error("unknown error"));
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    throw tls_error(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) + "=" +
                    value + ": " + openssl_error("unknown error"));
}

// A certificate for `key` named `common_name`, without extensions or signature yet.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& common_name, const validity& valid) {
  x509_ptr cert(X509_new());
  if (!cert) throw tls_error("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);  // v3
  bn_ptr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    throw tls_error("cannot draw a serial number: " + openssl_error("unknown error"));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(valid.not_before_s));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid.not_after_s));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1)
    throw tls_error("cannot set the common name '" + common_name +
                    "': " + openssl_error("unknown error"));
  return cert;
}

extern "C" int no_passphrase_prompt(char*, int, int, void*) {
  return -1;  // never prompt on the terminal
}

// Parses the first private key of `pem`; an empty `passphrase` never prompts.
pkey_ptr parse_key(const std::string& pem, const std::string& passphrase) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  if (passphrase.empty())
    return pkey_ptr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase_prompt, nullptr));
  return pkey_ptr(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(passphrase.c_str())));
}

std::vector<x509_ptr> parse_certificates(const std::string& pem) {
  std::vector<x509_ptr> out;
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return out;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase_prompt, nullptr);
    if (x == nullptr) break;
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the file reads as an error
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

// "" when `cert` is valid now, else why not.
std::string time_problem(const X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    return "expired on " + time_text(X509_get0_notAfter(cert));
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return "not valid before " + time_text(X509_get0_notBefore(cert));
  return {};
}

x509_ptr load_ca_certificate(const std::string& path) {
  std::string problem;
  auto text = read_file(path, problem);
  if (!text) throw tls_error(path + ": " + problem);
  auto certs = parse_certificates(*text);
  if (certs.empty()) throw tls_error(path + ": not a PEM certificate");
  return std::move(certs.front());
}

}  // namespace

void write_ca(const std::string& cert_path, const std::string& key_path,
              const std::string& cluster_name, const validity& valid) {
  pkey_ptr key = new_ec_key();
  x509_ptr cert = new_certificate(key.get(), cluster_name + " alpaserve CA", valid);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    throw tls_error("cannot sign the CA certificate: " + openssl_error("unknown error"));
  write_atomically(key_path, pem_of(key.get()), 0600);
  write_atomically(cert_path, pem_of(cert.get()), 0644);
}

void write_signed(const std::string& ca_cert_path, const std::string& ca_key_path,
                  const std::string& cert_path, const std::string& key_path,
                  const std::string& common_name, const validity& valid) {
  x509_ptr ca = load_ca_certificate(ca_cert_path);
  if (X509_check_ca(ca.get()) == 0) throw tls_error(ca_cert_path + ": not a CA certificate");
  std::string problem;
  auto ca_key_text = read_file(ca_key_path, problem);
  if (!ca_key_text) throw tls_error(ca_key_path + ": " + problem);
  pkey_ptr ca_key = parse_key(*ca_key_text, "");
  if (!ca_key) throw tls_error(ca_key_path + ": not an unencrypted PEM private key");
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    throw tls_error(ca_key_path + ": does not match the CA certificate " + ca_cert_path);
  }
  pkey_ptr key = new_ec_key();
  x509_ptr cert = new_certificate(key.get(), common_name, valid);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0)
    throw tls_error("cannot sign the certificate for '" + common_name +
                    "': " + openssl_error("unknown error"));
  write_atomically(key_path, pem_of(key.get()), 0600);
  write_atomically(cert_path, pem_of(cert.get()), 0644);
}

std::vector<std::string> check_material(const material& m) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& path, const std::string& what) {
    problems.push_back(path + ": " + what);
  };
  auto read = [&](const std::string& what, const std::string& path) -> std::optional<std::string> {
    if (path.empty()) {
      problems.push_back(what + ": no file given");
      return std::nullopt;
    }
    std::string why;
    auto text = read_file(path, why);
    if (!text) problem(path, why);
    return text;
  };

  std::vector<x509_ptr> cas;
  if (auto text = read("CA file", m.ca_file)) {
    cas = parse_certificates(*text);
    if (cas.empty()) problem(m.ca_file, "not a PEM certificate");
    for (const auto& ca : cas) {
      if (X509_check_ca(ca.get()) == 0)
        problem(m.ca_file, "not a CA certificate (no basicConstraints CA:TRUE)");
      if (auto t = time_problem(ca.get()); !t.empty()) problem(m.ca_file, "CA certificate " + t);
    }
  }
  std::vector<x509_ptr> chain;  // the certificate file: this process's, then intermediates
  if (auto text = read("certificate", m.certificate)) {
    chain = parse_certificates(*text);
    if (chain.empty()) problem(m.certificate, "not a PEM certificate");
  }
  pkey_ptr key;
  if (auto text = read("key", m.key)) {
    key = parse_key(*text, m.passphrase);
    if (!key) {
      ERR_clear_error();
      const bool encrypted = text->find("ENCRYPTED") != std::string::npos;
      if (encrypted && m.passphrase.empty())
        problem(m.key,
                "the private key is encrypted and no passphrase is set (tls.passphrase_env)");
      else if (encrypted)
        problem(m.key, "cannot decrypt the private key (wrong passphrase?)");
      else
        problem(m.key, "not a PEM private key");
    }
  }
  if (chain.empty()) return problems;
  X509* cert = chain.front().get();
  if (auto t = time_problem(cert); !t.empty()) problem(m.certificate, "certificate " + t);
  if (X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1 ||
      X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) != 1)
    problem(m.certificate,
            "certificate is not usable for both TLS server and client authentication "
            "(extendedKeyUsage serverAuth, clientAuth)");
  if (key && X509_check_private_key(cert, key.get()) != 1) {
    ERR_clear_error();
    problem(m.key, "private key does not match the certificate " + m.certificate);
  }
  if (cas.empty()) return problems;
  store_ptr store(X509_STORE_new());
  for (const auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  // Validity in time is reported above, once per file; here only the chain.
  X509_STORE_set_flags(store.get(), X509_V_FLAG_NO_CHECK_TIME);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
  store_ctx_ptr ctx(X509_STORE_CTX_new());
  if (ctx && X509_STORE_CTX_init(ctx.get(), store.get(), cert, untrusted) == 1) {
    if (X509_verify_cert(ctx.get()) != 1) {
      const int err = X509_STORE_CTX_get_error(ctx.get());
      problem(m.certificate, std::string("certificate does not chain to the CA in ") + m.ca_file +
                                 ": " + X509_verify_cert_error_string(err));
    }
  } else {
    problem(m.certificate, "cannot verify: " + openssl_error("unknown error"));
  }
  sk_X509_free(untrusted);
  ERR_clear_error();
  return problems;
}

std::string certificate_common_name(const std::string& cert_path) {
  std::string problem;
  auto text = read_file(cert_path, problem);
  if (!text) return {};
  auto certs = parse_certificates(*text);
  if (certs.empty()) return {};
  char buf[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(certs.front().get()), NID_commonName, buf,
                                sizeof(buf)) < 0)
    return {};
  return buf;
}

}  // namespace alpaserve::net::tls
