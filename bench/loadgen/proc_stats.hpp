#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace fieldgate::bench {

// What the kernel says about the broker process, read from /proc.
struct ProcessSample {
    double cpu_seconds = 0;     // utime + stime of all its threads (/proc/PID/stat)
    std::uint64_t rss_kib = 0;  // VmRSS (/proc/PID/status)
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

// Raises this process's RLIMIT_NOFILE soft limit to the hard limit; returns
// the soft limit in force afterwards.
std::uint64_t raise_open_file_limit();

}  // namespace fieldgate::bench
