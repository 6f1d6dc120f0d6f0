// Attaching to a running process tree: seize every thread of every process, stop them all, take
// the snapshot while nothing moves, then let them run with a stop at every system call (a seccomp
// filter cannot be added to a running process from outside, so attach is slower than record).
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "tracer.h"

namespace eyrie {

namespace {

pid_t tracerOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.compare(0, 10, "TracerPid:") == 0) return static_cast<pid_t>(strtol(line.c_str() + 10, nullptr, 10));
  return 0;
}

}  // namespace

bool Tracer::startAttach(Outcome& out) {
  pid_t pid = cfg_.pid;
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    out.errorCode = "ESRCH";
    out.message = "no process " + std::to_string(pid);
    return false;
  }
  if (pid_t by = tracerOf(pid); by != 0) {
    out.errorCode = "EPERM";
    out.message = "process " + std::to_string(pid) + " is already traced by process " + std::to_string(by);
    return false;
  }
  if (parentOf(pid) == getpid()) {
    // its real parent's thread group would be its tracer's: the kernel then lets node's own waitpid
    // for the child take the ptrace stops meant for this thread (wait_consider_task)
    out.errorCode = "EINVAL";
    out.message = "cannot attach to process " + std::to_string(pid) + ": it is a child of this process (trace it with traceCommand)";
    return false;
  }
  root_ = pid;
  starting_ = true;
  if (!seizeTree(out)) {
    // let go of whatever was seized before the failure
    for (auto& [tid, t] : tasks_) ptrace(PTRACE_DETACH, tid, 0, 0);
    tasks_.clear();
    return false;
  }
  if (!parkUntilStopped()) {
    // stopped (^C) while a task could not stop yet (one in uninterruptible sleep): nothing was
    // journaled and no call is half done, so there is nothing to wait for. The tasks stopped so far
    // are let go here (with a signal that stopped them); the others, still running, are let go by
    // the kernel when this thread ends (exit_ptrace clears our pending interrupt; attach sets no
    // PTRACE_O_EXITKILL)
    starting_ = false;
    detaching_ = true;
    std::vector<pid_t> stopped;
    for (auto& [tid, t] : tasks_)
      if (t.started) stopped.push_back(tid);
    for (pid_t tid : stopped) {
      Task& t = tasks_.at(tid);
      detachStopped(t, t.pendingSignal);
    }
    tasks_.clear();
    return true;
  }
  // R(0): every task is stopped now
  auto* snap = new Message(Message::Type::Snapshot);
  std::set<pid_t> groups;
  for (auto& [tid, t] : tasks_)
    if (t.announced) groups.insert(t.tgid);  // a child whose fork is not reported yet comes as proc.spawn
  snap->snapshot.pids.assign(groups.begin(), groups.end());
  ch_.ask(snap, 0);
  starting_ = false;
  for (auto& [tid, t] : tasks_) {
    if (!t.announced || t.tid != t.tgid) continue;
    noteHeld(t, false);
    noteFoundMappings(t);  // views made before eyrie came: where they are, and the shared ones
    findRings(tid, Origin{static_cast<uint32_t>(tid), static_cast<uint32_t>(tid), nowNs()});  // and rings
  }
  for (auto& [tid, t] : tasks_) {
    if (t.held && !t.announced) continue;  // resumed when its parent's fork event is seen
    t.held = false;
    if (t.listening) ptrace(PTRACE_LISTEN, tid, 0, 0);
    else ptrace(PTRACE_SYSCALL, tid, 0, t.pendingSignal);
    t.pendingSignal = 0;
  }
  return true;
}

bool Tracer::seizeTree(Outcome& out) {
  long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
              PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;
  // processes keep forking while we walk: walk again until a walk finds nothing new
  for (bool added = true; added;) {
    added = false;
    for (pid_t proc : processTree(root_)) {
      std::shared_ptr<FdTable> fds;
      std::shared_ptr<Memory> mem;
      for (auto& [tid, t] : tasks_)
        if (t.tgid == proc) {
          fds = t.fds;
          mem = t.mem;
          break;
        }
      for (pid_t tid : listDir("/proc/" + std::to_string(proc) + "/task")) {
        if (tasks_.count(tid) != 0) continue;
        if (ptrace(PTRACE_SEIZE, tid, 0, opts) != 0) {
          int e = errno;
          if (tid != root_) continue;  // a thread or child that exited meanwhile, or one we already trace
          pid_t by = tracerOf(tid);
          out.errorCode = errnoName(e);
          if (e == ESRCH) out.message = "no process " + std::to_string(tid);
          else if (by != 0) out.message = "process " + std::to_string(tid) + " is already traced by process " + std::to_string(by);
          else out.message = "not permitted to trace process " + std::to_string(tid) + ": " + strerror(e);
          return false;
        }
        ptrace(PTRACE_INTERRUPT, tid, 0, 0);
        Task& t = addTask(tid);
        t.tgid = proc;
        t.ppid = parentOf(proc);
        t.announced = true;
        if (!fds) {
          fds = std::make_shared<FdTable>();
          mem = std::make_shared<Memory>();
        }
        t.fds = fds;
        t.mem = mem;
        mem->users++;
        added = true;
      }
    }
  }
  return true;
}

// A task inside vfork() cannot stop until its child execs or exits, and that child, seized with it,
// is stopped: waiting for both hung the attach for good (a shell loop vforks each command). Such a
// child is let go again; its next stop (its exec's, most likely) counts as its first.
void Tracer::releaseVforkChildren() {
  for (auto& [tid, t] : tasks_) {
    if (!t.started) continue;
    auto parent = tasks_.find(parentOf(tid));
    if (parent == tasks_.end() || parent->second.started || taskStat(parent->first).state != 'D') continue;
    t.started = false;
    t.listening = false;
    ptrace(PTRACE_CONT, tid, 0, t.pendingSignal);
    t.pendingSignal = 0;
  }
}

bool Tracer::parkUntilStopped() {
  auto allStopped = [this] {
    for (auto& [tid, t] : tasks_)
      if (!t.started) return false;
    return true;
  };
  int idle = 0;  // polls with nothing to report
  while (!tasks_.empty() && !allStopped()) {
    if (stopMode_.load() != 0) return false;
    int status;
    pid_t tid = waitpid(-1, &status, __WALL | __WNOTHREAD | WNOHANG);
    if (tid == 0) {
      // some task has not stopped for 20 ms: one waiting in vfork for a child we hold?
      if (++idle % 20 == 0) releaseVforkChildren();
      usleep(1000);
      continue;
    }
    idle = 0;
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      onGone(tid, status, 0);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    auto it = tasks_.find(tid);
    if (it != tasks_.end() && it->second.started) continue;  // parked already: cannot report again
    onStop(tid, status, nowNs());
  }
  return true;
}

}  // namespace eyrie
