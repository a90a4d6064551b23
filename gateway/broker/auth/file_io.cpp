#include "gateway/broker/auth/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "gateway/mqtt/utf8.hpp"

namespace fieldgate::auth {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// Closes on scope exit unless released.
class FdGuard {
public:
    explicit FdGuard(int fd) : fd_(fd) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    // Closes now and reports close()'s error (it can carry a deferred write error).
    std::error_code close() {
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) return last_error();
        return {};
    }

private:
    int fd_;
};

std::error_code write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// The file a path names, following symlinks, so that the rename replaces the
// target and not the link. A path that does not exist yet is used as it is.
std::string resolve(const std::string& path) {
    char buffer[PATH_MAX];
    if (::realpath(path.c_str(), buffer) != nullptr) return buffer;
    return path;
}

}  // namespace

std::string FileDiagnostic::to_string() const {
    if (line == 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ": " + message;
}

std::error_code read_text_file(const std::string& path, std::string& contents) {
    contents.clear();
    FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.get() < 0) return last_error();
    char buffer[16384];
    while (true) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        if (n == 0) return {};
        contents.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string_view trim_blanks(std::string_view s) {
    constexpr std::string_view blanks = " \t\r\v\f";
    const std::size_t first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::string quoted(std::string_view s) {
    constexpr std::size_t max_shown = 200;
    constexpr std::string_view hex = "0123456789abcdef";
    // Valid UTF-8 is shown as it is (names may be "jürgen"); anything else byte by byte.
    const bool utf8 = mqtt::is_well_formed_utf8(s);
    std::size_t shown = s.size() < max_shown ? s.size() : max_shown;
    while (utf8 && shown < s.size() && (static_cast<unsigned char>(s[shown]) & 0xC0) == 0x80) --shown;
    std::string out = "\"";
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F || (c > 0x7F && !utf8) || c == '"' || c == '\\') {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            }
        } else {
            out += static_cast<char>(c);
        }
    }
    if (shown < s.size()) out += "...";
    out += '"';
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        if (end == std::string_view::npos) {
            lines.push_back(text);
            break;
        }
        lines.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::error_code write_file_atomically(const std::string& path, std::string_view contents,
                                      unsigned new_file_mode) {
    const std::string target = resolve(path);
    const std::size_t slash = target.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : target.substr(0, slash));
    const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);

    struct stat existing {};
    const bool exists = ::stat(target.c_str(), &existing) == 0;
    const mode_t mode = exists ? (existing.st_mode & 07777) : static_cast<mode_t>(new_file_mode);

    std::string temp = dir + "/." + name + ".tmpXXXXXX";
    FdGuard fd{::mkostemp(temp.data(), O_CLOEXEC)};
    if (fd.get() < 0) return last_error();

    auto fail = [&temp](std::error_code ec) {
        ::unlink(temp.c_str());
        return ec;
    };
    if (::fchmod(fd.get(), mode) != 0) return fail(last_error());
    // Keep the owner so the broker's user can still read a file root updated.
    // Only root may give a file away; for anyone else a different owner stays
    // a (documented) consequence of replacing the file.
    if (exists && ::geteuid() == 0 && ::fchown(fd.get(), existing.st_uid, existing.st_gid) != 0) {
        return fail(last_error());
    }
    if (auto ec = write_all(fd.get(), contents)) return fail(ec);
    if (::fsync(fd.get()) != 0) return fail(last_error());
    if (auto ec = fd.close()) return fail(ec);
    if (::rename(temp.c_str(), target.c_str()) != 0) return fail(last_error());

    // The rename is durable only once the directory entry is.
    FdGuard dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir_fd.get() < 0) return last_error();
    if (::fsync(dir_fd.get()) != 0) return last_error();
    return dir_fd.close();
}

}  // namespace fieldgate::auth
