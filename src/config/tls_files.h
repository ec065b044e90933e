// Checks the files of server.tls with OpenSSL when the config is loaded, so that `tocsin
// check-config` and a start catch a wrong path, a file that is not PEM or a key that does not
// belong to the certificate, with the file named — not only when the server binds.
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "core/result.h"

namespace tocsin::config {

// ok when `cert_file` holds at least one PEM certificate (the first is the server's) and
// `key_file` an unencrypted PEM private key matching it. Otherwise invalid_argument with a
// message naming the file and what is wrong (missing, unreadable, not PEM, encrypted, mismatch),
// and field() "cert_file" or "key_file": the file to fix.
core::Status check_tls_files(const std::string& cert_file, const std::string& key_file);

}  // namespace tocsin::config
