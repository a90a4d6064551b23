// Mosquitto's password file: reading ($7$ PBKDF2-SHA512 and $6$ SHA-512),
// verification, exact errors for malformed lines, and writing entries back.
// Files made by the real mosquitto_passwd and read by the real broker are in
// test_auth_mosquitto.cpp.
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/broker/auth/password_file.hpp"

namespace fieldgate::auth {
namespace {

// Made by Debian bookworm's mosquitto_passwd 2.0.11:
//   mosquitto_passwd -b -c FILE alice secret          ($7$, the default)
//   mosquitto_passwd -H sha512 -b -c FILE bob hunter2 ($6$)
//   mosquitto_passwd -b FILE carol c
constexpr std::string_view alice_line =
    "alice:$7$101$aS5EgJzR+ZuXEfYa$fw0pIK20qSfi664DPRP2wPMLsZ5Rz+K2rc8F2s7h9gEohW/YyAvsqSM4qoHYaYd2nTcfFCHd8Uzn6nk5tZw9Xw==";
constexpr std::string_view bob_line =
    "bob:$6$yzxdZK/HSia4SQB6$W7dqk7ijHv1hH0WYWYlZ+B/B1he51ZLcTQbKrsBbKYuAr2Z45f1EUG9icvEIlr36vggNIFOG7VTjrHmwLi1ySA==";
constexpr std::string_view carol_line =
    "carol:$7$101$ykMpg9CToult2D8I$uDYVETqh6xQj8AT1qW+IfRZexJyeCOcRG+/7oKctpco1HdDDYtPj7smn460DYvK0w5K6vf4ywWu7FIVH/D2ZhA==";

// A valid salt (12 bytes) and hash (64 bytes) in base64, to build bad lines around.
constexpr std::string_view salt12 = "aS5EgJzR+ZuXEfYa";
constexpr std::string_view hash64 =
    "fw0pIK20qSfi664DPRP2wPMLsZ5Rz+K2rc8F2s7h9gEohW/YyAvsqSM4qoHYaYd2nTcfFCHd8Uzn6nk5tZw9Xw==";

std::string lines(std::initializer_list<std::string_view> ls) {
    std::string out;
    for (auto l : ls) {
        out += l;
        out += '\n';
    }
    return out;
}

PasswordFile parse_ok(std::string_view text) {
    auto result = PasswordFile::parse(text, "passwd");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
    return std::move(result.file);
}

using fieldgate::unit::TempDir;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

// ---------------------------------------------------------------------------
// Reading and verifying

TEST(PasswordFile, VerifiesPbkdf2EntryMadeByMosquittoPasswd) {
    const auto file = parse_ok(lines({alice_line}));
    EXPECT_TRUE(file.verify("alice", "secret"));
    EXPECT_FALSE(file.verify("alice", "Secret"));
    EXPECT_FALSE(file.verify("alice", "secre"));
    EXPECT_FALSE(file.verify("alice", "secret "));
    EXPECT_FALSE(file.verify("alice", ""));
}

TEST(PasswordFile, VerifiesSha512EntryMadeByMosquittoPasswd) {
    const auto file = parse_ok(lines({bob_line}));
    EXPECT_TRUE(file.verify("bob", "hunter2"));
    EXPECT_FALSE(file.verify("bob", "hunter3"));
    EXPECT_FALSE(file.verify("bob", ""));
}

TEST(PasswordFile, RefusesUnknownUserAndOtherUsersPassword) {
    const auto file = parse_ok(lines({alice_line, bob_line}));
    EXPECT_FALSE(file.verify("mallory", "secret"));
    EXPECT_FALSE(file.verify("bob", "secret"));
    EXPECT_FALSE(file.verify("Alice", "secret"));  // usernames are case-sensitive
    EXPECT_FALSE(file.verify("", "secret"));
}

TEST(PasswordFile, ReadsFieldsOfBothKinds) {
    const auto file = parse_ok(lines({"# users", alice_line, bob_line}));
    ASSERT_EQ(file.size(), 2u);
    const auto* alice = file.find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->line, 2u);
    EXPECT_EQ(alice->hash.kind, HashKind::pbkdf2_sha512);
    EXPECT_EQ(alice->hash.iterations, 101u);
    EXPECT_EQ(alice->hash.salt.size(), 12u);
    EXPECT_EQ(alice->hash.hash.size(), 64u);
    EXPECT_EQ("alice:" + alice->hash.to_string(), alice_line);

    const auto* bob = file.find("bob");
    ASSERT_NE(bob, nullptr);
    EXPECT_EQ(bob->line, 3u);
    EXPECT_EQ(bob->hash.kind, HashKind::sha512);
    EXPECT_EQ("bob:" + bob->hash.to_string(), bob_line);
}

TEST(PasswordFile, SkipsCommentsAndBlankLinesAndAcceptsCrlfAndBlanksAroundFields) {
    const std::string text = "# made by hand\n\n   \n" + std::string{alice_line} + "\r\n  bob :  " +
                             std::string{bob_line.substr(4)} + "  \r\n\t# indented comment\n" +
                             std::string{carol_line};  // no final newline
    const auto file = parse_ok(text);
    EXPECT_EQ(file.size(), 3u);
    EXPECT_TRUE(file.verify("alice", "secret"));
    EXPECT_TRUE(file.verify("bob", "hunter2"));
    EXPECT_TRUE(file.verify("carol", "c"));
    ASSERT_NE(file.find("carol"), nullptr);
    EXPECT_EQ(file.find("carol")->line, 7u);
}

TEST(PasswordFile, EmptyFileHasNoUsers) {
    const auto file = parse_ok("");
    EXPECT_EQ(file.size(), 0u);
    EXPECT_FALSE(file.verify("alice", "secret"));
}

TEST(PasswordFile, ComputesMosquittoHashesForBothKinds) {
    const auto file = parse_ok(lines({alice_line, bob_line}));
    EXPECT_EQ(compute_password_hash(file.find("alice")->hash, "secret"), file.find("alice")->hash.hash);
    EXPECT_EQ(compute_password_hash(file.find("bob")->hash, "hunter2"), file.find("bob")->hash.hash);
}

TEST(PasswordFile, LoadReadsAFileAndReportsAnUnreadableOne) {
    TempDir dir;
    spit(dir.file("passwd"), lines({alice_line}));
    const auto loaded = PasswordFile::load(dir.file("passwd"));
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded.file.verify("alice", "secret"));

    const auto missing = PasswordFile::load(dir.file("nope"));
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0].to_string(),
              dir.file("nope") + ": cannot read the password file: No such file or directory");
}

// ---------------------------------------------------------------------------
// Malformed lines: each gives `FILE:LINE: what is wrong`, and is left out.

struct MalformedCase {
    const char* name;
    std::string line;  // written as line 2, after alice's
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const MalformedCase& c) { return os << c.line; }

class PasswordFileMalformed : public testing::TestWithParam<MalformedCase> {};

TEST_P(PasswordFileMalformed, ReportsLineAndProblemAndKeepsTheRest) {
    const auto& c = GetParam();
    const auto result = PasswordFile::parse(lines({alice_line, c.line, carol_line}), "/etc/fieldgate/passwd");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), "/etc/fieldgate/passwd:2: " + c.error);
    EXPECT_TRUE(result.file.verify("alice", "secret"));
    EXPECT_TRUE(result.file.verify("carol", "c"));
    EXPECT_EQ(result.file.size(), 2u);
}

std::string s(std::string_view v) { return std::string{v}; }

INSTANTIATE_TEST_SUITE_P(
    Table, PasswordFileMalformed,
    testing::Values(
        MalformedCase{"NoColon", "dave", "expected USERNAME:HASH"},
        MalformedCase{"EmptyUsername", ":$7$101$" + s(salt12) + "$" + s(hash64), "the username is empty"},
        MalformedCase{"BlankUsername", "  :$7$101$" + s(salt12) + "$" + s(hash64), "the username is empty"},
        MalformedCase{"UsernameNotUtf8", "d\xff" "ve:$7$101$" + s(salt12) + "$" + s(hash64),
                      "the username is not valid UTF-8 (or contains U+0000)"},
        MalformedCase{"NoHash", "dave:", "user \"dave\": no password hash after ':'"},
        MalformedCase{"PlainTextPassword", "dave:hunter2",
                      "user \"dave\": the password is not hashed (plain-text passwords are not accepted; "
                      "hash the file with `mosquitto_passwd -U FILE` or set each user again)"},
        MalformedCase{"UnknownHashType", "dave:$5$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": unsupported hash type (expected $6$ or $7$)"},
        MalformedCase{"Pbkdf2WithoutHash", "dave:$7$101$" + s(salt12),
                      "user \"dave\": a $7$ hash has the form $7$ITERATIONS$SALT$HASH"},
        MalformedCase{"Pbkdf2WithoutIterations", "dave:$7$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": a $7$ hash has the form $7$ITERATIONS$SALT$HASH"},
        MalformedCase{"Pbkdf2ExtraField", "dave:$7$101$" + s(salt12) + "$" + s(hash64) + "$x",
                      "user \"dave\": a $7$ hash has the form $7$ITERATIONS$SALT$HASH"},
        MalformedCase{"Sha512ExtraField", "dave:$6$101$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": a $6$ hash has the form $6$SALT$HASH"},
        MalformedCase{"ZeroIterations", "dave:$7$0$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": iterations must be a whole number from 1 to 2147483647"},
        MalformedCase{"NegativeIterations", "dave:$7$-5$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": iterations must be a whole number from 1 to 2147483647"},
        MalformedCase{"IterationsWithSuffix", "dave:$7$101x$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": iterations must be a whole number from 1 to 2147483647"},
        MalformedCase{"TooManyIterations", "dave:$7$2147483648$" + s(salt12) + "$" + s(hash64),
                      "user \"dave\": iterations must be a whole number from 1 to 2147483647"},
        MalformedCase{"SaltNotBase64", "dave:$7$101$aS5Eg*zR+ZuXEfYa$" + s(hash64),
                      "user \"dave\": salt is not valid base64"},
        MalformedCase{"EmptySalt", "dave:$7$101$$" + s(hash64), "user \"dave\": salt is empty"},
        MalformedCase{"SaltOf16Bytes", "dave:$7$101$AAAAAAAAAAAAAAAAAAAAAA==$" + s(hash64),
                      "user \"dave\": salt is 16 bytes; mosquitto's format has 12"},
        MalformedCase{"HashNotBase64", "dave:$6$" + s(salt12) + "$not base64",
                      "user \"dave\": hash is not valid base64"},
        MalformedCase{"HashOf33Bytes", "dave:$6$" + s(salt12) + "$" + s(hash64.substr(0, 44)),
                      "user \"dave\": hash is 33 bytes; mosquitto's format has 64"},
        MalformedCase{"WrongPadding", "dave:$6$" + s(salt12) + "$" + s(hash64) + "=",
                      "user \"dave\": hash is not valid base64"},
        MalformedCase{"TextAfterHash", "dave:$7$101$" + s(salt12) + "$" + s(hash64) + ":extra",
                      "user \"dave\": unexpected ':' in the password hash"},
        MalformedCase{"DuplicateUser", "alice:$6$" + s(salt12) + "$" + s(hash64),
                      "user \"alice\" is already defined on line 1"},
        MalformedCase{"ControlCharacterInUsernameIsEscaped", "da\x1bve:$5$",
                      "user \"da\\x1bve\": unsupported hash type (expected $6$ or $7$)"}),
    [](const testing::TestParamInfo<MalformedCase>& p) { return p.param.name; });

TEST(PasswordFile, ErrorsNeverContainThePassword) {
    const auto result = PasswordFile::parse("dave:CorrectHorseBatteryStaple\n", "passwd");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string().find("CorrectHorse"), std::string::npos);
}

TEST(PasswordFile, ReportsEveryMalformedLineInOrder) {
    const auto result = PasswordFile::parse(lines({"junk", alice_line, "dave:", "", "erin:$9$x", alice_line}), "pw");
    ASSERT_EQ(result.errors.size(), 4u);
    EXPECT_EQ(result.errors[0].to_string(), "pw:1: expected USERNAME:HASH");
    EXPECT_EQ(result.errors[1].to_string(), "pw:3: user \"dave\": no password hash after ':'");
    EXPECT_EQ(result.errors[2].to_string(), "pw:5: user \"erin\": unsupported hash type (expected $6$ or $7$)");
    EXPECT_EQ(result.errors[3].to_string(), "pw:6: user \"alice\" is already defined on line 2");
    EXPECT_EQ(result.file.size(), 1u);
}

// ---------------------------------------------------------------------------
// Writing

TEST(PasswordFileWrite, SetPasswordAddsPbkdf2EntryInMosquittoPasswdsForm) {
    PasswordFile file;
    file.set_password("erin", "pa55:word with spaces");
    const auto* erin = file.find("erin");
    ASSERT_NE(erin, nullptr);
    EXPECT_EQ(erin->hash.kind, HashKind::pbkdf2_sha512);
    EXPECT_EQ(erin->hash.iterations, default_pbkdf2_iterations);
    EXPECT_EQ(erin->hash.salt.size(), password_salt_size);
    EXPECT_TRUE(file.verify("erin", "pa55:word with spaces"));
    EXPECT_FALSE(file.verify("erin", "pa55:word"));

    const std::string text = file.to_text();
    EXPECT_TRUE(std::regex_match(text, std::regex{R"(erin:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\n)"}))
        << text;
    EXPECT_EQ(text.find("pa55"), std::string::npos);
}

TEST(PasswordFileWrite, EachHashGetsAFreshSalt) {
    PasswordFile file;
    file.set_password("erin", "same");
    const auto first = file.find("erin")->hash;
    file.set_password("erin", "same");
    const auto second = file.find("erin")->hash;
    EXPECT_NE(first.salt, second.salt);
    EXPECT_NE(first.hash, second.hash);
    EXPECT_TRUE(file.verify("erin", "same"));
}

TEST(PasswordFileWrite, HonoursIterations) {
    PasswordFile file;
    file.set_password("erin", "pw", 1000);
    EXPECT_EQ(file.find("erin")->hash.iterations, 1000u);
    EXPECT_TRUE(file.verify("erin", "pw"));
    EXPECT_THROW(file.set_password("erin", "pw", 0), std::invalid_argument);
}

TEST(PasswordFileWrite, UpdateReplacesOnlyThatUsersLineAndKeepsEverythingElse) {
    const std::string original = lines({"# site users", alice_line, "", "not a valid line", bob_line});
    auto result = PasswordFile::parse(original, "pw");
    ASSERT_EQ(result.errors.size(), 1u);  // the invalid line is reported, and kept
    auto& file = result.file;
    file.set_password("alice", "new secret");

    const std::string text = file.to_text();
    const auto parsed = PasswordFile::parse(text, "pw");
    EXPECT_TRUE(parsed.file.verify("alice", "new secret"));
    EXPECT_FALSE(parsed.file.verify("alice", "secret"));
    EXPECT_TRUE(parsed.file.verify("bob", "hunter2"));
    EXPECT_EQ(parsed.file.find("alice")->line, 2u);  // in place

    // Everything but alice's line is byte for byte what it was.
    const std::string new_alice = "alice:" + file.find("alice")->hash.to_string();
    EXPECT_EQ(text, lines({"# site users", new_alice, "", "not a valid line", bob_line}));
}

TEST(PasswordFileWrite, NewUserIsAppended) {
    auto file = parse_ok(lines({alice_line}));
    file.set_password("erin", "x");
    const auto entries = file.entries();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0]->username, "alice");
    EXPECT_EQ(entries[1]->username, "erin");
    EXPECT_TRUE(file.to_text().starts_with(std::string{alice_line} + "\n"));
}

TEST(PasswordFileWrite, RemoveDeletesOnlyThatUser) {
    auto file = parse_ok(lines({"# c", alice_line, bob_line, carol_line}));
    EXPECT_TRUE(file.remove("bob"));
    EXPECT_FALSE(file.remove("bob"));
    EXPECT_FALSE(file.remove("mallory"));
    EXPECT_EQ(file.to_text(), lines({"# c", alice_line, carol_line}));
    EXPECT_EQ(file.find("bob"), nullptr);
    EXPECT_TRUE(file.verify("carol", "c"));
    EXPECT_FALSE(file.verify("bob", "hunter2"));
}

class PasswordFileUsername : public testing::TestWithParam<std::string> {};

TEST_P(PasswordFileUsername, RefusesNamesThatWouldNotReadBackAsThemselves) {
    PasswordFile file;
    EXPECT_TRUE(PasswordFile::username_problem(GetParam()).has_value());
    EXPECT_THROW(file.set_password(GetParam(), "pw"), std::invalid_argument);
    EXPECT_EQ(file.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, PasswordFileUsername,
                         testing::Values("", "a:b", " alice", "alice ", "\talice", "#alice", "al\nice", "al\rice",
                                         "al\xff" "ice", std::string{"al\0ice", 6}, std::string(65536, 'a')));

TEST(PasswordFileWrite, AcceptsUtf8AndPunctuationInNames) {
    PasswordFile file;
    for (const char* name : {"jürgen", "plc-1.line3", "a#b", "user@example.com", "with space"}) {
        EXPECT_FALSE(PasswordFile::username_problem(name).has_value()) << name;
        file.set_password(name, "pw");
    }
    const auto parsed = PasswordFile::parse(file.to_text(), "pw");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.file.size(), 5u);
    EXPECT_TRUE(parsed.file.verify("jürgen", "pw"));
    EXPECT_TRUE(parsed.file.verify("with space", "pw"));
}

TEST(PasswordFileWrite, SaveReplacesFileKeepingItsModeAndLeavesNoTemporary) {
    TempDir dir;
    const std::string path = dir.file("passwd");
    spit(path, lines({alice_line}));
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);

    auto file = PasswordFile::load(path).file;
    file.set_password("erin", "pw");
    ASSERT_FALSE(file.save(path));

    EXPECT_EQ(slurp(path), file.to_text());
    EXPECT_EQ(mode_of(path), 0640u);
    int entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        ++entries;
        EXPECT_EQ(entry.path().filename(), "passwd");
    }
    EXPECT_EQ(entries, 1);
    EXPECT_TRUE(PasswordFile::load(path).file.verify("erin", "pw"));
}

TEST(PasswordFileWrite, SaveCreatesNewFileReadableOnlyByOwner) {
    TempDir dir;
    PasswordFile file;
    file.set_password("erin", "pw");
    ASSERT_FALSE(file.save(dir.file("new")));
    EXPECT_EQ(mode_of(dir.file("new")), 0600u);
    EXPECT_TRUE(PasswordFile::load(dir.file("new")).file.verify("erin", "pw"));
}

TEST(PasswordFileWrite, SaveThroughSymlinkReplacesTheTarget) {
    TempDir dir;
    spit(dir.file("real"), lines({alice_line}));
    std::filesystem::create_symlink(dir.file("real"), dir.file("link"));
    auto file = PasswordFile::load(dir.file("link")).file;
    file.set_password("erin", "pw");
    ASSERT_FALSE(file.save(dir.file("link")));
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("link")));
    EXPECT_TRUE(PasswordFile::load(dir.file("real")).file.verify("erin", "pw"));
}

TEST(PasswordFileWrite, SaveIntoMissingDirectoryFailsWithErrorCode) {
    TempDir dir;
    PasswordFile file;
    file.set_password("erin", "pw");
    const auto ec = file.save(dir.file("no/such/dir/passwd"));
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace fieldgate::auth
