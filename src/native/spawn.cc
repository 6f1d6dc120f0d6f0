// Starting a recorded command: fork, let the child set itself up, seize it while it waits at a gate,
// snapshot it, open the gate; the child installs the seccomp filter and execs the command.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childexec.h"
#include "filter.h"
#include "tracer.h"

namespace eyrie {

namespace {

enum Stage : int { Chdir = 1, Seccomp = 2, Exec = 3 };

struct ChildFailure {
  int stage;
  int err;
};

/** Everything the child needs, prepared before fork: after it only async-signal-safe calls run. */
struct Plan {
  std::vector<char*> argv, envp;
  std::string program;  // "" when no candidate exists: the child reports ENOENT
  const char* cwd;
  int stdio[3];
  int gate;     // read end: one byte means "you are traced, go on"
  int gateOut;  // the write end, closed in the child
  int ready;    // write end: one byte once stdio and cwd are in place, just before the gate
  int readyIn;
  int report;   // write end: a ChildFailure when the child cannot get to the program
  int reportIn;
  sock_fprog filter;
};

[[noreturn]] void fail(const Plan& p, Stage stage, int err) {
  ChildFailure f{stage, err};
  ssize_t ignored = write(p.report, &f, sizeof f);
  (void)ignored;
  _exit(stage == Exec && err == ENOENT ? 127 : 126);
}

[[noreturn]] void child(const Plan& p) {
  close(p.gateOut);
  close(p.reportIn);
  close(p.readyIn);
  // stdio first, through fds above 2 so that one target cannot clobber another's source
  int moved[3];
  for (int i = 0; i < 3; i++) moved[i] = p.stdio[i] >= 0 ? fcntl(p.stdio[i], F_DUPFD_CLOEXEC, 3) : -1;
  for (int i = 0; i < 3; i++)
    if (moved[i] >= 0) dup2(moved[i], i);
  // the command's stdio must survive its exec even where ours is close-on-exec (as node's spawn does)
  for (int i = 0; i < 3; i++) fcntl(i, F_SETFD, 0);
  if (chdir(p.cwd) != 0) fail(p, Chdir, errno);
  defaultSignals();
  // node's own fds must not leak into the command (the report pipe is close-on-exec already)
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  char go = 'r';
  ssize_t said = write(p.ready, &go, 1);
  (void)said;  // a tracer that is gone reads nothing; the gate then says so
  close(p.ready);
  if (read(p.gate, &go, 1) != 1) _exit(127);  // the tracer gave up before seizing
  close(p.gate);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(p, Seccomp, errno);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p.filter) != 0) fail(p, Seccomp, errno);
  if (p.program.empty()) fail(p, Exec, ENOENT);
  execve(p.program.c_str(), p.argv.data(), p.envp.data());
  fail(p, Exec, errno);
}

/** execvp's search, done before fork: the first executable candidate, else the first that exists
 *  (exec then fails with EACCES, as a shell reports it), else none. */
std::string findProgram(const std::string& name, const std::vector<std::string>& env, const std::string& cwd) {
  auto inCwd = [&](const std::string& p) { return p[0] == '/' ? p : cwd + "/" + p; };
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : env)
    if (kv.compare(0, 5, "PATH=") == 0) path = kv.substr(5);
  std::string existing;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (stat(inCwd(cand).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(inCwd(cand).c_str(), X_OK) == 0) return cand;
      if (existing.empty()) existing = cand;
    }
    i = j + 1;
  }
  return existing;
}

}  // namespace

bool Tracer::startRecord(Outcome& out) {
  Plan p{};
  for (auto& a : cfg_.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (auto& e : cfg_.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);
  p.program = findProgram(cfg_.argv[0], cfg_.env, cfg_.cwd);
  p.cwd = cfg_.cwd.c_str();
  for (int i = 0; i < 3; i++) p.stdio[i] = cfg_.stdio[i];
  std::vector<sock_filter> prog = buildFilter(cfg_.writeStops);
  p.filter = sock_fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  int gate[2] = {-1, -1}, report[2] = {-1, -1}, ready[2] = {-1, -1};
  // on a failure before the child runs, none of the pipes is anyone's: all go (a library user who
  // retries after EMFILE must not lose a descriptor per try)
  auto failBeforeChild = [&](const char* what) {
    int e = errno;
    for (int fd : {gate[0], gate[1], report[0], report[1], ready[0], ready[1]})
      if (fd >= 0) close(fd);
    out.errorCode = errnoName(e);
    out.message = std::string(what) + strerror(e);
    return false;
  };
  if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0)
    return failBeforeChild("cannot create a pipe: ");
  p.gate = gate[0];
  p.gateOut = gate[1];
  p.report = report[1];
  p.reportIn = report[0];
  p.ready = ready[1];
  p.readyIn = ready[0];
  pid_t pid = fork();
  if (pid < 0) return failBeforeChild("cannot fork: ");
  if (pid == 0) child(p);
  close(gate[0]);
  close(report[1]);
  close(ready[1]);
  // R(0) and the fds the command inherits are read from /proc: not before the child has put its
  // stdio and cwd in place (a snapshot and adoption taken while it still held node's fds missed a
  // `> file` stdout now and then). EOF: it failed first, and says why through the report pipe.
  char r;
  ssize_t n;
  do n = read(ready[0], &r, 1);
  while (n < 0 && errno == EINTR);
  close(ready[0]);
  errPipe_ = report[0];
  long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
              PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SEIZE, pid, 0, opts) != 0) {
    int e = errno;
    close(gate[1]);  // the child reads EOF and leaves
    waitpid(pid, nullptr, __WALL);
    // a child that failed before it could be seized (a missing cwd) has already died and says why
    readChildError(out);
    if (out.message.empty()) {
      out.errorCode = errnoName(e);
      out.message = std::string("cannot trace the command (PTRACE_SEIZE): ") + strerror(e);
    }
    return false;
  }
  root_ = pid;
  Task& t = addTask(pid);
  t.started = t.announced = true;
  t.ppid = getpid();
  t.fds = std::make_shared<FdTable>();
  t.mem = std::make_shared<Memory>();
  t.mem->users = 1;
  // R(0): the starting process while it waits at the gate (its cwd and stdio are in place)
  auto* snap = new Message(Message::Type::Snapshot);
  snap->snapshot.pids = {pid};
  snap->snapshot.record = true;
  ch_.ask(snap, 0);
  noteHeld(t, true);
  if (!cfg_.writeStops) adoptInherited(t);
  char go = 'g';
  ssize_t w = write(gate[1], &go, 1);
  (void)w;  // a child that already died reports through the report pipe and its exit
  close(gate[1]);
  return true;
}

void Tracer::readChildError(Outcome& out) {
  if (errPipe_ < 0) return;
  ChildFailure f{};
  ssize_t n = read(errPipe_, &f, sizeof f);
  close(errPipe_);
  errPipe_ = -1;
  if (n != sizeof f) return;  // the pipe closed on exec: the command ran
  const std::string& name = cfg_.argv[0];
  if (f.stage == Exec) {
    // like a shell: 127 and "command not found", 126 and the reason otherwise
    out.message = f.err == ENOENT ? name + ": command not found" : name + ": " + strerror(f.err);
    out.status = f.err == ENOENT ? 127 : 126;
    out.signal = 0;
    return;
  }
  out.errorCode = errnoName(f.err);
  out.message = f.stage == Chdir ? "cannot change directory to " + cfg_.cwd + ": " + strerror(f.err)
                                 : std::string("seccomp filter unavailable: ") + strerror(f.err);
}

}  // namespace eyrie
