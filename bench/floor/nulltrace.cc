// The floor of an interceptor built like eyrie's: the same seccomp filter as `eyrie record`
// (src/native/filter.cc, buildFilter), every stop it makes resumed at once, nothing read, nothing
// journaled. The suite runs it as the setup "ptrace floor": what a workload costs under it is what
// the stops themselves cost on this machine (the kernel stopping the tracee, waking the tracer and
// back), and eyrie's ratio above it is eyrie's own work.
//   nulltrace [--exits] -- CMD [ARGS...]
// --exits: every traced call stops at its exit too (PTRACE_SYSCALL from its seccomp stop), as most
// of eyrie's do (opens, chmods, mmaps; not closes, nor a mkdir of a directory that exists).
// Prints "nulltrace: N stops" on stderr; its exit status is CMD's (128 + signal if killed). A tool
// for the benchmarks: signals pass through, but a job-control stop (SIGSTOP to a task) is not kept.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "filter.h"

int main(int argc, char** argv) {
  bool exits = false;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; i++) {
    if (std::strcmp(argv[i], "--exits") == 0) exits = true;
    else return std::fprintf(stderr, "nulltrace: unknown option %s\nusage: nulltrace [--exits] -- CMD [ARGS...]\n", argv[i]), 2;
  }
  if (i + 1 >= argc) return std::fprintf(stderr, "usage: nulltrace [--exits] -- CMD [ARGS...]\n"), 2;
  char** cmd = argv + i + 1;
  std::vector<sock_filter> prog = eyrie::buildFilter(false);
  pid_t child = fork();
  if (child < 0) return std::perror("nulltrace: fork"), 1;
  if (child == 0) {
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0 || raise(SIGSTOP) != 0) _exit(127);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
      std::fprintf(stderr, "nulltrace: seccomp: %s\n", std::strerror(errno));
      _exit(127);
    }
    execvp(cmd[0], cmd);
    std::fprintf(stderr, "nulltrace: %s: %s\n", cmd[0], std::strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) return std::fprintf(stderr, "nulltrace: the child did not stop\n"), 1;
  long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
              PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, child, 0, opts) != 0) return std::perror("nulltrace: PTRACE_SETOPTIONS"), 1;
  ptrace(PTRACE_CONT, child, 0, 0);
  std::unordered_set<pid_t> known{child};
  unsigned long long stops = 0;
  int result = 1;
  for (;;) {
    pid_t pid = waitpid(-1, &status, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: every task is gone
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (pid == child) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      known.erase(pid);
      continue;
    }
    int sig = WSTOPSIG(status);
    int event = static_cast<unsigned>(status) >> 16;
    if (known.insert(pid).second && sig == SIGSTOP) {
      ptrace(PTRACE_CONT, pid, 0, 0);  // a new task's first stop (auto-attached): not the program's signal
      continue;
    }
    if (event == PTRACE_EVENT_SECCOMP) {
      stops++;
      ptrace(exits ? PTRACE_SYSCALL : PTRACE_CONT, pid, 0, 0);
    } else if (event != 0) {
      stops++;  // fork, clone, exec: eyrie stops there too
      ptrace(PTRACE_CONT, pid, 0, 0);
    } else if (sig == (SIGTRAP | 0x80)) {
      stops++;  // the exit of a call resumed with --exits
      ptrace(PTRACE_CONT, pid, 0, 0);
    } else {
      ptrace(PTRACE_CONT, pid, 0, sig);  // signals pass through
    }
  }
  std::fprintf(stderr, "nulltrace: %llu stops\n", stops);
  return result;
}
