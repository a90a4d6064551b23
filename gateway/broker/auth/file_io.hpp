#pragma once

// Reading and safely replacing the small text files auth uses (password and ACL
// files). Pure POSIX; no Asio, no broker.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fieldgate::auth {

// A problem in a password or ACL file, printed `FILE:LINE: message`, or
// `FILE: message` for the file as a whole (line 0, e.g. it cannot be read).
struct FileDiagnostic {
    std::string file;
    std::uint32_t line = 0;  // 1-based
    std::string message;

    std::string to_string() const;
};

// The whole file, or an error_code (errno category) when it cannot be read.
std::error_code read_text_file(const std::string& path, std::string& contents);

// Lines without their '\n'; a last line without '\n' counts, a trailing '\n'
// does not start another one. '\r' is left for the caller.
std::vector<std::string_view> split_lines(std::string_view text);

// Without leading and trailing blanks (space, tab, CR, VT, FF), the trim
// mosquitto applies to the fields of both files.
std::string_view trim_blanks(std::string_view s);

// `s` in double quotes for an error message, control characters (and every
// byte >= 0x80 unless `s` is well-formed UTF-8) as \xNN, '"' and '\' escaped,
// cut after about 200 bytes: a file's bytes never reach a terminal or journal raw.
std::string quoted(std::string_view s);

// Replaces `path` with `contents` so that a crash leaves either the old or the
// new file, never a mix (STYLE.md 8): a temporary file in the same directory,
// written and fsync'd, renamed over `path`, then the directory fsync'd. An
// existing file keeps its permission bits (and, when we may, owner and group);
// a new one gets `new_file_mode`. A symlink is followed: its target is replaced.
std::error_code write_file_atomically(const std::string& path, std::string_view contents,
                                      unsigned new_file_mode = 0600);

}  // namespace fieldgate::auth
