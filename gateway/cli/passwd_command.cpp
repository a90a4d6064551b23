#include "gateway/cli/passwd_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "gateway/broker/auth/password_file.hpp"

namespace fieldgate::cli {
namespace {

constexpr int exit_error = 2;

// One line from stdin; on a terminal without echo, after `prompt`.
std::optional<std::string> read_secret(const char* prompt) {
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    termios saved{};
    if (tty) {
        std::fprintf(stderr, "%s", prompt);
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        std::fprintf(stderr, "\n");
    }
    if (!got) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

int passwd_command(const std::string& file, const std::string& user, bool remove) {
    auth::PasswordFile passwords;
    if (std::filesystem::exists(file)) {
        auto loaded = auth::PasswordFile::load(file);
        if (!loaded.ok()) {
            for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
            return exit_error;
        }
        passwords = std::move(loaded.file);
    } else if (remove) {
        std::fprintf(stderr, "%s: no such file\n", file.c_str());
        return exit_error;
    }

    if (remove) {
        if (!passwords.remove(user)) {
            std::fprintf(stderr, "%s: no user '%s'\n", file.c_str(), user.c_str());
            return exit_error;
        }
    } else {
        if (const auto problem = auth::PasswordFile::username_problem(user)) {
            std::fprintf(stderr, "user '%s': %s\n", user.c_str(), problem->c_str());
            return exit_error;
        }
        const auto password = read_secret("Password: ");
        if (!password || password->empty()) {
            std::fprintf(stderr, "no password given\n");
            return exit_error;
        }
        if (::isatty(STDIN_FILENO) != 0) {
            const auto again = read_secret("Password again: ");
            if (!again || *again != *password) {
                std::fprintf(stderr, "the passwords do not match\n");
                return exit_error;
            }
        }
        passwords.set_password(user, *password);
    }
    if (const auto ec = passwords.save(file)) {
        std::fprintf(stderr, "%s: cannot write: %s\n", file.c_str(), ec.message().c_str());
        return exit_error;
    }
    return 0;
}

}  // namespace fieldgate::cli
