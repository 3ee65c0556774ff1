// Throwaway TLS certificates for tests, made with the openssl CLI at test time (nothing
// secret is checked in for the server side of memoryd).
#pragma once

#include <string>

namespace memoryd::testing {

class temp_dir;

struct test_certificate {
  std::string cert_file;    // PEM certificate
  std::string key_file;     // PEM private key, unencrypted
  std::string fingerprint;  // SHA-256 of the certificate (DER), lower-case hex
};

// A new self-signed P-256 certificate for CN=localhost with subjectAltName IP:127.0.0.1 and
// DNS:localhost, valid one day, written to dir/<name>.pem and dir/<name>.key. Every call makes
// a new key and serial, so two certificates never share a fingerprint. REQUIREs success.
test_certificate make_test_certificate(const temp_dir& dir, const std::string& name);

// SHA-256 fingerprint (lower-case hex) of the first certificate in a PEM file; "" if none.
std::string certificate_fingerprint(const std::string& pem_file);

}  // namespace memoryd::testing
