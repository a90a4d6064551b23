#pragma once

// A throwaway PKI for the TLS tests, made with /usr/bin/openssl in a fresh
// temporary directory: a CA with server and client certificates, an
// unrelated second CA, a second server certificate (for reload), and a
// server certificate issued by an intermediate CA (for a chain in the cert
// file). Keys are P-256 (fast to make); certificates are valid for two days.
//
// Also openssl s_client probes against 127.0.0.1: what a TLS handshake
// negotiates and shows, and raw bytes exchanged over TLS (the TLS
// counterpart of RawClient, for exact MQTT bytes over mqtts).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace fieldgate::test {

// PEM file paths.
struct CertKey {
    std::string cert;  // the certificate, or the certificate followed by its chain
    std::string key;
};

class CertificateAuthority {
public:
    // A CA in `dir` (files NAME.crt / NAME.key) with subject "/O=fieldgate test/CN=<common_name>":
    // self-signed, or issued by `issuer` (an intermediate).
    CertificateAuthority(std::string dir, std::string name, std::string common_name,
                         const CertificateAuthority* issuer = nullptr);

    const std::string& cert() const { return files_.cert; }
    const std::string& key() const { return files_.key; }
    const std::string& name() const { return name_; }

    // A server certificate for localhost (SAN DNS:localhost, IP:127.0.0.1,
    // IP:::1) with `subject` (openssl -subj form), files STEM.crt / STEM.key.
    // With `with_chain`, STEM.crt holds the certificate and then this CA's
    // own certificate (for an intermediate CA).
    CertKey server(const std::string& stem, const std::string& subject, bool with_chain = false) const;
    // A client certificate (extendedKeyUsage clientAuth) with subject
    // "/O=fieldgate test/CN=<common_name>", files STEM.crt / STEM.key.
    CertKey client(const std::string& stem, const std::string& common_name) const;

private:
    CertKey issue(const std::string& stem, const std::string& subject, const std::string& extensions) const;

    std::string dir_;
    std::string name_;
    CertKey files_;
};

class TestPki {
public:
    // Subjects as openssl prints them (s_client "Peer certificate:", x509 -subject).
    static constexpr const char* server_subject = "O = fieldgate test, CN = localhost";
    static constexpr const char* server2_subject = "O = fieldgate test, OU = reloaded, CN = localhost";

    // Makes the CAs and the server certificates at once (client
    // certificates when first asked for); throws std::runtime_error with
    // openssl's output when a step fails.
    TestPki();
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    const std::string& dir() const { return dir_.path(); }

    // The CA clients trust, and a second CA unrelated to it.
    const CertificateAuthority& ca() const { return *ca_; }
    const CertificateAuthority& other_ca() const { return *other_ca_; }
    const std::string& ca_file() const { return ca_->cert(); }

    // CN=localhost from ca(): server_subject.
    const CertKey& server() const { return server_; }
    // CN=localhost from ca() with another subject: server2_subject.
    const CertKey& server2() const { return server2_; }
    // CN=localhost issued by an intermediate CA under ca(); the cert file
    // holds the certificate and then the intermediate (a client trusting
    // only ca() needs both).
    const CertKey& chained_server() const { return chained_server_; }

    // A client certificate with CN `common_name` from ca() (made once per name).
    const CertKey& client(const std::string& common_name);
    // The same from other_ca().
    const CertKey& foreign_client(const std::string& common_name);

private:
    TempDir dir_;
    std::unique_ptr<CertificateAuthority> ca_;
    std::unique_ptr<CertificateAuthority> other_ca_;
    std::unique_ptr<CertificateAuthority> intermediate_;
    CertKey server_;
    CertKey server2_;
    CertKey chained_server_;
    std::map<std::string, CertKey> clients_;
    std::map<std::string, CertKey> foreign_clients_;
};

// The subject of a PEM certificate file as openssl prints it ("O = ..., CN = ...").
std::string certificate_subject(const std::string& cert_file);

// ---- openssl s_client probes (to 127.0.0.1 only) ----

struct TlsProbeOptions {
    std::string ca_file;              // verify the server against it (and its IP SAN 127.0.0.1)
    std::optional<CertKey> client;    // present this client certificate
    std::string version;              // "", "tls1", "tls1_1", "tls1_2", "tls1_3": only that version
    // Lets the client offer what OpenSSL 3 refuses by default (TLS 1.0/1.1
    // with SHA-1 signatures), so that a refusal is the server's.
    bool legacy = false;
};

struct TlsProbe {
    bool established = false;  // the handshake completed and the server certificate verified
    std::string protocol;      // "TLSv1.3", ...
    std::string peer_subject;  // "O = fieldgate test, CN = localhost"
    std::string output;        // all of s_client's output, for failure messages
};

// One handshake with `openssl s_client -brief`, closed at once afterwards.
TlsProbe tls_probe(std::uint16_t port, const TlsProbeOptions& options, Millis timeout = Millis{10000});

struct TlsExchange {
    std::string received;  // everything the server sent (decrypted) until it closed or the deadline
    bool closed = false;   // the server closed the connection (else: the deadline came first)
    std::string log;       // s_client's diagnostics (stderr)
};

// Connects with `openssl s_client -quiet`, writes `request` after the
// handshake, and reads until the server closes or `timeout` passes.
TlsExchange tls_exchange(std::uint16_t port, const TlsProbeOptions& options, const std::vector<std::uint8_t>& request,
                         Millis timeout);

// argv for `openssl s_client` to 127.0.0.1:port with these options (for
// tests that run it as a long-lived Process).
std::vector<std::string> s_client_argv(std::uint16_t port, const TlsProbeOptions& options);

}  // namespace fieldgate::test
