#include "gateway/broker/auth/password_file.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <variant>

#include "gateway/broker/auth/base64.hpp"
#include "gateway/mqtt/utf8.hpp"

namespace fieldgate::auth {
namespace {

constexpr std::size_t max_username_size = 65535;  // an MQTT string [MQTT 5.0, 1.5.4]
constexpr std::uint32_t max_iterations = static_cast<std::uint32_t>(std::numeric_limits<int>::max());

using HashBuffer = std::array<std::uint8_t, password_hash_size>;

// Clears the derived key on scope exit: it is as good as the password for
// anyone who can read this file's hashes.
struct CleansedBuffer {
    HashBuffer bytes{};
    ~CleansedBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// Both hashes produce exactly password_hash_size bytes (SHA-512 output; PBKDF2
// asked for that length). False only when OpenSSL fails.
bool hash_into(HashKind kind, std::uint32_t iterations, std::span<const std::uint8_t> salt,
               std::string_view password, HashBuffer& out) {
    if (kind == HashKind::pbkdf2_sha512) {
        // The password is used as bytes, all of them; mosquitto uses strlen(),
        // so the two differ only for a password with a NUL byte in it.
        return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                                 static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha512(),
                                 static_cast<int>(out.size()), out.data()) == 1;
    }
    // $6$: one SHA-512 over the password followed by the salt.
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
    unsigned int length = 0;
    return ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
           EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), out.data(), &length) == 1 && length == out.size();
}

std::vector<std::string_view> split(std::string_view s, char separator) {
    std::vector<std::string_view> parts;
    while (true) {
        const std::size_t at = s.find(separator);
        parts.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return parts;
        s.remove_prefix(at + 1);
    }
}

// A base64 field of exactly `size` bytes, or why not.
std::variant<std::vector<std::uint8_t>, std::string> decode_field(std::string_view text, std::string_view what,
                                                                 std::size_t size) {
    if (text.empty()) return std::string{what} + " is empty";
    auto bytes = base64_decode(text);
    if (!bytes) return std::string{what} + " is not valid base64";
    if (bytes->size() != size) {
        return std::string{what} + " is " + std::to_string(bytes->size()) + " bytes; mosquitto's format has " +
               std::to_string(size);
    }
    return std::move(*bytes);
}

// `$7$ITERATIONS$SALT$HASH` or `$6$SALT$HASH`, or why it is not one. The text
// may be a plain-text password written by mistake: it is never quoted back.
std::variant<PasswordHash, std::string> parse_hash(std::string_view text) {
    if (text.empty()) return std::string{"no password hash after ':'"};
    if (text.find(':') != std::string_view::npos) return std::string{"unexpected ':' in the password hash"};
    PasswordHash hash;
    std::vector<std::string_view> fields;
    if (text.starts_with("$7$")) {
        hash.kind = HashKind::pbkdf2_sha512;
        fields = split(text.substr(3), '$');
        if (fields.size() != 3) return std::string{"a $7$ hash has the form $7$ITERATIONS$SALT$HASH"};
        const std::string_view digits = fields[0];
        std::uint64_t iterations = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), iterations);
        if (digits.empty() || digits.size() > 10 || ec != std::errc{} || end != digits.data() + digits.size() ||
            iterations < 1 || iterations > max_iterations) {
            return "iterations must be a whole number from 1 to " + std::to_string(max_iterations);
        }
        hash.iterations = static_cast<std::uint32_t>(iterations);
        fields.erase(fields.begin());
    } else if (text.starts_with("$6$")) {
        hash.kind = HashKind::sha512;
        fields = split(text.substr(3), '$');
        if (fields.size() != 2) return std::string{"a $6$ hash has the form $6$SALT$HASH"};
    } else if (text.starts_with('$')) {
        return std::string{"unsupported hash type (expected $6$ or $7$)"};
    } else {
        return std::string{
            "the password is not hashed (plain-text passwords are not accepted; "
            "hash the file with `mosquitto_passwd -U FILE` or set each user again)"};
    }

    auto salt = decode_field(fields[0], "salt", password_salt_size);
    if (auto* why = std::get_if<std::string>(&salt)) return std::move(*why);
    auto digest = decode_field(fields[1], "hash", password_hash_size);
    if (auto* why = std::get_if<std::string>(&digest)) return std::move(*why);
    hash.salt = std::move(std::get<std::vector<std::uint8_t>>(salt));
    hash.hash = std::move(std::get<std::vector<std::uint8_t>>(digest));
    return hash;
}

std::uint32_t line_number(std::size_t index) {
    // Files over 4 billion lines are not a case; saturate rather than wrap.
    return index >= std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                              : static_cast<std::uint32_t>(index + 1);
}

}  // namespace

std::string PasswordHash::to_string() const {
    std::string out = kind == HashKind::pbkdf2_sha512 ? "$7$" + std::to_string(iterations) + "$" : "$6$";
    out += base64_encode(salt);
    out += '$';
    out += base64_encode(hash);
    return out;
}

std::vector<std::uint8_t> compute_password_hash(const PasswordHash& params, std::string_view password) {
    CleansedBuffer out;
    if (!hash_into(params.kind, params.iterations, params.salt, password, out.bytes)) {
        throw std::runtime_error("OpenSSL could not compute a password hash");
    }
    return {out.bytes.begin(), out.bytes.end()};
}

std::optional<std::string> PasswordFile::username_problem(std::string_view username) {
    if (username.empty()) return "the username is empty";
    if (username.size() > max_username_size) return "the username is longer than 65535 bytes";
    if (!mqtt::is_valid_utf8(username)) return "the username is not valid UTF-8 (or contains U+0000)";
    if (username.find(':') != std::string_view::npos) return "the username contains ':', the file's separator";
    if (username.find_first_of("\r\n") != std::string_view::npos) return "the username contains a line break";
    if (trim_blanks(username) != username) return "the username starts or ends with a blank, which is trimmed on reading";
    if (username.front() == '#') return "the username starts with '#', which makes the line a comment";
    return std::nullopt;
}

PasswordFileResult PasswordFile::parse(std::string_view text, std::string_view file_name) {
    PasswordFileResult result;
    const std::string file{file_name};
    const auto lines = split_lines(text);
    result.file.lines_.reserve(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string_view raw = lines[i];
        const std::uint32_t number = line_number(i);
        Line& line = result.file.lines_.emplace_back(Line{std::string{raw}, std::nullopt});
        auto error = [&](std::string message) {
            result.errors.push_back(FileDiagnostic{file, number, std::move(message)});
        };

        const std::string_view body = trim_blanks(raw);
        if (body.empty() || body.front() == '#') continue;  // blank or comment
        const std::size_t colon = body.find(':');
        if (colon == std::string_view::npos) {
            error("expected USERNAME:HASH");
            continue;
        }
        const std::string_view username = trim_blanks(body.substr(0, colon));
        if (username.empty()) {
            error("the username is empty");
            continue;
        }
        if (username.size() > max_username_size) {
            error("the username is longer than 65535 bytes");
            continue;
        }
        if (!mqtt::is_valid_utf8(username)) {
            // Not quoted: it may not be text at all.
            error("the username is not valid UTF-8 (or contains U+0000)");
            continue;
        }
        auto hash = parse_hash(trim_blanks(body.substr(colon + 1)));
        if (auto* why = std::get_if<std::string>(&hash)) {
            error("user " + quoted(username) + ": " + *why);
            continue;
        }
        if (const auto* first = result.file.find(username)) {
            error("user " + quoted(username) + " is already defined on line " + std::to_string(first->line));
            continue;
        }
        line.entry = PasswordEntry{std::string{username}, std::move(std::get<PasswordHash>(hash)), number};
        result.file.index_.emplace(line.entry->username, result.file.lines_.size() - 1);
    }
    return result;
}

PasswordFileResult PasswordFile::load(const std::string& path) {
    std::string text;
    if (const auto ec = read_text_file(path, text)) {
        PasswordFileResult result;
        result.errors.push_back(FileDiagnostic{path, 0, "cannot read the password file: " + ec.message()});
        return result;
    }
    return parse(text, path);
}

const PasswordEntry* PasswordFile::find(std::string_view username) const {
    const auto it = index_.find(username);
    if (it == index_.end()) return nullptr;
    return &*lines_[it->second].entry;
}

std::vector<const PasswordEntry*> PasswordFile::entries() const {
    std::vector<const PasswordEntry*> out;
    out.reserve(index_.size());
    for (const auto& line : lines_) {
        if (line.entry) out.push_back(&*line.entry);
    }
    return out;
}

bool PasswordFile::verify(std::string_view username, std::string_view password) const {
    CleansedBuffer computed;
    const PasswordEntry* entry = find(username);
    if (entry == nullptr) {
        // The same work as a default entry, so a failed login for an unknown
        // user takes as long as one with a wrong password.
        static constexpr std::array<std::uint8_t, password_salt_size> dummy_salt{};
        (void)hash_into(HashKind::pbkdf2_sha512, default_pbkdf2_iterations, dummy_salt, password, computed.bytes);
        return false;
    }
    const PasswordHash& stored = entry->hash;
    if (stored.hash.size() != computed.bytes.size()) return false;  // parse() guarantees it; defensive
    if (!hash_into(stored.kind, stored.iterations, stored.salt, password, computed.bytes)) return false;
    return CRYPTO_memcmp(computed.bytes.data(), stored.hash.data(), computed.bytes.size()) == 0;
}

void PasswordFile::set_password(std::string_view username, std::string_view password, std::uint32_t iterations) {
    if (auto problem = username_problem(username)) throw std::invalid_argument(*problem);
    if (iterations < 1 || iterations > max_iterations) {
        throw std::invalid_argument("iterations must be from 1 to " + std::to_string(max_iterations));
    }
    PasswordHash hash{HashKind::pbkdf2_sha512, iterations, std::vector<std::uint8_t>(password_salt_size), {}};
    if (RAND_bytes(hash.salt.data(), static_cast<int>(hash.salt.size())) != 1) {
        throw std::runtime_error("the system's random number generator failed; no salt for the password");
    }
    hash.hash = compute_password_hash(hash, password);

    std::string text = std::string{username} + ":" + hash.to_string();
    if (const auto it = index_.find(username); it != index_.end()) {
        Line& line = lines_[it->second];
        line.entry->hash = std::move(hash);
        line.text = std::move(text);
        return;
    }
    lines_.push_back(Line{std::move(text), PasswordEntry{std::string{username}, std::move(hash), 0}});
    index_.emplace(std::string{username}, lines_.size() - 1);
}

bool PasswordFile::remove(std::string_view username) {
    const auto it = index_.find(username);
    if (it == index_.end()) return false;
    lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(it->second));
    rebuild_index();
    return true;
}

void PasswordFile::rebuild_index() {
    index_.clear();
    for (std::size_t i = 0; i < lines_.size(); ++i) {
        if (lines_[i].entry) index_.emplace(lines_[i].entry->username, i);
    }
}

std::string PasswordFile::to_text() const {
    std::string out;
    for (const auto& line : lines_) {
        out += line.text;
        out += '\n';
    }
    return out;
}

std::error_code PasswordFile::save(const std::string& path) const { return write_file_atomically(path, to_text()); }

}  // namespace fieldgate::auth
