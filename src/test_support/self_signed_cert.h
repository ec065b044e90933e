// For tests only: a throwaway self-signed certificate and its key, made at test time so that no
// private key is committed. EC P-256, CN=localhost, subjectAltName DNS:localhost and
// IP:127.0.0.1, valid from a minute ago for one day. The including test links OpenSSL::Crypto.
// Thread-safety: reentrant.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace tocsin::test_support {

struct CertFiles {
  std::string cert_file;  // PEM certificate
  std::string key_file;   // PEM private key (PKCS#8, unencrypted)
};

// Writes dir/NAME.crt and dir/NAME.key; throws std::runtime_error when OpenSSL fails.
inline CertFiles write_self_signed_cert(const std::filesystem::path& dir, const std::string& name) {
  auto check = [](bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("making a test certificate: ") + what + " failed");
  };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  check(key != nullptr, "EVP_EC_gen");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3, for the extension
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                                   -1, -1, 0) == 1,
        "subject");
  check(X509_set_issuer_name(cert.get(), subject) == 1, "issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  check(san != nullptr, "subjectAltName");
  const int added = X509_add_ext(cert.get(), san, -1);
  X509_EXTENSION_free(san);
  check(added == 1, "X509_add_ext");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

  CertFiles files{(dir / (name + ".crt")).string(), (dir / (name + ".key")).string()};
  std::unique_ptr<std::FILE, decltype(&std::fclose)> c(std::fopen(files.cert_file.c_str(), "w"), std::fclose);
  check(c && PEM_write_X509(c.get(), cert.get()) == 1, "writing the certificate");
  std::unique_ptr<std::FILE, decltype(&std::fclose)> k(std::fopen(files.key_file.c_str(), "w"), std::fclose);
  check(k && PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1, "writing the key");
  return files;
}

}  // namespace tocsin::test_support
