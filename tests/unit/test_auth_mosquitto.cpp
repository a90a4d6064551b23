// The auth files against the real thing, Debian's mosquitto 2.0: password
// files made by mosquitto_passwd are read and verified by us; files we write
// are accepted by the mosquitto broker (and by mosquitto_passwd); and our ACL
// decisions equal the broker's for one file over a grid of clients, topics and
// read/write. Skipped when the mosquitto and mosquitto-clients packages are
// missing. Every wait is bounded; every process started here is stopped here.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/broker/auth/acl.hpp"
#include "gateway/broker/auth/password_file.hpp"

extern char** environ;

namespace fieldgate::auth {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::optional<std::string> find_program(std::string_view name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    dirs += ":/usr/sbin:/sbin";  // mosquitto lives in /usr/sbin
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string candidate = dirs.substr(start, end - start) + "/" + std::string{name};
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

#define REQUIRE_PROGRAMS(...)                                                           \
    for (const char* program : {__VA_ARGS__}) {                                         \
        if (!find_program(program)) GTEST_SKIP() << program << " is not installed";    \
    }

using fieldgate::unit::TempDir;

void spit(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// A child process with stdout and stderr in one pipe we read. Stopped (TERM,
// then KILL after a bounded wait) when it goes out of scope.
class Child {
public:
    explicit Child(const std::vector<std::string>& argv) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw std::runtime_error("cannot start " + argv[0]);
        }
        fd_ = fds[0];
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        stop();
        if (fd_ >= 0) ::close(fd_);
    }

    // Reads what is there, waiting at most `wait`. False at end of output.
    bool pump(std::chrono::milliseconds wait) {
        if (fd_ < 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
        char buffer[4096];
        const ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n <= 0) {
            ::close(fd_);
            fd_ = -1;
            return false;
        }
        output_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (output_.find(needle) == std::string::npos) {
            if (Clock::now() >= deadline || !pump(50ms)) return output_.find(needle) != std::string::npos;
        }
        return true;
    }

    // The exit code, or nullopt when it had to be killed after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            pump(20ms);
            if (reap(WNOHANG)) break;
        }
        if (!exited_) {
            stop();
            return std::nullopt;
        }
        while (pump(0ms) && fd_ >= 0) {
        }
        return exit_code_;
    }

    bool running() { return !exited_ && !reap(WNOHANG); }

    void stop() {
        if (exited_ || pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline) {
            pump(20ms);
            if (reap(WNOHANG)) return;
        }
        ::kill(pid_, SIGKILL);
        reap(0);
    }

    const std::string& output() const { return output_; }

private:
    bool reap(int flags) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, flags);
        if (r != pid_) return false;
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    bool exited_ = false;
    int exit_code_ = -1;
    std::string output_;
};

struct RunResult {
    std::optional<int> exit_code;  // nullopt: timed out
    std::string output;
};

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 15s) {
    Child child{argv};
    auto code = child.wait(timeout);
    return {code, child.output()};
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Debian's mosquitto on a free 127.0.0.1 port with `settings` added to its
// configuration; stopped on destruction.
class Mosquitto {
public:
    Mosquitto(const TempDir& dir, const std::string& settings) {
        for (int attempt = 0; attempt < 3 && !child_; ++attempt) {
            port_ = free_port();
            std::string config = "listener " + std::to_string(port_) + " 127.0.0.1\n" + settings;
            // As root, mosquitto would switch to the `mosquitto` user, who
            // cannot read the test's private directory.
            if (::geteuid() == 0) config += "user root\n";
            spit(dir.file("mosquitto.conf"), config);
            child_.emplace(std::vector<std::string>{*find_program("mosquitto"), "-c", dir.file("mosquitto.conf")});
            const auto deadline = Clock::now() + 5s;
            while (Clock::now() < deadline && child_->running() && !port_accepts(port_)) {
                child_->pump(50ms);
            }
            if (!child_->running() || !port_accepts(port_)) {
                log_ = child_->output();
                child_.reset();
            }
        }
        if (!child_) throw std::runtime_error("mosquitto did not start:\n" + log_);
    }

    std::uint16_t port() const { return port_; }
    std::string port_arg() const { return std::to_string(port_); }

private:
    std::uint16_t port_ = 0;
    std::optional<Child> child_;
    std::string log_;
};

// ---------------------------------------------------------------------------
// Password files

TEST(AuthMosquitto, ReadsPbkdf2FileMadeByMosquittoPasswd) {
    REQUIRE_PROGRAMS("mosquitto_passwd");
    TempDir dir;
    const auto path = dir.file("passwd");
    const auto made = run({"mosquitto_passwd", "-b", "-c", path, "alice", "s3cret: with spaces"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    ASSERT_EQ(run({"mosquitto_passwd", "-b", path, "jürgen", "pw"}).exit_code, 0);

    const auto loaded = PasswordFile::load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
    ASSERT_EQ(loaded.file.size(), 2u);
    const auto* alice = loaded.file.find("alice");
    ASSERT_NE(alice, nullptr);
    // mosquitto_passwd's defaults, which ours follow.
    EXPECT_EQ(alice->hash.kind, HashKind::pbkdf2_sha512);
    EXPECT_EQ(alice->hash.iterations, default_pbkdf2_iterations);
    EXPECT_EQ(alice->hash.salt.size(), password_salt_size);
    EXPECT_TRUE(loaded.file.verify("alice", "s3cret: with spaces"));
    EXPECT_FALSE(loaded.file.verify("alice", "s3cret"));
    EXPECT_TRUE(loaded.file.verify("jürgen", "pw"));
    EXPECT_FALSE(loaded.file.verify("jürgen", "PW"));
}

TEST(AuthMosquitto, ReadsSha512FileMadeByMosquittoPasswd) {
    REQUIRE_PROGRAMS("mosquitto_passwd");
    TempDir dir;
    const auto path = dir.file("passwd");
    const auto made = run({"mosquitto_passwd", "-H", "sha512", "-b", "-c", path, "bob", "hunter2"});
    ASSERT_EQ(made.exit_code, 0) << made.output;

    const auto loaded = PasswordFile::load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
    ASSERT_NE(loaded.file.find("bob"), nullptr);
    EXPECT_EQ(loaded.file.find("bob")->hash.kind, HashKind::sha512);
    EXPECT_TRUE(loaded.file.verify("bob", "hunter2"));
    EXPECT_FALSE(loaded.file.verify("bob", "hunter"));
}

TEST(AuthMosquitto, MosquittoPasswdUpdatesAFileWeWrote) {
    REQUIRE_PROGRAMS("mosquitto_passwd");
    TempDir dir;
    const auto path = dir.file("passwd");
    PasswordFile ours;
    ours.set_password("alice", "a-pw");
    ours.set_password("bob", "b-pw");
    ASSERT_FALSE(ours.save(path));

    const auto updated = run({"mosquitto_passwd", "-b", path, "bob", "b-new"});
    ASSERT_EQ(updated.exit_code, 0) << updated.output;
    const auto loaded = PasswordFile::load(path);
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded.file.verify("alice", "a-pw"));
    EXPECT_TRUE(loaded.file.verify("bob", "b-new"));
    EXPECT_FALSE(loaded.file.verify("bob", "b-pw"));
}

TEST(AuthMosquitto, BrokerAcceptsPasswordFileWeWrote) {
    REQUIRE_PROGRAMS("mosquitto", "mosquitto_pub");
    TempDir dir;
    const auto path = dir.file("passwd");
    PasswordFile ours;
    ours.set_password("alice", "correct horse");
    ours.set_password("plc-7", "x:y$z");
    ASSERT_FALSE(ours.save(path));

    Mosquitto broker{dir, "allow_anonymous false\npassword_file " + path + "\n"};
    auto publish = [&](const std::optional<std::string>& user, const std::string& password) {
        std::vector<std::string> argv{"mosquitto_pub", "-h", "127.0.0.1", "-p", broker.port_arg(),
                                      "-t", "t", "-m", "m", "-q", "1"};
        if (user) {
            argv.insert(argv.end(), {"-u", *user, "-P", password});
        }
        return run(argv);
    };
    EXPECT_EQ(publish("alice", "correct horse").exit_code, 0);
    EXPECT_EQ(publish("plc-7", "x:y$z").exit_code, 0);
    const auto wrong = publish("alice", "correct horsE");
    ASSERT_TRUE(wrong.exit_code.has_value());
    EXPECT_NE(*wrong.exit_code, 0) << wrong.output;
    EXPECT_NE(publish("mallory", "correct horse").exit_code, 0);
    EXPECT_NE(publish(std::nullopt, "").exit_code, 0);  // anonymous refused

    // And our verify agrees on every one of those.
    EXPECT_TRUE(ours.verify("alice", "correct horse"));
    EXPECT_TRUE(ours.verify("plc-7", "x:y$z"));
    EXPECT_FALSE(ours.verify("alice", "correct horsE"));
    EXPECT_FALSE(ours.verify("mallory", "correct horse"));
}

// ---------------------------------------------------------------------------
// ACL decisions: ours and the broker's, for the same file

constexpr std::string_view differential_acl = R"(# Anonymous clients
topic read public/#
topic readwrite anon/#
topic read $SYS/broker/version

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read sensors/+/temp
topic write cmd/alice
topic read $SYS/#

user bob
topic sensors/#
topic deny sensors/private

user admin
topic readwrite #
topic readwrite $SYS/broker/connection/#

pattern readwrite devices/%c/#
pattern read users/%u/inbox
pattern deny devices/%c/locked
pattern write shared/%u/%c
)";

// Sees every message: publishes the read probes and observes the writes.
constexpr std::string_view observer = "fg-observer";

struct Identity {
    std::optional<std::string> username;
    std::string client_id;

    std::string describe() const { return (username ? *username : "(anonymous)") + "/" + client_id; }
    void add_args(std::vector<std::string>& argv) const {
        argv.insert(argv.end(), {"-i", client_id});
        if (username) argv.insert(argv.end(), {"-u", *username});
    }
};

std::vector<Identity> identities() {
    return {
        {std::nullopt, "anon1"}, {"alice", "alice-1"}, {"bob", "dev1"},   {"admin", "dev2"},
        {"carol", "c9"},         {"ev+l", "x1"},       {"alice", "a#b"},  {"bob", "site/7"},
    };
}

// Topics to try for one client; %u and %c make sure its own patterns are hit.
std::vector<std::string> topics_for(const Identity& who) {
    const std::string user = who.username.value_or("nobody");
    const std::string& cid = who.client_id;
    std::vector<std::string> topics{"public/news",  "anon/x",          "alice/a",          "alice/secret/x",         "sensors/k1/temp",
            "sensors/private", "sensors/a",     "cmd/alice",        "devices/" + cid + "/temp", "devices/" + cid + "/locked",
            "devices/other/temp", "users/" + user + "/inbox", "shared/" + user + "/" + cid, "unlisted"};
    // A '+' or '#' from an identity would make an invalid topic name.
    std::erase_if(topics, [](const std::string& t) { return t.find_first_of("+#") != std::string::npos; });
    return topics;
}

// Lines "TOPIC PAYLOAD" that mosquitto_sub -v printed.
std::set<std::string> received(const std::string& output) {
    std::set<std::string> lines;
    std::size_t start = 0;
    while (start < output.size()) {
        const std::size_t end = std::min(output.find('\n', start), output.size());
        lines.insert(output.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

TEST(AuthMosquitto, AclDecisionsMatchTheBroker) {
    REQUIRE_PROGRAMS("mosquitto", "mosquitto_pub", "mosquitto_sub", "stdbuf");
    TempDir dir;
    const std::string acl_text = std::string{differential_acl} + "\nuser " + std::string{observer} +
                                 "\ntopic readwrite #\ntopic read $SYS/#\n";
    const auto parsed = Acl::parse(acl_text, "acl");
    ASSERT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
    const Acl& acl = parsed.acl;
    spit(dir.file("acl"), acl_text);
    Mosquitto broker{dir, "allow_anonymous true\nacl_file " + dir.file("acl") + "\n"};

    auto sub_argv = [&](const Identity& who, std::vector<std::string> filters) {
        // Line-buffered: into a pipe, mosquitto_sub's stdout is otherwise
        // block-buffered and nothing shows until it exits.
        std::vector<std::string> argv{"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.port_arg(),
                                      "-v", "-d"};
        who.add_args(argv);
        for (auto& f : filters) argv.insert(argv.end(), {"-t", std::move(f)});
        return argv;
    };
    auto publish = [&](const Identity& who, const std::string& topic, const std::string& payload) {
        std::vector<std::string> argv{"mosquitto_pub", "-h", "127.0.0.1", "-p", broker.port_arg(),
                                      "-t", topic, "-m", payload, "-q", "1"};
        who.add_args(argv);
        const auto result = run(argv);
        ASSERT_EQ(result.exit_code, 0) << who.describe() << " " << topic << ": " << result.output;
    };
    // Its own client id: the observing subscriber keeps `observer`.
    const Identity watcher{std::string{observer}, std::string{observer} + "-pub"};

    int allowed_count = 0;
    int denied_count = 0;
    auto compare = [&](const Identity& who, const std::string& topic, Access access, bool broker_allowed) {
        const bool ours = acl.allowed(who.username, who.client_id, topic, access);
        EXPECT_EQ(ours, broker_allowed) << who.describe() << (access == Access::read ? " read " : " write ")
                                        << topic << ": mosquitto " << (broker_allowed ? "allows" : "denies");
        (broker_allowed ? allowed_count : denied_count) += 1;
    };

    // Reads: each client subscribes to everything (mosquitto 2.0 accepts any
    // subscription and checks read access per message), the observer
    // publishes every topic, and what arrives is what the broker let through.
    // $SYS/broker/version is retained by the broker: it arrives on subscribing.
    {
        std::vector<std::unique_ptr<Child>> subscribers;
        std::set<std::string> all_topics;
        for (const auto& who : identities()) {
            subscribers.push_back(std::make_unique<Child>(sub_argv(who, {"#", "$SYS/broker/version"})));
            for (auto& t : topics_for(who)) all_topics.insert(t);
        }
        for (auto& s : subscribers) ASSERT_TRUE(s->wait_for_output("received SUBACK", 10s)) << s->output();
        for (const auto& topic : all_topics) publish(watcher, topic, "probe");
        // Every PUBACK is in: the broker has routed each message. Give the
        // subscribers a moment to print them, then stop them (they exit cleanly
        // on TERM).
        std::this_thread::sleep_for(700ms);
        const auto ids = identities();
        for (std::size_t i = 0; i < ids.size(); ++i) {
            subscribers[i]->stop();
            const auto got = received(subscribers[i]->output());
            for (const auto& topic : topics_for(ids[i])) {
                compare(ids[i], topic, Access::read, got.count(topic + " probe") > 0);
            }
            const bool sys = std::any_of(got.begin(), got.end(),
                                         [](const std::string& l) { return l.starts_with("$SYS/broker/version "); });
            compare(ids[i], "$SYS/broker/version", Access::read, sys);
        }
    }

    // Writes: each client publishes each topic; the observer sees what the
    // broker accepted. A last message from the observer marks the end.
    {
        Child watch{sub_argv(Identity{std::string{observer}, std::string{observer}},
                             {"#", "$SYS/broker/connection/#", "$SYS/fg/#"})};
        ASSERT_TRUE(watch.wait_for_output("received SUBACK", 10s)) << watch.output();
        struct Write {
            Identity who;
            std::string topic;
        };
        std::vector<Write> writes;
        for (const auto& who : identities()) {
            auto topics = topics_for(who);
            topics.push_back("$SYS/broker/connection/" + who.client_id + "/state");
            topics.push_back("$SYS/fg/x");
            for (auto& t : topics) {
                if (t.find_first_of("+#") == std::string::npos) writes.push_back({who, std::move(t)});
            }
        }
        for (std::size_t i = 0; i < writes.size(); ++i) publish(writes[i].who, writes[i].topic, "w" + std::to_string(i));
        publish(watcher, "fg-end", "end");
        ASSERT_TRUE(watch.wait_for_output("fg-end end", 10s)) << watch.output();
        watch.stop();
        const auto got = received(watch.output());
        for (std::size_t i = 0; i < writes.size(); ++i) {
            compare(writes[i].who, writes[i].topic, Access::write,
                    got.count(writes[i].topic + " w" + std::to_string(i)) > 0);
        }
    }

    // Not a vacuous comparison: both outcomes occur plenty.
    EXPECT_GT(allowed_count, 30);
    EXPECT_GT(denied_count, 30);
}

}  // namespace
}  // namespace fieldgate::auth
