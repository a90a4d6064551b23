#pragma once

// Mosquitto's password file (password_file, made by mosquitto_passwd), so that
// an existing file works as it is (DESIGN.md [auth]). One user a line:
//
//   USER:$7$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA512 (mosquitto >= 2.0 default)
//   USER:$6$SALT$HASH              SHA-512(password || salt) (mosquitto <= 1.6)
//
// SALT and HASH are standard base64 of 12 and 64 bytes (mosquitto requires
// exactly these sizes and drops other entries). Lines starting with '#' and
// blank lines are ignored; blanks around USER and the hash are trimmed, as
// mosquitto does; CRLF line ends are accepted. Stricter than mosquitto, which
// silently skips (or logs and drops) bad lines: each is reported with its line,
// and a user defined twice is an error rather than "whichever mosquitto's hash
// table finds".
//
// Pure logic plus file I/O: no Asio, no broker. Never puts a password in an
// error or anywhere else; errors name the user and the field, not the secret.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <map>
#include <vector>

#include "gateway/broker/auth/file_io.hpp"

namespace fieldgate::auth {

enum class HashKind : std::uint8_t {
    sha512,         // $6$
    pbkdf2_sha512,  // $7$
};

// What mosquitto_passwd 2.0 writes (checked against Debian's 2.0.11): 101
// iterations, a 12-byte salt from the CSPRNG, a 64-byte PBKDF2-HMAC-SHA512 key.
inline constexpr std::uint32_t default_pbkdf2_iterations = 101;
inline constexpr std::size_t password_salt_size = 12;
inline constexpr std::size_t password_hash_size = 64;

struct PasswordHash {
    HashKind kind = HashKind::pbkdf2_sha512;
    std::uint32_t iterations = 0;     // $7$ only; 1..INT32_MAX
    std::vector<std::uint8_t> salt;   // password_salt_size bytes
    std::vector<std::uint8_t> hash;   // password_hash_size bytes

    // `$7$101$SALT$HASH` / `$6$SALT$HASH`
    std::string to_string() const;
};

struct PasswordEntry {
    std::string username;
    PasswordHash hash;
    std::uint32_t line = 0;  // where it was read; 0 for one added since
};

struct PasswordFileResult;

// Thread-safety: immutable once loaded; const members (find, verify) may be
// called from any number of threads at once. The editing members are for the
// `fieldgate passwd` CLI and need the caller's exclusive ownership.
class PasswordFile {
public:
    // Never throws on bad input: every malformed line becomes a FileDiagnostic
    // (`FILE:LINE: ...`) and the rest of the file is still read. Malformed lines
    // are kept, verbatim, for to_text().
    static PasswordFileResult parse(std::string_view text, std::string_view file_name);
    static PasswordFileResult load(const std::string& path);

    // Whether `password` is the user's. Constant-time comparison
    // (CRYPTO_memcmp); an unknown user costs a PBKDF2 run too, so timing does
    // not tell which usernames exist. `password` is raw bytes (MQTT passwords
    // are binary data).
    bool verify(std::string_view username, std::string_view password) const;

    const PasswordEntry* find(std::string_view username) const;
    std::vector<const PasswordEntry*> entries() const;  // in file order
    std::size_t size() const { return index_.size(); }

    // Adds the user, or replaces its hash in place, with a `$7$` hash: fresh
    // random salt, `iterations` rounds. Throws std::invalid_argument when the
    // username cannot be stored (see username_problem) and std::runtime_error
    // when the CSPRNG fails.
    void set_password(std::string_view username, std::string_view password,
                      std::uint32_t iterations = default_pbkdf2_iterations);
    // Removes the user's line; false when there was none.
    bool remove(std::string_view username);

    // The file: comments, blank and malformed lines as they were read, entries
    // as read or, once changed, in mosquitto_passwd's form. Ends with '\n'.
    std::string to_text() const;
    // to_text() written with write_file_atomically (temp, fsync, rename, fsync dir).
    std::error_code save(const std::string& path) const;

    // Why `username` cannot be written to a password file that mosquitto and
    // we read back as the same name, or nullopt when it can: empty, ':' (the
    // separator), a line break, leading/trailing blanks (trimmed on reading), a
    // leading '#' (a comment), not MQTT UTF-8, over 65,535 bytes.
    static std::optional<std::string> username_problem(std::string_view username);

private:
    // One line of the file: an entry, or text kept verbatim (comment, blank,
    // malformed). `text` is the line as read until the entry is changed.
    struct Line {
        std::string text;
        std::optional<PasswordEntry> entry;
    };

    void rebuild_index();

    std::vector<Line> lines_;
    std::map<std::string, std::size_t, std::less<>> index_;  // username -> lines_ index
};

struct PasswordFileResult {
    PasswordFile file;
    std::vector<FileDiagnostic> errors;  // in file order

    bool ok() const { return errors.empty(); }
};

// The hash of `password` under `params`' kind, iterations and salt (its `hash`
// is ignored); what verify() compares. Exposed for tests.
std::vector<std::uint8_t> compute_password_hash(const PasswordHash& params, std::string_view password);

}  // namespace fieldgate::auth
