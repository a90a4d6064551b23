// libFuzzer target for the password file parser (STYLE.md 11): any input must
// parse without a crash or a hang, each error placed on a line of the input.
// Oracles, each an abort on failure besides what the sanitizers catch:
//  - round trip: to_text() parses again to the same users with the same
//    hashes and the same number of errors, and prints the same text;
//  - removing a user leaves the others as they were and adds no error;
//  - verify() agrees with compute_password_hash() on the stored salt (for
//    entries with few iterations, so that a run stays fast).
// With FIELDGATE_FUZZ_EXPECT_VALID set (CTest's run over the seed corpus) the
// input must parse without errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/broker/auth/password_file.hpp"

namespace {

using namespace fieldgate::auth;

[[noreturn]] void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_password_file: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

std::size_t count_lines(std::string_view text) { return split_lines(text).size(); }

bool same_users(const PasswordFile& a, const PasswordFile& b) {
    const auto ea = a.entries();
    const auto eb = b.entries();
    if (ea.size() != eb.size()) return false;
    for (std::size_t i = 0; i < ea.size(); ++i) {
        if (ea[i]->username != eb[i]->username || ea[i]->hash.to_string() != eb[i]->hash.to_string()) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const PasswordFileResult first = PasswordFile::parse(text, "fuzz.passwd");
    const std::size_t lines = count_lines(text);
    for (const auto& error : first.errors) {
        if (error.file != "fuzz.passwd" || error.message.empty() || error.line == 0 || error.line > lines) {
            fail("error without file, line or message", error.to_string());
        }
    }
    if (!first.ok() && std::getenv("FIELDGATE_FUZZ_EXPECT_VALID") != nullptr) {
        fail("a valid seed has errors", first.errors.front().to_string());
    }

    const std::string printed = first.file.to_text();
    const PasswordFileResult second = PasswordFile::parse(printed, "printed.passwd");
    if (!same_users(first.file, second.file)) fail("to_text() does not read back to the same users", printed);
    if (second.errors.size() != first.errors.size()) fail("to_text() changes the errors", printed);
    if (second.file.to_text() != printed) fail("to_text() is not stable", printed);

    const auto entries = first.file.entries();
    if (!entries.empty()) {
        PasswordFile edited = first.file;
        const std::string removed = entries.front()->username;
        if (!edited.remove(removed) || edited.find(removed) != nullptr || edited.size() + 1 != first.file.size()) {
            fail("remove() did not remove exactly one user", removed);
        }
        // A later line for the same user, an error while the first stood,
        // may now be the user's entry; nothing else changes.
        const PasswordFileResult third = PasswordFile::parse(edited.to_text(), "edited.passwd");
        const std::size_t revived = third.file.find(removed) != nullptr ? 1 : 0;
        if (third.errors.size() + revived != first.errors.size() || third.file.size() != edited.size() + revived) {
            fail("removing a user changed the rest", edited.to_text());
        }
        for (const auto* entry : edited.entries()) {
            const auto* again = third.file.find(entry->username);
            if (again == nullptr || again->hash.to_string() != entry->hash.to_string()) {
                fail("removing a user changed another", entry->username);
            }
        }
    }

    int verified = 0;
    for (const auto* entry : entries) {
        if (entry->hash.kind == HashKind::pbkdf2_sha512 && entry->hash.iterations > 200) continue;
        if (++verified > 2) break;
        const bool matches = compute_password_hash(entry->hash, "fuzz") == entry->hash.hash;
        if (first.file.verify(entry->username, "fuzz") != matches) fail("verify() disagrees with the hash", entry->username);
    }
    return 0;
}
