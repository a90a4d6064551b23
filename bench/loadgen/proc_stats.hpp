#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace fieldgate::bench {

// What the kernel says about the broker process, read from /proc.
struct ProcessSample {
    double cpu_seconds = 0;     // utime + stime of all its threads (/proc/PID/stat)
    std::uint64_t rss_kib = 0;  // VmRSS (/proc/PID/status)
    // write_bytes of /proc/PID/io: what the process caused to be written to
    // storage (page cache pages it dirtied), all threads; -1 when unreadable
    // (another user's process without CAP_SYS_PTRACE).
    std::int64_t write_bytes = -1;
};

// Empty when the process is gone or /proc cannot be read.
std::optional<ProcessSample> sample_process(pid_t pid);

// Busy time (everything but idle and iowait) and steal time, in seconds,
// summed over the CPUs that this process or `pid` may run on (/proc/stat).
// Busy time minus what the broker and the generator used is what other
// processes took from their cores during a run: the noise indicator.
struct CoreSample {
    double busy_seconds = 0;
    double steal_seconds = 0;
};
std::optional<CoreSample> sample_cores(pid_t pid);

// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds();

// What the broker, this process and everything else used of their cores
// between two samples: the edges of a measured window.
struct WindowSample {
    std::optional<ProcessSample> broker;
    std::optional<CoreSample> cores;
    double own_cpu_seconds = 0;
};
WindowSample sample_window(pid_t broker_pid);  // broker_pid 0: the broker is not sampled

struct WindowUsage {
    double broker_cpu_seconds = -1;  // -1 when the broker was not sampled
    std::uint64_t broker_rss_kib = 0;
    std::int64_t broker_write_bytes = -1;  // -1 when /proc/PID/io was not readable
    double own_cpu_seconds = 0;
    double others_cpu_seconds = -1;  // other processes on the cores; -1 when unknown
    double steal_seconds = -1;
};
// Clock-tick granularity on every side: a few percent either way.
WindowUsage usage_between(const WindowSample& begin, const WindowSample& end);

// Raises this process's RLIMIT_NOFILE soft limit to the hard limit; returns
// the soft limit in force afterwards.
std::uint64_t raise_open_file_limit();

}  // namespace fieldgate::bench
