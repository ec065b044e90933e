#include "config/tls_files.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tocsin::config {
namespace {

using core::Error;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// The default PEM callback would prompt on the terminal for an encrypted key's pass phrase;
// refusing makes the read fail instead.
int no_pass_phrase(char*, int, int, void*) { return 0; }

core::Result<std::unique_ptr<std::FILE, FileCloser>> open_file(const std::string& path, std::string_view field) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "r"));
  if (!f) {
    return std::unexpected(
        Error::invalid_argument(fmt::format("cannot read the TLS {} {}: {}", field == "cert_file" ? "certificate" : "key",
                                            path, std::strerror(errno)))
            .field(std::string(field)));
  }
  return f;
}

}  // namespace

core::Status check_tls_files(const std::string& cert_file, const std::string& key_file) {
  // OpenSSL queues an error per failed call; they would leak into later, unrelated messages.
  struct ClearErrors {
    ~ClearErrors() { ERR_clear_error(); }
  } clear_errors;

  auto cert_in = TOCSIN_TRY(open_file(cert_file, "cert_file"));
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(cert_in.get(), nullptr, no_pass_phrase, nullptr));
  if (!cert) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("the TLS certificate file {} holds no PEM certificate (expected a \"-----BEGIN "
                    "CERTIFICATE-----\" block: the server certificate, then any intermediates)",
                    cert_file))
            .field("cert_file"));
  }
  auto key_in = TOCSIN_TRY(open_file(key_file, "key_file"));
  std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_PrivateKey(key_in.get(), nullptr, no_pass_phrase, nullptr));
  if (!key) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("the TLS key file {} holds no unencrypted PEM private key (expected a \"-----BEGIN PRIVATE "
                    "KEY-----\", RSA or EC PRIVATE KEY block; an encrypted key would need a pass phrase)",
                    key_file))
            .field("key_file"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return std::unexpected(Error::invalid_argument(fmt::format(
        "the TLS key in {} does not match the certificate in {} (the first certificate of the file)", key_file,
        cert_file))
            .field("key_file"));
  }
  return core::ok();
}

}  // namespace tocsin::config
