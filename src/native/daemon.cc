// A helper process of eyrie's own (the private clamd), started and reaped outside libuv. Once Node
// has a child, libuv handles SIGCHLD, and every traced process that exits raises one: each woke the
// JavaScript thread to waitpid() its children while the tracees waited for the CPU (~200 µs more
// per exec under --scan). A child started here leaves SIGCHLD at its default (discarded); a thread
// of its own waits for the end (WNOWAIT), and the JavaScript thread reaps it, so a signal sent from
// JavaScript before that moment never reaches a reused pid. The tracer's waits (__WNOTHREAD) see
// only its own children, never this one.
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "childexec.h"
#include "tracer.h"

extern char** environ;

namespace eyrie {

namespace {

struct Ended {
  pid_t pid;
};

/** The exit on the JavaScript thread: reaps the zombie, then onExit(code, signal). */
void deliver(Napi::Env env, Napi::Function onExit, std::nullptr_t*, Ended* e) {
  int status = 0;
  pid_t r;
  do r = waitpid(e->pid, &status, 0);
  while (r < 0 && errno == EINTR);
  delete e;
  if (env == nullptr || onExit.IsEmpty()) return;
  Napi::Value code = env.Null(), signal = env.Null();
  if (r > 0 && WIFEXITED(status)) code = Napi::Number::New(env, WEXITSTATUS(status));
  if (r > 0 && WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    signal = Napi::String::New(env, abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(WTERMSIG(status)));
  }
  // the raw call: at teardown JavaScript can no longer run, and node-addon-api's Call would then
  // abort the process (the exit no longer matters); a callback's own exception stays pending and
  // Node reports it as uncaught
  napi_value args[2] = {code, signal};
  napi_call_function(env, env.Undefined(), onExit, 2, args, nullptr);
}

[[noreturn]] void child(char* const* argv, char* const* envp, const char* stderrPath, pid_t parent, int report) {
  // a session of its own: a ^C at the terminal is for the recorded command, not for the scanner
  setsid();
  // eyrie killed outright (SIGKILL: no exit handler runs) must not leave its clamd behind; the
  // signal comes when the forking thread ends, and this one is node's main thread
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);  // it ended before the line above
  int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
  int err = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (in < 0 || out < 0 || err < 0) {
    int e = errno;
    ssize_t ignored = write(report, &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);  // the report pipe is close-on-exec already
  defaultSignals();
  execve(argv[0], argv, envp);
  int e = errno;
  ssize_t ignored = write(report, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

using Reaper = Napi::TypedThreadSafeFunction<std::nullptr_t, Ended, deliver>;

Napi::Value fail(Napi::Env env, const char* what, int err) {
  auto e = Napi::Error::New(env, std::string(what) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, errnoName(err)));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

// spawnDaemon(argv, stderrPath, onExit): pid. The child runs in a session of its own, stdin and
// stdout on /dev/null, stderr into stderrPath (created, 0600), every other descriptor closed,
// signals at their defaults and unblocked, and SIGTERM coming when eyrie dies. fork, not
// posix_spawn: only the child can ask for that signal (PR_SET_PDEATHSIG), once, at start.
Napi::Value SpawnDaemon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsString() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "spawnDaemon(argv, stderrPath, onExit): expected an array, a string and a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto a = info[0].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) {
      Napi::TypeError::New(env, "spawnDaemon: argv holds a non-string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  if (args.empty()) {
    Napi::TypeError::New(env, "spawnDaemon: empty argv").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string stderrPath = info[1].As<Napi::String>().Utf8Value();

  // prepared before fork: after it the child makes async-signal-safe calls only
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; e++) envp.push_back(*e);
  envp.push_back(nullptr);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return fail(env, "spawnDaemon: pipe", errno);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(report[0]);
    close(report[1]);
    return fail(env, "spawnDaemon: fork", err);
  }
  if (pid == 0) child(argv.data(), envp.data(), stderrPath.c_str(), parent, report[1]);
  close(report[1]);
  // the child writes its errno when it cannot exec; end of file means the exec happened
  int err = 0;
  ssize_t n;
  do n = read(report[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == sizeof err) {
    waitpid(pid, nullptr, 0);
    return fail(env, argv[0], err);
  }

  // ref'd, as a child_process child is: the process waits for its end (its owner stops it)
  Reaper reaper = Reaper::New(env, info[2].As<Napi::Function>(), "eyrie daemon reaper", 0, 1);
  std::thread([pid, reaper]() mutable {
    siginfo_t si{};
    while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    reaper.BlockingCall(new Ended{pid});
    reaper.Release();
  }).detach();
  return Napi::Number::New(env, pid);
}

}  // namespace eyrie
