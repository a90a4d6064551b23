#include "support/certs.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fieldgate::test {
namespace {

const std::string openssl = "/usr/bin/openssl";

// Extensions by purpose; -subj overrides the placeholder distinguished name.
constexpr const char* openssl_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

void check(const RunResult& r, const std::string& what) {
    if (r.exit_code() != 0) {
        throw std::runtime_error("openssl failed to " + what + " (" + to_string(r.status) +
                                 (r.timed_out ? ", timed out" : "") + "):\n" + r.out + r.err);
    }
}

// The openssl configuration in `dir`, written when missing.
std::string config_in(const std::string& dir) {
    const std::string path = dir + "/openssl.cnf";
    if (!std::filesystem::exists(path)) {
        std::ofstream out{path, std::ios::trunc};
        out << openssl_config;
        if (!out) throw std::runtime_error("cannot write " + path);
    }
    return path;
}

// A serial number unique within the test process (and unlikely to repeat across processes).
std::string next_serial() {
    static std::atomic<std::uint64_t> counter{0};
    const auto now = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    std::ostringstream out;
    out << "0x" << std::hex << (((now & 0xffffffffffULL) << 16) | (++counter & 0xffff));
    return out.str();
}

std::vector<std::string> new_key_args() {
    return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
    to.insert(to.end(), more.begin(), more.end());
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::string dir, std::string name, std::string common_name,
                                           const CertificateAuthority* issuer)
    : dir_(std::move(dir)), name_(std::move(name)) {
    const std::string config = config_in(dir_);
    const std::string subject = "/O=fieldgate test/CN=" + common_name;
    if (issuer == nullptr) {
        files_ = {dir_ + "/" + name_ + ".crt", dir_ + "/" + name_ + ".key"};
        std::vector<std::string> argv{openssl, "req", "-x509", "-new", "-config", config, "-extensions", "root_ext"};
        append(argv, new_key_args());
        append(argv, {"-keyout", files_.key, "-out", files_.cert, "-days", "2", "-subj", subject, "-set_serial",
                      next_serial()});
        check(run(argv), "make the CA " + name_);
    } else {
        files_ = issuer->issue(name_, subject, "intermediate_ext");
    }
}

CertKey CertificateAuthority::issue(const std::string& stem, const std::string& subject,
                                    const std::string& extensions) const {
    const std::string config = config_in(dir_);
    const CertKey out{dir_ + "/" + stem + ".crt", dir_ + "/" + stem + ".key"};
    const std::string csr = dir_ + "/" + stem + ".csr";
    std::vector<std::string> request{openssl, "req", "-new", "-config", config};
    append(request, new_key_args());
    append(request, {"-keyout", out.key, "-out", csr, "-subj", subject});
    check(run(request), "make a key and request for " + stem);
    check(run({openssl, "x509", "-req", "-in", csr, "-CA", files_.cert, "-CAkey", files_.key, "-set_serial",
               next_serial(), "-days", "2", "-extfile", config, "-extensions", extensions, "-out", out.cert}),
          "sign " + stem + " with " + name_);
    return out;
}

CertKey CertificateAuthority::server(const std::string& stem, const std::string& subject, bool with_chain) const {
    CertKey out = issue(stem, subject, "server_ext");
    if (with_chain) {
        const std::string chain = read_file(out.cert) + read_file(files_.cert);
        std::ofstream file{out.cert, std::ios::trunc};
        file << chain;
        if (!file) throw std::runtime_error("cannot write " + out.cert);
    }
    return out;
}

CertKey CertificateAuthority::client(const std::string& stem, const std::string& common_name) const {
    return issue(stem, "/O=fieldgate test/CN=" + common_name, "client_ext");
}

TestPki::TestPki() {
    ca_ = std::make_unique<CertificateAuthority>(dir_.path(), "ca", "fieldgate test CA");
    other_ca_ = std::make_unique<CertificateAuthority>(dir_.path(), "other-ca", "unrelated test CA");
    intermediate_ = std::make_unique<CertificateAuthority>(dir_.path(), "intermediate", "fieldgate intermediate CA",
                                                           ca_.get());
    server_ = ca_->server("server", "/O=fieldgate test/CN=localhost");
    server2_ = ca_->server("server2", "/O=fieldgate test/OU=reloaded/CN=localhost");
    chained_server_ = intermediate_->server("chained-server", "/O=fieldgate test/CN=localhost", true);
}

const CertKey& TestPki::client(const std::string& common_name) {
    auto it = clients_.find(common_name);
    if (it == clients_.end()) {
        const std::string stem = "client-" + std::to_string(clients_.size());
        it = clients_.emplace(common_name, ca_->client(stem, common_name)).first;
    }
    return it->second;
}

const CertKey& TestPki::foreign_client(const std::string& common_name) {
    auto it = foreign_clients_.find(common_name);
    if (it == foreign_clients_.end()) {
        const std::string stem = "foreign-client-" + std::to_string(foreign_clients_.size());
        it = foreign_clients_.emplace(common_name, other_ca_->client(stem, common_name)).first;
    }
    return it->second;
}

std::string certificate_subject(const std::string& cert_file) {
    const auto r = run({openssl, "x509", "-in", cert_file, "-noout", "-subject"});
    check(r, "read the subject of " + cert_file);
    std::string subject = r.out;
    if (subject.starts_with("subject=")) subject.erase(0, 8);
    while (!subject.empty() && (subject.back() == '\n' || subject.back() == ' ')) subject.pop_back();
    return subject;
}

std::vector<std::string> s_client_argv(std::uint16_t port, const TlsProbeOptions& options) {
    std::vector<std::string> argv{openssl, "s_client", "-connect", "127.0.0.1:" + std::to_string(port)};
    if (!options.ca_file.empty()) {
        append(argv, {"-CAfile", options.ca_file, "-verify_return_error", "-verify_ip", "127.0.0.1"});
    }
    if (options.client) append(argv, {"-cert", options.client->cert, "-key", options.client->key});
    if (!options.version.empty()) argv.push_back("-" + options.version);
    if (options.legacy) append(argv, {"-cipher", "DEFAULT:@SECLEVEL=0"});
    return argv;
}

namespace {

std::string field(const std::string& text, const std::string& label) {
    const auto at = text.find(label);
    if (at == std::string::npos) return {};
    const auto start = at + label.size();
    const auto end = text.find('\n', start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TlsProbe tls_probe(std::uint16_t port, const TlsProbeOptions& options, Millis timeout) {
    auto argv = s_client_argv(port, options);
    argv.push_back("-brief");
    // stdin is /dev/null: s_client closes the connection right after the handshake.
    const auto r = run(argv, {}, timeout);
    TlsProbe probe;
    probe.output = r.out + r.err;
    probe.protocol = field(probe.output, "Protocol version: ");
    probe.peer_subject = field(probe.output, "Peer certificate: ");
    probe.established = r.exit_code() == 0 && probe.output.find("CONNECTION ESTABLISHED") != std::string::npos &&
                        probe.output.find("Verification: OK") != std::string::npos;
    if (options.ca_file.empty()) {
        probe.established = r.exit_code() == 0 && probe.output.find("CONNECTION ESTABLISHED") != std::string::npos;
    }
    return probe;
}

TlsExchange tls_exchange(std::uint16_t port, const TlsProbeOptions& options, const std::vector<std::uint8_t>& request,
                         Millis timeout) {
    auto argv = s_client_argv(port, options);
    // -quiet: only the application data on stdout, and no end at stdin's end
    // (-ign_eof); -nocommands: no byte of `request` is read as a command.
    append(argv, {"-quiet", "-nocommands"});
    ProcessOptions process;
    process.stdin_text.assign(request.begin(), request.end());
    const auto r = run(argv, process, timeout);
    return {r.out, !r.timed_out, r.err};
}

}  // namespace fieldgate::test
