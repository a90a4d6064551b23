// `fieldgate passwd`: files it writes are Mosquitto's format, and it edits
// files made by Debian's mosquitto_passwd.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/broker/auth/password_file.hpp"
#include "support/process.hpp"

using namespace fieldgate::test;

namespace {

const std::string binary = FIELDGATE_BINARY;

std::string read(const std::string& path) {
    std::ifstream in{path};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST(Passwd, AddsUsersFromStdinAndTheFileVerifies) {
    TempDir dir;
    const auto file = dir.path() + "/passwd";
    ASSERT_EQ(run({binary, "passwd", file, "alice"}, {.stdin_text = "s3cret\n"}).exit_code(), 0);
    ASSERT_EQ(run({binary, "passwd", file, "bob"}, {.stdin_text = "hunter2\n"}).exit_code(), 0);
    const auto text = read(file);
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << "a password in clear";
    EXPECT_NE(text.find("alice:$7$"), std::string::npos);
    const auto loaded = fieldgate::auth::PasswordFile::load(file);
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded.file.verify("alice", "s3cret"));
    EXPECT_FALSE(loaded.file.verify("alice", "hunter2"));
    EXPECT_TRUE(loaded.file.verify("bob", "hunter2"));
}

TEST(Passwd, UpdatesAndDeletesUsersOfAMosquittoPasswdFile) {
    TempDir dir;
    const auto file = dir.path() + "/passwd";
    const std::string mosquitto_passwd = "/usr/bin/mosquitto_passwd";
    ASSERT_EQ(run({mosquitto_passwd, "-b", "-c", file, "carol", "old"}).exit_code(), 0);
    ASSERT_EQ(run({mosquitto_passwd, "-b", file, "dave", "keep"}).exit_code(), 0);
    ASSERT_EQ(run({binary, "passwd", file, "carol"}, {.stdin_text = "new\n"}).exit_code(), 0);
    ASSERT_EQ(run({binary, "passwd", "-D", file, "dave"}).exit_code(), 0);
    const auto loaded = fieldgate::auth::PasswordFile::load(file);
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded.file.verify("carol", "new"));
    EXPECT_FALSE(loaded.file.verify("carol", "old"));
    EXPECT_EQ(loaded.file.find("dave"), nullptr);
}

TEST(Passwd, RefusesAnEmptyPasswordAndAnUnknownUserToDelete) {
    TempDir dir;
    const auto file = dir.path() + "/passwd";
    const auto empty = run({binary, "passwd", file, "erin"}, {.stdin_text = "\n"});
    EXPECT_EQ(empty.exit_code(), 2);
    EXPECT_EQ(empty.err, "no password given\n");
    ASSERT_EQ(run({binary, "passwd", file, "erin"}, {.stdin_text = "pw\n"}).exit_code(), 0);
    const auto missing = run({binary, "passwd", "-D", file, "frank"});
    EXPECT_EQ(missing.exit_code(), 2);
    EXPECT_EQ(missing.err, file + ": no user 'frank'\n");
}
