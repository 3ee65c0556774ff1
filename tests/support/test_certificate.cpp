#include "tests/support/test_certificate.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

test_certificate make_test_certificate(const temp_dir& dir, const std::string& name) {
  test_certificate c{dir.file(name + ".pem"), dir.file(name + ".key"), ""};
  auto r = run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
       "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", c.key_file, "-out", c.cert_file},
      {});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  c.fingerprint = certificate_fingerprint(c.cert_file);
  REQUIRE(!c.fingerprint.empty());
  return c;
}

std::string certificate_fingerprint(const std::string& pem_file) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem_file.c_str(), "r"), &std::fclose);
  if (!f) return "";
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                              &X509_free);
  if (!cert) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return "";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

}  // namespace memoryd::testing
