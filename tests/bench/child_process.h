#pragma once
// Runs a program as a child of the benchmark and measures it: wall time, CPU time and peak
// resident set size of that child alone (wait4's rusage; the child is exec'd directly, not
// through a shell, so the figures are the program's own). Used by the A/B modes of state_bench
// and kafka_bench, which time two driftwatch binaries on the same input.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace driftwatch::bench {

struct ChildRun {
  int exit_code = -1;       // the child's exit status, or -1 if it did not exit normally
  double wall_seconds = 0;  // from fork to the end of wait4
  double cpu_seconds = 0;   // user + system, all of the child's threads
  long max_rss_kb = 0;      // peak resident set size (ru_maxrss)
};

// Runs argv[0] (a path) with argv, stdout to `out_path` and stderr to `err_path` (files,
// truncated; "/dev/null" is fine).
inline ChildRun RunChild(const std::vector<std::string>& argv, const std::string& out_path,
                         const std::string& err_path) {
  ChildRun run;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return run;
  }
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
      _exit(126);
    }
    close(out);
    close(err);
    execv(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::perror("wait4");
      return run;
    }
  }
  run.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  run.max_rss_kb = usage.ru_maxrss;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace driftwatch::bench
