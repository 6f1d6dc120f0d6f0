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
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

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

using Reaper = Napi::TypedThreadSafeFunction<std::nullptr_t, Ended, deliver>;

Napi::Value fail(Napi::Env env, const char* what, int err) {
  auto e = Napi::Error::New(env, std::string(what) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  const char* name = strerrorname_np(err);
  if (name != nullptr) e.Set("code", Napi::String::New(env, name));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

// spawnDaemon(argv, stderrPath, onExit): pid. The child runs in a session of its own (a ^C at the
// terminal is not for it), stdin and stdout on /dev/null, stderr into stderrPath (created, 0600),
// every other descriptor closed, signals at their defaults and unblocked.
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

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int err = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return fail(env, argv[0], err);

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
