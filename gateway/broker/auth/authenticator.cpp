#include "gateway/broker/auth/authenticator.hpp"

namespace fieldgate::auth {
namespace {

void add(std::vector<std::string>& out, const std::vector<FileDiagnostic>& diagnostics) {
    for (const auto& d : diagnostics) out.push_back(d.to_string());
}

}  // namespace

Authenticator::Loaded Authenticator::load(const config::AuthConfig& config) {
    Loaded loaded;
    std::optional<PasswordFile> passwords;
    std::optional<Acl> acl;
    if (!config.password_file.empty()) {
        auto result = PasswordFile::load(config.password_file);
        add(loaded.errors, result.errors);
        passwords = std::move(result.file);
    }
    if (!config.acl_file.empty()) {
        auto result = Acl::load(config.acl_file);
        add(loaded.errors, result.errors);
        add(loaded.warnings, result.warnings);
        acl = std::move(result.acl);
    }
    if (loaded.ok()) loaded.authenticator = std::make_shared<const Authenticator>(std::move(passwords), std::move(acl));
    return loaded;
}

// The rules, checked against Debian's mosquitto 2.0.11 (per_listener_settings
// false) where mosquitto has a say:
//  - use_cert_cn_as_username: the certificate is the credential (mosquitto's
//    use_identity_as_username): its CN is the username, CONNECT's username and
//    password are ignored, and no certificate means Not authorized.
//  - A username with a password file: it must be in the file and the password
//    match. A refusal is Bad User Name or Password, which says what went wrong;
//    mosquitto answers Not authorized (5 / 0x87) here, so a client that tells
//    the two apart sees a difference.
//  - A username without a password file: there is nothing to check it
//    against. mosquitto then accepts it, password unread, where anonymous
//    clients are allowed, and refuses every client, named or not, with Not
//    authorized where they are not; so do we. The name is taken on trust, ACL
//    `user` sections included, exactly as in mosquitto.
//  - No username: anonymous, accepted only where the listener allows it.
LoginResult Authenticator::login(const LoginRequest& request) const {
    using enum LoginOutcome;
    if (request.use_cert_cn_as_username) {
        if (!request.certificate_cn) return {not_authorized, std::nullopt, "no client certificate"};
        return {accepted, std::string{*request.certificate_cn}, {}};
    }
    if (!request.username) {
        if (!request.allow_anonymous) return {not_authorized, std::nullopt, "anonymous clients are not allowed here"};
        return {accepted, std::nullopt, {}};
    }
    if (!passwords_) {
        if (!request.allow_anonymous) {
            return {not_authorized, std::nullopt, "no password file to check the username against"};
        }
        return {accepted, std::string{*request.username}, {}};
    }
    // No password never matches (mosquitto: the same), whatever the entry's hash.
    if (!request.password || !passwords_->verify(*request.username, *request.password)) {
        return {bad_credentials, std::nullopt, "unknown user or wrong password"};
    }
    return {accepted, std::string{*request.username}, {}};
}

}  // namespace fieldgate::auth
