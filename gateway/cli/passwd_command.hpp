#pragma once

#include <string>

namespace fieldgate::cli {

// `fieldgate passwd FILE USER [-D]`: adds or updates USER in a password file in
// Mosquitto's format ($7$), or deletes it. The password is read from the
// terminal (asked twice, not echoed) or, when stdin is not a terminal, from
// its first line. Returns the exit code (0, or 2 with a message on stderr).
int passwd_command(const std::string& file, const std::string& user, bool remove);

}  // namespace fieldgate::cli
