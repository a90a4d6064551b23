#include "bench/loadgen/proc_stats.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace fieldgate::bench {

namespace {

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

}  // namespace

std::optional<ProcessSample> sample_process(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream stat_file(dir + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: fields are
    // counted from the last ')'. utime and stime are fields 14 and 15 [proc(5)].
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    ProcessSample sample;
    sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));

    std::ifstream status(dir + "/status");
    std::string line;
    bool found = false;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            sample.rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
            found = true;
            break;
        }
    }
    if (!found) return std::nullopt;

    std::ifstream io(dir + "/io");
    while (std::getline(io, line)) {
        if (line.rfind("write_bytes:", 0) == 0) {
            sample.write_bytes = static_cast<std::int64_t>(std::strtoull(line.c_str() + 12, nullptr, 10));
            break;
        }
    }
    return sample;
}

std::optional<CoreSample> sample_cores(pid_t pid) {
    cpu_set_t mine;
    cpu_set_t theirs;
    CPU_ZERO(&mine);
    CPU_ZERO(&theirs);
    if (sched_getaffinity(0, sizeof mine, &mine) != 0) return std::nullopt;
    if (pid <= 0 || sched_getaffinity(pid, sizeof theirs, &theirs) != 0) CPU_ZERO(&theirs);
    std::ifstream stat("/proc/stat");
    std::string line;
    CoreSample sample;
    const auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    while (std::getline(stat, line)) {
        // "cpuN user nice system idle iowait irq softirq steal ..." [proc(5)]
        if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
        std::istringstream fields(line.substr(3));
        std::size_t cpu = 0;
        unsigned long long v[8] = {};
        fields >> cpu;
        for (auto& x : v) fields >> x;
        if (cpu >= CPU_SETSIZE) continue;
        if (!CPU_ISSET(cpu, &mine) && !CPU_ISSET(cpu, &theirs)) continue;
        sample.busy_seconds += static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
        sample.steal_seconds += static_cast<double>(v[7]) / hz;
    }
    return sample;
}

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

WindowSample sample_window(pid_t broker_pid) {
    WindowSample s;
    if (broker_pid > 0) s.broker = sample_process(broker_pid);
    s.own_cpu_seconds = own_cpu_seconds();
    s.cores = sample_cores(broker_pid);
    return s;
}

WindowUsage usage_between(const WindowSample& begin, const WindowSample& end) {
    WindowUsage u;
    u.own_cpu_seconds = end.own_cpu_seconds - begin.own_cpu_seconds;
    if (begin.broker && end.broker) {
        u.broker_cpu_seconds = end.broker->cpu_seconds - begin.broker->cpu_seconds;
        u.broker_rss_kib = end.broker->rss_kib;
        if (begin.broker->write_bytes >= 0 && end.broker->write_bytes >= 0) {
            u.broker_write_bytes = end.broker->write_bytes - begin.broker->write_bytes;
        }
    }
    if (begin.cores && end.cores) {
        const double others = end.cores->busy_seconds - begin.cores->busy_seconds - u.own_cpu_seconds -
                              std::max(u.broker_cpu_seconds, 0.0);
        u.others_cpu_seconds = std::max(others, 0.0);
        u.steal_seconds = end.cores->steal_seconds - begin.cores->steal_seconds;
    }
    return u;
}

std::uint64_t raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

}  // namespace fieldgate::bench
