#pragma once

// Who may connect, and with which ACL: the password file and the acl_file of
// [auth] (DESIGN.md) read once into an immutable snapshot. The broker holds
// the current snapshot; a reload (SIGHUP) loads a new one and swaps it in, so
// a broken file never replaces a working one.
//
// Pure logic plus file reading: no Asio, no broker.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "gateway/broker/auth/acl.hpp"
#include "gateway/broker/auth/password_file.hpp"

namespace fieldgate::auth {

// What a CONNECT presents, with what its listener and transport know.
struct LoginRequest {
    std::optional<std::string_view> username;
    std::optional<std::string_view> password;  // raw bytes
    bool allow_anonymous = true;
    bool use_cert_cn_as_username = false;
    std::optional<std::string_view> certificate_cn;  // of a verified client certificate
};

enum class LoginOutcome {
    accepted,
    bad_credentials,  // CONNACK Bad User Name or Password (3.1.1: 4, v5: 0x86)
    not_authorized,   // CONNACK Not authorized (3.1.1: 5, v5: 0x87)
};

struct LoginResult {
    LoginOutcome outcome = LoginOutcome::not_authorized;
    std::optional<std::string> username;  // the identity accepted; nullopt: anonymous
    std::string_view why;                 // a refusal's cause, for the log (never for the client)
};

// Thread-safety: immutable once made; shared by every worker through a
// shared_ptr<const Authenticator>.
class Authenticator {
public:
    struct Loaded;
    // Reads the files `config` names (an empty path: not configured). Every
    // problem is reported `FILE:LINE: ...`; with any error there is no
    // authenticator, since half a password or ACL file is not what was meant.
    static Loaded load(const config::AuthConfig& config);

    // Neither file: every username is taken on trust, as mosquitto does.
    Authenticator() = default;
    Authenticator(std::optional<PasswordFile> passwords, std::optional<Acl> acl)
        : passwords_(std::move(passwords)), acl_(std::move(acl)) {}

    // Decides a CONNECT (see authenticator.cpp for the rules and why).
    LoginResult login(const LoginRequest& request) const;

    const PasswordFile* passwords() const { return passwords_ ? &*passwords_ : nullptr; }
    // nullptr: no acl_file, nothing is checked.
    const Acl* acl() const { return acl_ ? &*acl_ : nullptr; }

private:
    std::optional<PasswordFile> passwords_;
    std::optional<Acl> acl_;
};

struct Authenticator::Loaded {
    std::shared_ptr<const Authenticator> authenticator;  // null when there are errors
    std::vector<std::string> errors;
    std::vector<std::string> warnings;  // lines accepted but probably not meant (the ACL's)

    bool ok() const { return errors.empty(); }
};

}  // namespace fieldgate::auth
