#include "tracer.h"

#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "memory.h"
#include "procfs.h"

namespace eyrie {

uint64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string errnoName(int e) {
  const char* n = strerrorname_np(e);
  return n != nullptr ? n : "E" + std::to_string(e);
}

void Tracer::run() {
  Outcome out;
  bool ok = hasher_.seed();
  if (!ok) {
    out.errorCode = errnoName(errno);
    out.message = "no random bytes for the page marks (getrandom): " + out.errorCode;
  } else {
    startedNs_ = monotonicNs();
    ok = cfg_.mode == Config::Mode::Record ? startRecord(out) : startAttach(out);
  }
  if (ok) {
    loop();
    syncAllWritten(nowNs(), true);  // attached, only files that back a loop device are here
    out = outcome_;
    if (cfg_.mode == Config::Mode::Record) readChildError(out);
  }
  out.stats = stats_.json();
  ch_.finish(out);
}

void Tracer::requestStop(StopMode m) {
  // a recorded command cannot be let go: its seccomp filter would fail every traced call with ENOSYS
  if (cfg_.mode == Config::Mode::Record) m = StopMode::Kill;
  int none = 0;
  if (!stopMode_.compare_exchange_strong(none, static_cast<int>(m))) return;
  ch_.cancelAsks();
  // The tracer may sit in waitpid with every tracee running: a signal we send to one of them makes
  // it stop, the tracer wakes, sees the request and suppresses the signal (it is recognisably ours).
  pid_t p = wakePid_.load();
  if (p > 0) kill(wakeTarget(p), SIGURG);
}

Task& Tracer::addTask(pid_t tid) {
  Task& t = tasks_[tid];
  t.tid = tid;
  t.tgid = tid;
  return t;
}

void Tracer::updateWake() {
  pid_t p = 0;
  if (tasks_.count(root_) != 0) p = root_;
  else if (!tasks_.empty()) p = tasks_.begin()->second.tgid;
  wakePid_.store(p);
}

void Tracer::loop() {
  updateWake();
  while (!tasks_.empty()) {
    if (stopMode_.load() != 0 && !detaching_ && !killing_) handleStopRequest();
    if (tasks_.empty()) break;
    if (!detaching_ && !killing_) serveSyncRequest();
    int status;
    pid_t tid;
    uint64_t ts;
    if (!parked_.empty()) {
      // a stop freeze() collected: handled now, as if waitpid had just reported it
      Parked p = parked_.front();
      parked_.pop_front();
      auto it = tasks_.find(p.tid);
      if (it != tasks_.end()) it->second.parked = false;
      tid = p.tid;
      status = p.status;
      ts = p.ts;
    } else {
      bool lettingGo = detaching_ && cfg_.mode == Config::Mode::Attach;
      tid = waitpid(-1, &status, __WALL | __WNOTHREAD | (lettingGo ? WNOHANG : 0));
      ts = nowNs();
      if (tid == 0 && letRestGo()) break;
      if (tid == 0) continue;
    }
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left that this thread traces
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) onGone(tid, status, ts);
    else if (WIFSTOPPED(status)) {
      stats_.begin(monotonicNs());
      onStop(tid, status, ts);
      stats_.done(monotonicNs());
    }
  }
}

bool Tracer::letRestGo() {
  // letting go (attach's detach): each task reports the stop that detaches it, but one in an
  // uninterruptible wait (a vfork parent until its child execs, a hung NFS call) cannot; past the
  // grace the kernel lets those go when this thread ends (attach sets no PTRACE_O_EXITKILL), and
  // the outcome says which, since what they do from then on is not journaled
  uint64_t now = monotonicNs();
  if (detachSince_ == 0) detachSince_ = now;
  if (now - detachSince_ < kDetachGraceNs) {
    usleep(1000);
    return false;
  }
  std::string pids;
  for (const auto& [tid, t] : tasks_) pids += (pids.empty() ? "" : ",") + std::to_string(tid);
  outcome_.message = std::to_string(tasks_.size()) + " task(s) in an uninterruptible wait could not stop to be let go (" + pids +
                     "): the kernel let them go untraced, and what they did from then on is not journaled";
  tasks_.clear();
  return true;
}

void Tracer::resume(Task& t, int sig) {
  bool syscalls = cfg_.mode == Config::Mode::Attach || t.wantExit || perWriteStops(t);
  // ESRCH: the task was killed meanwhile; its death comes through waitpid
  ptrace(syscalls ? PTRACE_SYSCALL : PTRACE_CONT, t.tid, 0, sig);
}

static bool isStopSignal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

void Tracer::onStop(pid_t tid, int status, uint64_t ts) {
  int sig = WSTOPSIG(status);
  int event = static_cast<unsigned>(status) >> 16;
  // what the stop counts as in --stats (a call's entry and exit stops say so where they are read)
  if (event != 0) stats_.event(event);
  else if (sig != (SIGTRAP | 0x80)) stats_.signal();
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) {
    // a new task whose parent's fork event has not been reported yet: hold it until it is
    Task& t = addTask(tid);
    t.started = true;
    t.held = true;
    return;
  }
  Task& t = it->second;
  if (!t.started) {
    t.started = true;
    if (starting_) {
      // attach: everyone stops once for the snapshot; what this stop was is delivered at resume
      if (event == PTRACE_EVENT_STOP) t.listening = isStopSignal(sig);
      else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)
        onSpawn(t, Origin{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), ts});
      else if (event == 0 && sig != (SIGTRAP | 0x80)) t.pendingSignal = sig;
      return;
    }
    if (!t.announced) {
      t.held = true;
      return;
    }
    if (detaching_) return detachStopped(t, 0);
    return resume(t, 0);
  }
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), ts};
  // what its last call resumed without an exit stop did comes before anything it does next, and
  // what another's did, where it shows, before this stop (attributes.cc)
  if (t.later) settleLater(t, true, o);
  if (later_ > 0) settleOthersLater(tid, ts);
  // its parent is exiting: once the kernel has given it another, that comes before what it does next
  if (!orphaning_.empty() && orphaning_.count(t.tgid) != 0) reparent(t.tgid, ts);
  if (detaching_) {
    // finish what is half done (a call's exit, a fork), then let go of the task
    if (event == 0 && sig == (SIGTRAP | 0x80) && t.wantExit) onSyscallStop(t, ts);
    else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) onSpawn(t, o);
    auto again = tasks_.find(tid);
    if (again == tasks_.end()) return;
    bool signalStop = event == 0 && sig != (SIGTRAP | 0x80);
    return detachStopped(again->second, signalStop ? sig : 0);
  }
  if (event == PTRACE_EVENT_STOP) {
    if (isStopSignal(sig)) {
      // a group-stop: the tracee stays stopped, as without a tracer, until SIGCONT
      t.listening = true;
      ptrace(PTRACE_LISTEN, tid, 0, 0);
      return;
    }
    t.listening = false;
    return resume(t, 0);  // an interrupt, or the end of a group-stop
  }
  if (event != 0) {
    switch (event) {
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE: onSpawn(t, o); break;
      case PTRACE_EVENT_EXEC: return onExec(t, ts);
      case PTRACE_EVENT_EXIT: onExitEvent(t, ts); break;
      case PTRACE_EVENT_SECCOMP: return onSeccomp(t, ts);
      default: break;
    }
    auto again = tasks_.find(tid);
    if (again != tasks_.end()) resume(again->second, 0);
    return;
  }
  if (sig == (SIGTRAP | 0x80)) return onSyscallStop(t, ts);
  if (sig == SIGURG) {
    siginfo_t si;
    if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 && si.si_pid == getpid() && si.si_code == SI_USER) {
      return resume(t, 0);  // our wake-up call (requestStop, requestSync), not the program's
    }
  }
  resume(t, sig);  // signals pass through to the program
}

void Tracer::orphaning(pid_t leaving) {
  for (auto& [tid, c] : tasks_)
    if (tid == c.tgid && c.ppid == leaving && c.announced) orphaning_.insert(tid);
}

void Tracer::reparent(pid_t child, uint64_t ts) {
  auto it = tasks_.find(child);
  if (it == tasks_.end()) {
    orphaning_.erase(child);
    return;
  }
  pid_t now = parentOf(child);
  if (now == 0 || now == it->second.ppid) return;  // gone (its exit is reported), or not yet
  it->second.ppid = now;
  orphaning_.erase(child);
  emit(Kind::ProcReparent, Origin{static_cast<uint32_t>(child), static_cast<uint32_t>(child), ts}, [&](Record& r) { r.num(static_cast<uint64_t>(now)); });
}

void Tracer::reparented(pid_t gone, uint64_t ts) {
  // its exit status comes after the kernel gave its children another parent (init, a subreaper)
  std::vector<pid_t> children;
  for (pid_t c : orphaning_)
    if (auto it = tasks_.find(c); it != tasks_.end() && it->second.ppid == gone) children.push_back(c);
  for (pid_t c : children) reparent(c, ts);
}

void Tracer::onGone(pid_t tid, int status, uint64_t ts) {
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) return;
  Task& t = it->second;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (t.later) settleLater(t, true, Origin{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), ts});  // killed: no stop came
  if (t.announced && !starting_ && !t.exitEmitted) {
    bool leader = t.tid == t.tgid;
    // the leader's status is the process's (reported once every thread is gone); others are threads
    emit(Kind::ProcExit, Origin{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), ts},
         [&](Record& r) { r.sint(code).flag(!leader); });
    if (leader) reparented(t.tgid, ts);
  } else if (!t.announced) {
    goneEarly_.insert(tid);
  }
  if (t.tid == t.tgid) uringUsers_.erase(tid);  // the pid may come back as another process
  if (tid == root_) {
    outcome_.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    outcome_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  if (t.mem && !t.exiting) t.mem->users--;
  leaveSerial(t);
  tasks_.erase(tid);
  updateWake();
}

void Tracer::onSpawn(Task& t, const Origin& o) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, t.tid, 0, &msg);
  pid_t child = static_cast<pid_t>(msg);
  user_regs_struct regs;
  uint64_t flags = 0;
  if (ptrace(PTRACE_GETREGS, t.tid, 0, &regs) == 0) {
    // the call is still in progress at the event stop: its arguments are in the registers
    long nr = static_cast<long>(regs.orig_rax);
    if (nr == SYS_clone) flags = regs.rdi;
    else if (nr == SYS_clone3) readU64(t.tid, regs.rdi, flags);
    else if (nr == SYS_vfork) flags = CLONE_VM | CLONE_VFORK;
  }
  bool thread = (flags & CLONE_THREAD) != 0;
  bool shareFiles = (flags & CLONE_FILES) != 0;
  bool wasHeld = tasks_.count(child) != 0;
  Task& c = wasHeld ? tasks_[child] : addTask(child);
  Task& p = tasks_[o.tid];  // addTask may have rehashed: look the parent up again
  if (!p.fds) p.fds = std::make_shared<FdTable>();
  if (!p.mem) p.mem = std::make_shared<Memory>();
  c.tgid = thread ? p.tgid : child;
  auto leader = tasks_.find(p.tgid);  // find, not []: an insert would move c and p
  c.ppid = thread ? p.ppid : (flags & CLONE_PARENT) == 0 ? p.tgid : leader != tasks_.end() ? leader->second.ppid : 0;
  c.fds = shareFiles ? p.fds : std::make_shared<FdTable>(*p.fds);
  c.mem = (flags & CLONE_VM) != 0 ? p.mem : std::make_shared<Memory>(*p.mem);
  if ((flags & CLONE_VM) == 0) c.mem->users = 0;
  c.mem->users++;
  c.announced = true;
  if (!starting_) {
    emit(Kind::ProcSpawn, o, [&](Record& r) { r.num(static_cast<uint64_t>(child)).flag(thread).flag(shareFiles); });
    // CLONE_PARENT: the child's parent is the caller's, not the caller
    if (!thread && (flags & CLONE_PARENT) != 0)
      emit(Kind::ProcReparent, Origin{static_cast<uint32_t>(child), static_cast<uint32_t>(child), o.ts},
           [&](Record& r) { r.num(static_cast<uint64_t>(c.ppid)); });
  }
  if (goneEarly_.erase(child) != 0) {
    // it died before we heard of its birth: report both
    if (!starting_)
      emit(Kind::ProcExit, Origin{static_cast<uint32_t>(c.tgid), static_cast<uint32_t>(child), o.ts},
           [&](Record& r) { r.sint(0).flag(c.tgid != child); });
    tasks_.erase(child);
    return;
  }
  if (c.held && !starting_) {
    c.held = false;
    if (detaching_) detachStopped(c, 0);
    else resume(c, 0);
  }
}

void Tracer::onExec(Task& t, uint64_t ts) {
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG, t.tid, 0, &former);
  pid_t tid = t.tid;
  if (static_cast<pid_t>(former) != tid && tasks_.count(static_cast<pid_t>(former)) != 0) {
    // a thread other than the leader called exec: it takes over the leader's tid; the old leader
    // vanishes without a report of its own
    Task moved = tasks_[static_cast<pid_t>(former)];
    tasks_.erase(static_cast<pid_t>(former));
    leaveSerial(tasks_[tid]);  // the old leader is gone: whatever it was in or waiting for ends
    if (tasks_[tid].later) settleLater(tasks_[tid], true, Origin{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), ts});  // and its last call is over
    if (tasks_[tid].mem && !tasks_[tid].exiting) tasks_[tid].mem->users--;
    moved.tid = tid;
    tasks_[tid] = moved;
  }
  Task& x = tasks_[tid];
  bool fromCall = x.call.nr == SYS_execve || x.call.nr == SYS_execveat;
  // the program the kernel runs: the file exec'd, or a script's interpreter
  std::string exe;
  {
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", tid);
    char buf[4096];
    ssize_t n = readlink(link, buf, sizeof buf);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  std::string path = fromCall && !x.call.path.empty() ? x.call.path : exe;
  std::vector<std::string> argv = fromCall ? x.call.argv : std::vector<std::string>{};
  Origin o{static_cast<uint32_t>(x.tgid), static_cast<uint32_t>(tid), ts};
  if (!starting_ && !path.empty() && path[0] == '/') {
    bool other = !exe.empty() && exe[0] == '/' && exe != path;
    emit(Kind::ProcExec, o, [&](Record& r) {
      r.str(path).num(argv.size());
      for (const auto& a : argv) r.str(a);
      r.nullableStr(other ? exe : std::string());
    });
  }
  // exec unshares the fd table and closes close-on-exec fds; the old memory is gone
  auto fds = std::make_shared<FdTable>(*x.fds);
  for (auto i = fds->fds.begin(); i != fds->fds.end();) i = i->second.cloexec ? fds->fds.erase(i) : std::next(i);
  x.fds = fds;
  if (x.mem && !x.exiting) x.mem->users--;
  x.mem = std::make_shared<Memory>();
  x.mem->users = 1;
  x.mem->viewsKnown = !starting_;  // while attaching, R(0) reads its views
  x.exiting = false;
  x.call = Call{};
  x.wantExit = false;
  if (!starting_) noteExecMappings(x, o);
  resume(x, 0);
}

void Tracer::onExitEvent(Task& t, uint64_t ts) {
  // a call cut short by the task's death has no exit stop: the next call on its file goes on
  leaveSerial(t);
  // its children get another parent as the process goes (reparent: at their next stop or its end)
  if (t.tid == t.tgid && !starting_) orphaning(t.tgid);
  if (t.exiting || !t.mem) return;
  t.exiting = true;
  if (t.tid != t.tgid && t.announced && !starting_) {
    // A thread's death reaches the tracer only after pthread_join has returned in another thread
    // (the kernel wakes the joiner as the thread releases its memory): reported then, its exit could
    // follow later calls of the joiner. This stop comes before that wake-up.
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, t.tid, 0, &msg);
    int status = static_cast<int>(msg);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    emit(Kind::ProcExit, Origin{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), ts},
         [&](Record& r) { r.sint(code).flag(true); });
    t.exitEmitted = true;
  }
  // its fds are about to close: what it wrote is read back now, and a mode or owner changed through one shows
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), ts};
  if (!starting_) syncAtCall(t, o, -1, true, -1);
  attributesLettingGo(t, o);
  // the last task of a memory is about to drop it: its shared file views still hold the bytes
  if (--t.mem->users == 0 && t.mem->sharedFileViews && !starting_) {
    syncViews(t, 0, ~0ull, o);
  }
}

void Tracer::attributesLettingGo(Task& t, const Origin& o) {
  if (starting_ || !t.fds || !lastHolder(t)) return;
  for (const auto& [fd, e] : t.fds->fds) attributesAtClose(t, fd, e, o);
}

bool Tracer::lastHolder(const Task& t) const {
  for (const auto& [tid, other] : tasks_)
    if (tid != t.tid && other.fds == t.fds && !other.exiting) return false;
  return true;
}

void Tracer::onSeccomp(Task& t, uint64_t ts) {
  __ptrace_syscall_info info;
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, sizeof info, &info);
  if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) return resume(t, 0);
  t.call = Call{};
  t.call.nr = static_cast<long>(info.seccomp.nr);
  t.stopNr = t.call.nr;
  stats_.entry(t.call.nr);
  for (int i = 0; i < 6; i++) t.call.args[i] = info.seccomp.args[i];
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), ts};
  // program order: at each of its traced calls, the files a task writes hold what it wrote before
  // (large ones at the calls that can show them: exposedFd)
  bool all = false;
  int exposed = exposedFd(t.call.nr, t.call.args, all);
  syncAtCall(t, o, exposed, all, t.call.nr);
  if (!admit(t)) return;  // another task's call on the same file comes first: this one waits at its entry
  t.wantExit = entry(t, o);
  auto again = tasks_.find(o.tid);
  if (again == tasks_.end()) return;
  if (!again->second.wantExit) leaveSerial(again->second);
  again = tasks_.find(o.tid);
  if (again != tasks_.end()) resume(again->second, 0);
}

void Tracer::onSyscallStop(Task& t, uint64_t ts) {
  __ptrace_syscall_info info;
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, sizeof info, &info);
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), ts};
  if (n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY && info.arch != AUDIT_ARCH_X86_64) {
    t.wantExit = false;  // attach: a 32-bit call (int 0x80) has other numbers; not decoded (documented)
  } else if (n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY) {
    // attach: every call stops here and the filter's rules pick the ones that matter; record: a
    // task holding a large file that existed before stops here too, for its writes (perWriteStops)
    uint64_t args[6];
    for (int i = 0; i < 6; i++) args[i] = info.entry.args[i];
    long nr = static_cast<long>(info.entry.nr);
    t.stopNr = nr;
    stats_.entry(nr);
    t.wantExit = false;
    bool wanted = false;
    if (cfg_.mode == Config::Mode::Attach) wanted = wantsCall(nr, args, true);
    else if (isWriteCall(nr)) {
      const FdEntry* e = fdOf(t, static_cast<int>(static_cast<int32_t>(args[0])));
      wanted = e != nullptr && e->observeWrites;
    } else {
      wanted = nr == SYS_io_submit;  // its writes may be to such a file (aio.cc)
    }
    if (wanted) {
      t.call = Call{};
      t.call.nr = nr;
      for (int i = 0; i < 6; i++) t.call.args[i] = args[i];
      if (!admit(t)) return;  // waits at its entry for the call before it on the same file
      t.wantExit = entry(t, o);
      auto again = tasks_.find(o.tid);
      if (again != tasks_.end() && !again->second.wantExit) leaveSerial(again->second);
    }
  } else if (n > 0 && info.op == PTRACE_SYSCALL_INFO_EXIT && t.wantExit) {
    stats_.exit(t.stopNr);
    t.wantExit = false;
    exit(t, info.exit.rval, o);
    // the exit is journaled: a call on the same file waiting for it goes on now
    auto again = tasks_.find(o.tid);
    if (again != tasks_.end()) leaveSerial(again->second);
  } else {
    if (n > 0 && info.op == PTRACE_SYSCALL_INFO_EXIT) stats_.exit(t.stopNr);  // attach: a call it did not want
    t.wantExit = false;
    if (!t.queued) leaveSerial(t);
  }
  if (detaching_) return;  // the caller detaches it
  auto again = tasks_.find(o.tid);
  if (again != tasks_.end()) resume(again->second, 0);
}

void Tracer::handleStopRequest() {
  if (static_cast<StopMode>(stopMode_.load()) == StopMode::Kill) {
    killing_ = true;
    for (auto& [tid, t] : tasks_) syscall(SYS_tgkill, t.tgid, tid, SIGKILL);
    return;
  }
  detaching_ = true;
  std::vector<pid_t> held;
  for (auto& [tid, t] : tasks_) {
    // held and queued tasks are stopped already: an interrupt would report nothing more
    if (t.held || t.queued) held.push_back(tid);
    else if (!t.parked) ptrace(PTRACE_INTERRUPT, tid, 0, 0);  // each reports a stop, and is let go there
  }
  for (pid_t tid : held) {
    auto it = tasks_.find(tid);
    if (it != tasks_.end()) detachStopped(it->second, 0);
  }
}

void Tracer::detachStopped(Task& t, int sig) {
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), nowNs()};
  if (t.mem && t.mem->sharedFileViews && !t.mem->synced) {
    t.mem->synced = true;
    syncViews(t, 0, ~0ull, o);
  }
  attributesLettingGo(t, o);  // the last eyrie sees of these descriptors
  pid_t tid = t.tid;
  leaveSerial(t);
  ptrace(PTRACE_DETACH, tid, 0, sig);
  tasks_.erase(tid);
  updateWake();
}

}  // namespace eyrie
