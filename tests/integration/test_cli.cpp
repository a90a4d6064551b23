// The fieldgate binary as a user meets it: its commands, exit codes and
// messages, configuration round trips, signals and log format.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.hpp"
#include "support/process.hpp"

namespace fieldgate::test {
namespace {

namespace cfg = fieldgate::config;

const std::string binary = FIELDGATE_BINARY;
const std::string source_dir = FIELDGATE_SOURCE_DIR;
const std::string example_path = source_dir + "/config/fieldgate.example.toml";

constexpr Millis start_timeout{10000};
constexpr Millis log_timeout{5000};

ProcessOptions with_env(std::string name, std::optional<std::string> value) {
    ProcessOptions options;
    options.env.emplace_back(std::move(name), std::move(value));
    return options;
}

RunResult fieldgate(std::vector<std::string> args, const ProcessOptions& options = {}) {
    args.insert(args.begin(), binary);
    return run(args, options);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

// Ports of its own for each gateway under test (tests may run in parallel).
struct Ports {
    std::uint16_t mqtt = 0;
    std::uint16_t http = 0;
    std::uint16_t spare = 0;

    static Ports pick() {
        const auto p = free_tcp_ports(3);
        return {p[0], p[1], p[2]};
    }
    static std::string at(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
};

// A configuration that runs here: one MQTT listener and HTTP on loopback.
std::string running_config(const TempDir& dir, const Ports& ports, std::string_view log_level = "info") {
    return "[gateway]\n"
           "name = \"it-gateway\"\n"
           "state_dir = \"" + dir.path() + "/state\"\n"
           "log_level = \"" + std::string(log_level) + "\"\n"
           "\n"
           "[[listener]]\n"
           "bind = \"" + Ports::at(ports.mqtt) + "\"\n"
           "\n"
           "[http]\n"
           "bind = \"" + Ports::at(ports.http) + "\"\n";
}

// Waits until a started `fieldgate` has finished starting ("running with N
// worker(s)", the last start-up line, at log level info or lower) and catches
// the signals the tests send. The handlers alone are not enough: they are in
// place from the very start of run(), before the file has even been read.
void await_started(Process& p) {
    ASSERT_TRUE(p.wait_for_stderr("[main] running with ", start_timeout)) << p.err();
    ASSERT_TRUE(p.wait_for_signal_handlers({SIGHUP, SIGTERM, SIGINT}, start_timeout)) << p.err();
}

// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "it".
const std::string mqtt311_connect{"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02it", 16};
// CONNACK, session present 0, return code 0 (accepted).
const std::string mqtt311_connack_accepted{"\x20\x02\x00\x00", 4};

// Whether an MQTT broker on 127.0.0.1:`port` accepts a CONNECT within
// `timeout`; a refused connection (nothing listening yet) is tried again.
bool broker_accepts_connect(std::uint16_t port, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
        if (left <= Millis{0}) return false;
        const auto reply = tcp_exchange("127.0.0.1", port, mqtt311_connect, mqtt311_connack_accepted.size(), left);
        if (reply) return *reply == mqtt311_connack_accepted;
        std::this_thread::sleep_for(std::min(Millis{10}, left));
    }
}

std::string fieldgate_version() {
    const auto r = fieldgate({"--version"});
    const std::string prefix = "fieldgate ";
    if (r.exit_code() != 0 || !r.out.starts_with(prefix)) return "?";
    return r.out.substr(prefix.size(), r.out.find('\n') - prefix.size());
}

// The first line of `text`, without its newline.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The example with every file it names moved under `dir`, and those files
// created, so it loads here with the file checks on.
std::string localised_example(const TempDir& dir) {
    std::string text = read_file(example_path);
    replace_all(text, "/etc/fieldgate/", dir.path() + "/etc/");
    replace_all(text, "/dev/ttyUSB", dir.path() + "/dev/ttyUSB");
    const std::regex local_path{"\"(?:rtu://)?(" + dir.path() + "/[^\"]+)\""};
    for (std::sregex_iterator it{text.begin(), text.end(), local_path}, end; it != end; ++it) {
        const std::string path = (*it)[1].str();
        dir.write(path.substr(dir.path().size() + 1), "placeholder\n");
    }
    return text;
}

// ---------------------------------------------------------------------------

TEST(Cli, VersionPrintsNameAndVersion) {
    const auto r = fieldgate({"--version"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_TRUE(std::regex_search(r.out, std::regex{"^fieldgate [0-9]"})) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST(Cli, HelpExitsZeroAndListsTheCommands) {
    const auto r = fieldgate({"--help"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_NE(r.out.find("check"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("print-config"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
}

TEST(Cli, UnknownOptionExitsTwo) {
    const auto r = fieldgate({"--no-such-option"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
}

TEST(Cli, CheckWithoutConfigExitsTwo) {
    const auto r = fieldgate({"check"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------

// Line by line, so each error's position can be checked by eye.
constexpr std::string_view broken_config =
    "[gateway]\n"                          // 1
    "nmae = \"line3-pi\"\n"                // 2
    "workers = \"4\"\n"                    // 3
    "\n"                                   // 4
    "[[listener]]\n"                       // 5
    "type = \"mqtts\"\n"                   // 6
    "bind = \"0.0.0.0:1883\"\n"            // 7
    "\n"                                   // 8
    "[[listener]]\n"                       // 9
    "type = \"ws\"\n"                      // 10
    "bind = \"0.0.0.0:1883\"\n"            // 11
    "path = \"mqtt\"\n"                    // 12
    "\n"                                   // 13
    "[limits]\n"                           // 14
    "max_packet_size = \"1.5MiB\"\n"       // 15
    "connect_timeout = \"10\"\n"           // 16
    "max_inflight = 0\n"                   // 17
    "\n"                                   // 18
    "[persistence]\n"                      // 19
    "durability = \"fast\"\n";             // 20

std::string expected_broken_errors(const std::string& file) {
    const std::vector<std::string> lines = {
        ":2:1: error: gateway.nmae: unknown key (did you mean 'name'?)",
        ":3:11: error: gateway.workers: wrong type (expected an integer, got a string)",
        ":5:1: error: listener[1].cert: missing for an mqtts listener (expected a certificate file)",
        ":5:1: error: listener[1].key: missing for an mqtts listener (expected a private key file)",
        ":11:8: error: listener[2].bind: port 1883 is already used by listener[1] (expected one listener per port)",
        ":12:8: error: listener[2].path: invalid path \"mqtt\" (expected a path starting with '/')",
        ":15:19: error: limits.max_packet_size: invalid size \"1.5MiB\" (expected a size with a unit (B, KiB, MiB, GiB), "
        "like \"256KiB\")",
        ":16:19: error: limits.connect_timeout: invalid duration \"10\" (expected a duration with a unit (ms, s, m, h, "
        "d), like \"10s\")",
        ":17:16: error: limits.max_inflight: 0 is out of range (expected 1 to 65535)",
        ":20:14: error: persistence.durability: unknown value \"fast\" (expected one of: \"sync\", \"batched\", "
        "\"none\")",
    };
    std::string out;
    for (const auto& line : lines) out += file + line + "\n";
    return out;
}

TEST(Config, CheckOfBrokenFilePrintsEveryErrorAndExitsTwo) {
    TempDir dir;
    const auto file = dir.write("broken.toml", broken_config);
    const auto r = fieldgate({"check", "-c", file});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, expected_broken_errors(file));
}

TEST(Config, CheckOfTomlSyntaxErrorPrintsOneErrorAndExitsTwo) {
    TempDir dir;
    const auto file = dir.write("syntax.toml", "[gateway]\nname = \n");
    const auto r = fieldgate({"check", "-c", file});
    EXPECT_EQ(r.exit_code(), 2);
    const auto lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_TRUE(lines[0].starts_with(file + ":2:")) << lines[0];
    EXPECT_NE(lines[0].find(": error: TOML syntax: "), std::string::npos) << lines[0];
}

TEST(Config, CheckOfGoodFilePrintsOkAndExitsZero) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("good.toml", running_config(dir, ports));
    const auto r = fieldgate({"check", "-c", file});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(r.err, "");
}

TEST(Config, CheckOfMissingFileExitsTwoWithCannotRead) {
    TempDir dir;
    const std::string file = dir.path() + "/absent.toml";
    const auto r = fieldgate({"check", "-c", file});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, file + ": error: cannot read the file: No such file or directory\n");
}

TEST(Config, CheckRequiresNamedFilesUnlessSkipFiles) {
    TempDir dir;
    const std::string cert = dir.path() + "/no/server.crt";
    const std::string key = dir.path() + "/no/server.key";
    const auto file = dir.write("tls.toml", "[[listener]]\n"
                                            "type = \"mqtts\"\n"
                                            "cert = \"" + cert + "\"\n"
                                            "key = \"" + key + "\"\n");
    const auto strict = fieldgate({"check", "-c", file});
    EXPECT_EQ(strict.exit_code(), 2);
    EXPECT_EQ(strict.err, file + ":3:8: error: listener[1].cert: cannot read \"" + cert +
                              "\": No such file or directory (expected a readable certificate file)\n" + file +
                              ":4:7: error: listener[1].key: cannot read \"" + key +
                              "\": No such file or directory (expected a readable private key file)\n");

    const auto skipped = fieldgate({"check", "--skip-files", "-c", file});
    EXPECT_EQ(skipped.exit_code(), 0) << skipped.err;
    EXPECT_EQ(skipped.out, "ok\n");
}

TEST(Config, RunWithBrokenFileRefusesToStartWithTheSameErrors) {
    TempDir dir;
    const auto file = dir.write("broken.toml", broken_config);
    const auto r = fieldgate({"-c", file});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, expected_broken_errors(file));
}

TEST(Config, RunWithMissingFileRefusesToStart) {
    TempDir dir;
    const std::string file = dir.path() + "/absent.toml";
    const auto r = fieldgate({"--config", file});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, file + ": error: cannot read the file: No such file or directory\n");
}

// An empty path is refused by the command line, not taken for "no file" (the
// built-in defaults): run, check and print-config alike.
TEST(Config, EmptyConfigPathIsRefusedWithExitTwo) {
    const std::vector<std::vector<std::string>> commands = {
        {"-c", ""}, {"--config", ""}, {"check", "-c", ""}, {"check", "--skip-files", "-c", ""},
        {"print-config", "-c", ""}, {"print-config", "--skip-files", "--config", ""}};
    for (const auto& args : commands) {
        std::string shown;
        for (const auto& a : args) shown += (shown.empty() ? "" : " ") + (a.empty() ? std::string("\"\"") : a);
        const auto r = fieldgate(args);
        EXPECT_FALSE(r.timed_out) << shown;
        EXPECT_EQ(r.exit_code(), 2) << shown << "\n" << r.err;
        EXPECT_EQ(r.out, "") << shown;
        EXPECT_EQ(first_line(r.err), "--config: an empty path") << shown << "\n" << r.err;
        EXPECT_EQ(r.err.find("starting"), std::string::npos) << shown << "\n" << r.err;
    }
}

// ---------------------------------------------------------------------------

TEST(PrintConfig, BuiltInDefaultsPassCheckAndPrintTheSame) {
    TempDir dir;
    const ProcessOptions no_state_dir = with_env("STATE_DIRECTORY", std::nullopt);
    const auto printed = fieldgate({"print-config"}, no_state_dir);
    ASSERT_EQ(printed.exit_code(), 0) << printed.err;
    EXPECT_EQ(printed.err, "");

    // The built-in defaults of DESIGN.md.
    EXPECT_NE(printed.out.find("state_dir = \"./fieldgate-state\"\n"), std::string::npos) << printed.out;
    EXPECT_NE(printed.out.find("[[listener]]\ntype = \"mqtt\"\nbind = \"0.0.0.0:1883\"\n"), std::string::npos);
    EXPECT_NE(printed.out.find("[[listener]]\ntype = \"ws\"\nbind = \"0.0.0.0:8080\"\npath = \"/mqtt\"\n"),
              std::string::npos);
    EXPECT_NE(printed.out.find("[http]\nbind = \"127.0.0.1:8081\"\n"), std::string::npos);
    EXPECT_NE(printed.out.find("allow_anonymous = true\n"), std::string::npos);

    const auto file = dir.write("printed.toml", printed.out);
    const auto check = fieldgate({"check", "-c", file});
    EXPECT_EQ(check.exit_code(), 0) << check.err;
    EXPECT_EQ(check.out, "ok\n");

    const auto again = fieldgate({"print-config", "-c", file}, no_state_dir);
    EXPECT_EQ(again.exit_code(), 0) << again.err;
    EXPECT_EQ(again.out, printed.out);
}

TEST(PrintConfig, StateDirectoryComesFromSystemd) {
    const auto r = fieldgate({"print-config"}, with_env("STATE_DIRECTORY", "/var/lib/fieldgate:/var/lib/other"));
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_NE(r.out.find("state_dir = \"/var/lib/fieldgate\"\n"), std::string::npos) << r.out;
}

TEST(PrintConfig, AnyListenerReplacesTheDefaultListeners) {
    TempDir dir;
    const auto file = dir.write("one.toml", "[[listener]]\ntype = \"mqtts\"\ncert = \"" + dir.write("c.pem", "x") +
                                                "\"\nkey = \"" + dir.write("k.pem", "x") + "\"\n");
    const auto r = fieldgate({"print-config", "-c", file});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    const auto lines = lines_of(r.out);
    EXPECT_EQ(std::count(lines.begin(), lines.end(), "[[listener]]"), 1) << r.out;
    EXPECT_NE(r.out.find("bind = \"0.0.0.0:8883\"\n"), std::string::npos) << r.out;
}

TEST(PrintConfig, ExampleRoundTripsThroughCheck) {
    TempDir dir;
    const auto example = dir.write("example.toml", localised_example(dir));
    const auto printed = fieldgate({"print-config", "-c", example});
    ASSERT_EQ(printed.exit_code(), 0) << printed.err;

    // The binary prints what the library makes of the same file.
    const auto loaded = cfg::load_config_file(example);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(printed.out, cfg::print_config(loaded.config));

    const auto file = dir.write("printed.toml", printed.out);
    const auto check = fieldgate({"check", "-c", file});
    EXPECT_EQ(check.exit_code(), 0) << check.err;
    EXPECT_EQ(check.out, "ok\n");
    const auto again = fieldgate({"print-config", "-c", file});
    EXPECT_EQ(again.out, printed.out);
}

TEST(PrintConfig, SkipFilesPrintsTheExampleWithoutItsFiles) {
    const auto r = fieldgate({"print-config", "--skip-files", "-c", example_path});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.err, "");
    const auto loaded = cfg::load_config_file(example_path, {.check_files = false});
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(r.out, cfg::print_config(loaded.config));

    // What it prints passes check --skip-files too.
    TempDir dir;
    const auto printed = dir.write("printed.toml", r.out);
    const auto check = fieldgate({"check", "--skip-files", "-c", printed});
    EXPECT_EQ(check.exit_code(), 0) << check.err;
    EXPECT_EQ(check.out, "ok\n");
}

TEST(PrintConfig, RequiresNamedFilesUnlessSkipFiles) {
    TempDir dir;
    const std::string acl = dir.path() + "/no/acl";
    const auto file = dir.write("auth.toml", "[auth]\nacl_file = \"" + acl + "\"\n");
    const auto strict = fieldgate({"print-config", "-c", file});
    EXPECT_EQ(strict.exit_code(), 2);
    EXPECT_EQ(strict.out, "");
    EXPECT_EQ(strict.err, file + ":2:12: error: auth.acl_file: cannot read \"" + acl +
                              "\": No such file or directory (expected a readable ACL file)\n");

    const auto skipped = fieldgate({"print-config", "--skip-files", "-c", file});
    EXPECT_EQ(skipped.exit_code(), 0) << skipped.err;
    EXPECT_EQ(skipped.err, "");
    EXPECT_NE(skipped.out.find("[auth]\nacl_file = \"" + acl + "\"\n"), std::string::npos) << skipped.out;
}

// ---------------------------------------------------------------------------

TEST(ExampleConfig, PassesCheckWithSkipFiles) {
    const auto r = fieldgate({"check", "--skip-files", "-c", example_path});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(r.err, "");
}

TEST(ExampleConfig, SetsEverySchemaKey) {
    const auto loaded = cfg::load_config_text(read_file(example_path), "fieldgate.example.toml", {.check_files = false});
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();

    std::set<std::string> written;
    for (const auto& [path, position] : loaded.positions) written.insert(cfg::unnumbered(path));
    for (const auto& key : cfg::schema_keys()) {
        EXPECT_TRUE(written.contains(key.path)) << "the example does not set " << key.path;
    }
}

// Every key of the schema has an entry in the README's configuration
// reference ("### `[section]`" then "#### `key`"), and the entry says whether
// SIGHUP applies it as the schema does; the reference lists no other keys.
TEST(ExampleConfig, ReadmeDocumentsEverySchemaKeyAndItsReload) {
    const auto lines = lines_of(read_file(source_dir + "/README.md"));
    std::map<std::string, std::string> entries;  // dotted key -> its text
    bool in_reference = false;
    std::string section;
    std::string* entry = nullptr;
    for (const auto& line : lines) {
        if (line.starts_with("## ")) {
            in_reference = line == "## Configuration reference";
            entry = nullptr;
            continue;
        }
        if (!in_reference) continue;
        if (line.starts_with("### ")) {
            entry = nullptr;
            section.clear();
            const auto open = line.find("`[");
            if (open == std::string::npos) continue;
            const auto close = line.find(']', open);
            section = line.substr(open + 1, close - open);
            std::erase(section, '[');
            std::erase(section, ']');
        } else if (line.starts_with("#### `")) {
            const auto end = line.find('`', 6);
            ASSERT_FALSE(section.empty()) << "key outside a section: " << line;
            entry = &entries[section + "." + line.substr(6, end - 6)];
        } else if (entry != nullptr) {
            *entry += line + "\n";
        }
    }

    std::set<std::string> schema;
    for (const auto& key : cfg::schema_keys()) {
        schema.insert(key.path);
        const auto it = entries.find(key.path);
        if (it == entries.end()) {
            ADD_FAILURE() << "README does not document " << key.path;
            continue;
        }
        const bool says_reload = it->second.find("Reload: SIGHUP applies it") != std::string::npos;
        const bool says_restart = it->second.find("Reload: restart") != std::string::npos;
        EXPECT_EQ(says_reload, key.reloadable) << key.path;
        EXPECT_EQ(says_restart, !key.reloadable) << key.path;
        EXPECT_NE(it->second.find("Default: "), std::string::npos) << key.path;
        EXPECT_NE(it->second.find("Example: `"), std::string::npos) << key.path;
    }
    for (const auto& [key, text] : entries) {
        EXPECT_TRUE(schema.contains(key)) << "README documents " << key << ", which the schema does not know";
    }
}

// ---------------------------------------------------------------------------

TEST(Reload, LogLevelChangeIsApplied) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports, "info"));
    Process p{{binary, "-c", file}};
    await_started(p);

    const auto mark = p.err().size();
    dir.write("fieldgate.toml", running_config(dir, ports, "debug"));
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 1: applied gateway.log_level\n", log_timeout, mark)) << p.err();

    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

// The answer is logged before the new level applies: raising the level to
// "warn" still shows the (info) answer, and only later info lines are hidden.
TEST(Reload, AnswerIsLoggedBeforeTheNewLevelApplies) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports, "info"));
    Process p{{binary, "-c", file}};
    await_started(p);

    dir.write("fieldgate.toml", running_config(dir, ports, "warn"));
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("info  [config] reload 1: applied gateway.log_level\n", log_timeout)) << p.err();
    const auto mark = p.err().size();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
    // "signal 15 received, stopping" and "stopped" are info: hidden now.
    EXPECT_EQ(p.err().substr(mark), "") << p.err();
}

TEST(Reload, UnchangedFileReportsNoChanges) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 1: " + file + " has no changes\n", log_timeout)) << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

TEST(Reload, OtherChangesWaitForARestart) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);

    std::string changed = running_config(dir, ports, "debug") + "\n[limits]\nmax_connections = 50\n";
    replace_all(changed, Ports::at(ports.mqtt), Ports::at(ports.spare));
    dir.write("fieldgate.toml", changed);
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 1: applied gateway.log_level\n", log_timeout)) << p.err();
    EXPECT_TRUE(p.wait_for_stderr(
        "[config] reload 1: changed limits.max_connections, listener.bind; these take effect after a restart\n",
        log_timeout))
        << p.err();

    // A second SIGHUP with a further change is numbered 2.
    dir.write("fieldgate.toml", changed + "max_inflight = 8\n");
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 2: changed limits.max_connections, limits.max_inflight, "
                                  "listener.bind; these take effect after a restart\n",
                                  log_timeout))
        << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

TEST(Reload, BrokenFileIsRefusedAndTheGatewayKeepsRunning) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);

    std::string broken = running_config(dir, ports, "loud");
    replace_all(broken, Ports::at(ports.http), Ports::at(ports.mqtt));
    dir.write("fieldgate.toml", broken);
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("[config] reload 1 refused: " + file +
                                      " has 2 error(s); the running configuration stays\n",
                                  log_timeout))
        << p.err();
    EXPECT_TRUE(p.wait_for_stderr(file + ":4:13: error: gateway.log_level: unknown value \"loud\" (expected one of: "
                                         "\"trace\", \"debug\", \"info\", \"warn\", \"error\", \"critical\", \"off\")\n",
                                  log_timeout))
        << p.err();
    EXPECT_TRUE(p.wait_for_stderr(file + ":10:8: error: http.bind: port " + std::to_string(ports.mqtt) +
                                         " is already used by listener[1] (expected a port of its own)\n",
                                  log_timeout))
        << p.err();
    EXPECT_TRUE(p.running());

    // Still alive, and still on the old configuration: a good file now changes
    // log_level from the running "info".
    const auto mark = p.err().size();
    dir.write("fieldgate.toml", running_config(dir, ports, "debug"));
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 2: applied gateway.log_level\n", log_timeout, mark)) << p.err();
    EXPECT_TRUE(broker_accepts_connect(ports.mqtt, log_timeout)) << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

// Every SIGHUP gets its answer, also when the file is the same broken one: the
// numbered refusal, and again every error of the file.
TEST(Reload, SameBrokenFileTwiceIsAnsweredBothTimes) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);

    dir.write("fieldgate.toml", "[gateway]\nworkers = -1\n");
    for (const std::string number : {"1", "2"}) {
        const std::string error_line = "[config] reload " + number + ": " + file +
                                       ":2:11: error: gateway.workers: -1 is out of range (expected 0 to 256)\n";
        SCOPED_TRACE("reload " + number);
        const auto mark = p.err().size();
        ASSERT_TRUE(p.send_signal(SIGHUP));
        EXPECT_TRUE(p.wait_for_stderr("[config] reload " + number + " refused: " + file +
                                          " has 1 error(s); the running configuration stays\n",
                                      log_timeout, mark))
            << p.err();
        EXPECT_TRUE(p.wait_for_stderr(error_line, log_timeout, mark)) << p.err();
        EXPECT_TRUE(p.running());
    }
    EXPECT_TRUE(broker_accepts_connect(ports.mqtt, log_timeout)) << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

// An empty file (one being rewritten in place, most likely) is refused, not
// taken for the built-in defaults.
TEST(Reload, EmptyFileIsRefusedAndTheGatewayKeepsRunning) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const std::string config = running_config(dir, ports, "info");
    const auto file = dir.write("fieldgate.toml", config);
    Process p{{binary, "-c", file}};
    await_started(p);

    dir.write("fieldgate.toml", "");
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("error [config] reload 1 refused: " + file +
                                      " is empty; the running configuration stays\n",
                                  log_timeout))
        << p.err();
    EXPECT_TRUE(p.running());
    EXPECT_TRUE(broker_accepts_connect(ports.mqtt, log_timeout)) << p.err();

    // The running configuration stayed: the original file is no change to it
    // (the built-in defaults would have been other listeners and HTTP).
    const auto mark = p.err().size();
    dir.write("fieldgate.toml", config);
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr("[config] reload 2: " + file + " has no changes\n", log_timeout, mark)) << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

TEST(Reload, WithoutFileThereIsNothingToReload) {
    TempDir dir;
    // The built-in listeners are 0.0.0.0:1883 (MQTT) and 0.0.0.0:8080 (WebSocket, not served by this build yet);
    // state goes to ./fieldgate-state, in the temp dir. These ports cannot be chosen: skip when they are taken.
    if (!tcp_port_is_free("0.0.0.0", 1883) || !tcp_port_is_free("0.0.0.0", 8080)) {
        GTEST_SKIP() << "port 1883 or 8080 is in use here";
    }
    ProcessOptions options = with_env("STATE_DIRECTORY", std::nullopt);
    options.cwd = dir.path();
    Process p{{binary}, options};
    if (!p.wait_for_stderr("[main] running with ", start_timeout) &&
        p.err().find("Address already in use") != std::string::npos) {
        GTEST_SKIP() << "a default port was taken meanwhile: " << p.err();
    }
    await_started(p);
    EXPECT_NE(p.err().find("[main] fieldgate " + fieldgate_version() + " starting on built-in defaults\n"),
              std::string::npos)
        << p.err();
    EXPECT_NE(p.err().find("[broker] listening for MQTT on 0.0.0.0:1883\n"), std::string::npos) << p.err();
    EXPECT_NE(p.err().find("[broker] listening for MQTT over WebSocket on 0.0.0.0:8080 path /mqtt\n"), std::string::npos)
        << p.err();
    ASSERT_TRUE(p.send_signal(SIGHUP));
    EXPECT_TRUE(p.wait_for_stderr(
        "warning [config] reload 1: fieldgate runs on built-in defaults (no -c FILE): nothing to reload\n",
        log_timeout))
        << p.err();
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

// ---------------------------------------------------------------------------

TEST(Startup, LogsTheFileListenersAndWorkersAndServesMqtt) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", "[gateway]\n"
                                                  "state_dir = \"" + dir.path() + "/state\"\n"
                                                  "workers = 3\n"
                                                  "[[listener]]\n"
                                                  "bind = \"" + Ports::at(ports.mqtt) + "\"\n"
                                                  "[[listener]]\n"
                                                  "type = \"ws\"\n"
                                                  "bind = \"" + Ports::at(ports.spare) + "\"\n"
                                                  "[http]\n"
                                                  "bind = \"" + Ports::at(ports.http) + "\"\n");
    Process p{{binary, "-c", file}};
    await_started(p);

    EXPECT_NE(p.err().find("info  [main] fieldgate " + fieldgate_version() + " starting with " + file + "\n"),
              std::string::npos)
        << p.err();
    EXPECT_NE(p.err().find("info  [broker] listening for MQTT on " + Ports::at(ports.mqtt) + "\n"), std::string::npos)
        << p.err();
    EXPECT_NE(p.err().find("info  [broker] listening for MQTT over WebSocket on " + Ports::at(ports.spare) +
                           " path /mqtt\n"),
              std::string::npos)
        << p.err();
    EXPECT_NE(p.err().find("info  [main] running with 3 worker(s)\n"), std::string::npos) << p.err();

    // A broker answers on the MQTT listener, and the WebSocket listener holds its port.
    EXPECT_TRUE(broker_accepts_connect(ports.mqtt, log_timeout)) << p.err();
    EXPECT_FALSE(tcp_port_is_free("127.0.0.1", ports.spare));
    EXPECT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
}

TEST(Startup, TakenListenerPortRefusesToStart) {
    TempDir dir;
    const Ports ports = Ports::pick();
    // A first gateway holds the port; a second one on the same port cannot start.
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process first{{binary, "-c", file}};
    await_started(first);
    const auto r = fieldgate({"-c", file});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("cannot listen on " + Ports::at(ports.mqtt) + ": Address already in use"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(first.stop(), (ExitStatus{true, 0, 0})) << first.err();
}

// ---------------------------------------------------------------------------

TEST(Signals, SigtermExitsZero) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);
    const auto sent = std::chrono::steady_clock::now();
    ASSERT_TRUE(p.send_signal(SIGTERM));
    const auto status = p.wait(log_timeout);
    const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - sent);
    ASSERT_TRUE(status.has_value()) << "still running after SIGTERM";
    EXPECT_EQ(*status, (ExitStatus{true, 0, 0})) << to_string(*status);
    EXPECT_NE(p.err().find("[main] signal 15 received, stopping\n"), std::string::npos) << p.err();
    EXPECT_NE(p.err().find("[main] stopped\n"), std::string::npos) << p.err();
    // Clients get ~300 ms to receive their DISCONNECT before the workers stop (a timer never fires early).
    EXPECT_GE(took, Millis{250}) << p.err();
}

TEST(Signals, SigintExitsZero) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    await_started(p);
    ASSERT_TRUE(p.send_signal(SIGINT));
    const auto status = p.wait(log_timeout);
    ASSERT_TRUE(status.has_value()) << "still running after SIGINT";
    EXPECT_EQ(*status, (ExitStatus{true, 0, 0})) << to_string(*status);
    EXPECT_NE(p.err().find("[main] signal 2 received, stopping\n"), std::string::npos) << p.err();
}

// Signals are caught from the start of run(): a SIGTERM sent as soon as the
// handlers are in place, while fieldgate may still be starting, stops it
// cleanly rather than killing it.
TEST(Signals, SigtermDuringStartUpExitsZero) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    Process p{{binary, "-c", file}};
    ASSERT_TRUE(p.wait_for_signal_handlers({SIGHUP, SIGTERM, SIGINT}, start_timeout)) << p.err();
    ASSERT_TRUE(p.send_signal(SIGTERM));
    const auto status = p.wait(start_timeout);
    ASSERT_TRUE(status.has_value()) << "still running after SIGTERM: " << p.err();
    EXPECT_EQ(*status, (ExitStatus{true, 0, 0})) << to_string(*status) << "\n" << p.err();
    EXPECT_NE(p.err().find("[main] signal 15 received, stopping\n"), std::string::npos) << p.err();
}

// ---------------------------------------------------------------------------

TEST(Logging, JournalStreamGivesPriorityPrefixesWithoutTimestamps) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    ProcessOptions options;
    options.journal_stream_is_stderr = true;
    Process p{{binary, "-c", file}, options};
    await_started(p);

    std::string changed = running_config(dir, ports);
    replace_all(changed, Ports::at(ports.mqtt), Ports::at(ports.spare));
    dir.write("fieldgate.toml", changed);
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("<4>[config] reload 1: changed listener.bind; these take effect after a restart\n",
                                  log_timeout))
        << p.err();

    dir.write("fieldgate.toml", "[gateway]\nworkers = -1\n");
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("<3>[config] reload 2 refused: " + file + " has 1 error(s)", log_timeout))
        << p.err();
    ASSERT_TRUE(p.wait_for_stderr("<3>[config] reload 2: " + file + ":2:11: error: gateway.workers: -1 is out of range",
                                  log_timeout))
        << p.err();
    ASSERT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();

    const auto lines = lines_of(p.err());
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.front(), "<6>[main] fieldgate " + fieldgate_version() + " starting with " + file);
    EXPECT_NE(std::find(lines.begin(), lines.end(), "<6>[broker] listening for MQTT on " + Ports::at(ports.mqtt)),
              lines.end())
        << p.err();
    EXPECT_NE(std::find(lines.begin(), lines.end(), "<6>[main] signal 15 received, stopping"), lines.end()) << p.err();
    const std::regex prefixed{"^<[2-7]>\\[[a-z:0-9_.-]+\\] .*"};
    for (const auto& line : lines) EXPECT_TRUE(std::regex_match(line, prefixed)) << line;
}

TEST(Logging, PlainStderrLinesHaveTimestampsAndLevels) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports));
    // A JOURNAL_STREAM that is not stderr (as when a service's stderr is redirected) does not count.
    Process p{{binary, "-c", file}, with_env("JOURNAL_STREAM", "1:1")};
    await_started(p);
    ASSERT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();

    const auto lines = lines_of(p.err());
    ASSERT_FALSE(lines.empty());
    const std::regex timestamped{"^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3} info  \\[main\\] fieldgate .*"};
    EXPECT_TRUE(std::regex_match(lines.front(), timestamped)) << lines.front();
}

TEST(Logging, LevelWarnHidesInfoLines) {
    TempDir dir;
    const Ports ports = Ports::pick();
    const auto file = dir.write("fieldgate.toml", running_config(dir, ports, "warn"));
    Process p{{binary, "-c", file}};
    // The start-up lines are info, so nothing tells that fieldgate is up: a
    // broker that answers is (and means the file has been read).
    ASSERT_TRUE(p.wait_for_signal_handlers({SIGHUP, SIGTERM}, start_timeout)) << p.err();
    ASSERT_TRUE(broker_accepts_connect(ports.mqtt, start_timeout)) << p.err();
    // The start and stop lines are info: not printed. The refused reload is an error: printed.
    dir.write("fieldgate.toml", "[gateway]\nlog_level = 3\n");
    ASSERT_TRUE(p.send_signal(SIGHUP));
    ASSERT_TRUE(p.wait_for_stderr("error [config] reload 1 refused: " + file + " has 1 error(s)", log_timeout))
        << p.err();
    ASSERT_EQ(p.stop(), (ExitStatus{true, 0, 0})) << p.err();
    EXPECT_EQ(p.err().find(" info "), std::string::npos) << p.err();
}

}  // namespace
}  // namespace fieldgate::test
