#pragma once

// Runs the real binary as a child process for the integration tests: a
// command run to completion with its output captured, or a long-running
// process that is signalled, watched through its stderr, and stopped.
// Every wait is bounded by a deadline; nothing here loops without one.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldgate::test {

using Millis = std::chrono::milliseconds;

struct ProcessOptions {
    // Changes to the inherited environment: a value sets the variable, nullopt
    // removes it. JOURNAL_STREAM is always removed unless set here, so a test
    // run from a systemd unit does not change how the child logs.
    std::vector<std::pair<std::string, std::optional<std::string>>> env;
    std::string cwd;         // empty: the test's working directory
    std::string stdin_text;  // written to the child's stdin, which is then closed
    // Sets JOURNAL_STREAM to "DEVICE:INODE" of the pipe that is the child's
    // stderr, as systemd does when stderr is connected to the journal.
    bool journal_stream_is_stderr = false;
};

struct ExitStatus {
    bool exited = false;  // true: ended with exit(code); false: killed by `signal`
    int code = -1;
    int signal = 0;

    bool operator==(const ExitStatus&) const = default;
};
std::string to_string(const ExitStatus& status);

struct RunResult {
    ExitStatus status;
    bool timed_out = false;  // the child was killed at the deadline
    std::string out;
    std::string err;

    // The exit code, or -1 when the child did not exit normally.
    int exit_code() const { return status.exited ? status.code : -1; }
};

// Runs argv[0] (a path, not searched in PATH) with the rest as arguments,
// captures stdout and stderr, and waits at most `timeout`; at the deadline the
// child is killed with SIGKILL.
RunResult run(const std::vector<std::string>& argv, const ProcessOptions& options = {}, Millis timeout = Millis{10000});

// A child that runs until it is told to stop. Its stdout and stderr are pipes
// read by the waiting calls. The destructor kills (SIGKILL) and reaps a child
// that is still running.
class Process {
public:
    Process(const std::vector<std::string>& argv, const ProcessOptions& options = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return !status_.has_value(); }

    // Sends `signal`; false when the child has already been reaped.
    bool send_signal(int signal);

    // Waits until the child has installed handlers for all of `signals`
    // (SigCgt in /proc/PID/status), so a signal sent next is caught rather than
    // taking its default action. False at the deadline or when the child ended.
    bool wait_for_signal_handlers(const std::vector<int>& signals, Millis timeout);

    // Waits until stderr, from byte `from` on, contains `needle`. False at the
    // deadline or when stderr closed without it.
    bool wait_for_stderr(std::string_view needle, Millis timeout, std::size_t from = 0);

    // Everything read from stderr / stdout so far. Use err().size() as `from`
    // to wait only for output that comes after this point.
    const std::string& err() const { return err_; }
    const std::string& out() const { return out_; }

    // Waits for the child to end, reading its output meanwhile; nullopt at the deadline.
    std::optional<ExitStatus> wait(Millis timeout);

    // SIGTERM, then wait up to `timeout`; SIGKILL if it is still running then.
    ExitStatus stop(Millis timeout = Millis{5000});

private:
    // Reads what is available from the pipes, waiting at most `timeout` for
    // something to arrive. Returns false when both pipes are closed.
    bool pump(Millis timeout);
    bool reap(bool block);
    void close_pipes();

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::optional<ExitStatus> status_;
};

// A fresh directory under $TMPDIR (or /tmp), removed with its contents at the end.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // Writes `text` to path()/name, creating directories on the way; returns the full path.
    std::string write(const std::string& name, std::string_view text) const;

private:
    std::string path_;
};

std::string read_file(const std::string& path);

// `count` distinct TCP ports on 127.0.0.1 that were free a moment ago (the
// kernel's choice for port 0), for configurations of processes under test.
std::vector<std::uint16_t> free_tcp_ports(std::size_t count);

// Whether a TCP listener could bind `ipv4`:`port` right now.
bool tcp_port_is_free(const std::string& ipv4, std::uint16_t port);

// Connects to `ipv4`:`port`, writes `request`, and reads until `reply_size`
// bytes arrived, the peer closed the connection, or `timeout` passed; returns
// the bytes read (possibly fewer than `reply_size`), or nullopt when the
// connection could not be made in time. The connection is closed afterwards.
std::optional<std::string> tcp_exchange(const std::string& ipv4, std::uint16_t port, std::string_view request,
                                        std::size_t reply_size, Millis timeout);

}  // namespace fieldgate::test
